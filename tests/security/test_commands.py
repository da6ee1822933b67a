"""AMQP commands as an attacker sends them (issue #13): the organization comes from a verified token, never from the
body; nothing a message carries can stall the consumer; a dead-lettered copy keeps no credential."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from nfsync.workers.api.amqp_commands import COMMANDS_EXCHANGE, CREATE_KEY, DEAD_QUEUE, ERROR_HEADER
from tests.api.conftest import LiveApi
from tests.api.test_commands import _count, _next


class Broker:
    def __init__(
        self,
        channel: aio_pika.abc.AbstractChannel,
        dead: aio_pika.abc.AbstractQueue,
        replies: aio_pika.abc.AbstractQueue,
        exchange: aio_pika.abc.AbstractExchange,
    ) -> None:
        self.dead, self.replies, self.exchange = dead, replies, exchange

    async def send(self, body: dict[str, Any] | bytes, token: str | None, reply: bool = False) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {} if token is None else {"authorization": f"Bearer {token}"}
        message = aio_pika.Message(raw, headers=headers, reply_to=self.replies.name if reply else None)
        await self.exchange.publish(message, routing_key=CREATE_KEY)

    async def dead_letter(self) -> tuple[str, dict[str, Any]]:
        message = await _next(self.dead)
        headers = dict(message.headers or {})
        return str(headers[ERROR_HEADER]), headers


@pytest.fixture
async def broker(live_api: LiveApi) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect(live_api.settings.amqp_url)
    try:
        channel = await connection.channel()
        dead = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        await dead.purge()
        replies = await channel.declare_queue(exclusive=True)
        yield Broker(channel, dead, replies, await channel.get_exchange(COMMANDS_EXCHANGE))
    finally:
        await connection.close()


def _task(live_api: LiveApi, **extra: Any) -> dict[str, Any]:
    return {
        "integration_id": str(live_api.a.integration),
        "shop_id": str(live_api.a.shops[0]),
        "task_type": "inventory_sync",
        "direction": "crm_to_marketplace",
        **extra,
    }


async def test_a_command_without_a_valid_credential_does_nothing(live_api: LiveApi, broker: Broker) -> None:
    reader = await live_api.token(live_api.a.org, ["tasks:read"])
    for token in (None, "nfs_forged", reader):
        await broker.send(_task(live_api), token)
        reason, _ = await broker.dead_letter()
        assert "token" in reason or "credential" in reason, reason
    assert await _count(live_api) == 0


async def test_the_body_never_names_the_organization(live_api: LiveApi, broker: Broker) -> None:
    await broker.send(_task(live_api, organization_id=str(live_api.a.org)), live_api.b.token)
    reason, _ = await broker.dead_letter()
    assert "organization_id" in reason
    await broker.send(_task(live_api), live_api.b.token)  # A's integration with B's token
    reason, headers = await broker.dead_letter()
    assert "not found" in reason and "authorization" not in headers, "no credential kept in the dead-letter queue"
    assert await _count(live_api) == 0, "B enqueued nothing for A"


async def test_poison_commands_never_stall_the_consumer(live_api: LiveApi, broker: Broker) -> None:
    """More poison messages than the prefetch (20), then a good one: it still runs (it stalled before the fix)."""
    for _ in range(25):
        await broker.send(_task(live_api, scheduled_at="9999-12-31T23:59:59-14:00"), live_api.a.token)
    await broker.send(b"[" * 100_000, live_api.a.token)
    await broker.send(_task(live_api), live_api.a.token, reply=True)
    reply = await _next(broker.replies, seconds=20)
    assert json.loads(reply.body)["created"] is True
    reasons = [(await broker.dead_letter())[0] for _ in range(26)]
    assert sum("scheduled_at" in r for r in reasons) == 25, reasons[:3]
    assert await _count(live_api) == 1
