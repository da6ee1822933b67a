"""The enqueue command over AMQP: valid commands enqueue (and reply), invalid ones are dead-lettered with the
reason in their headers, and the consumer keeps going."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aio_pika
import asyncpg

from nfsync.workers.api.amqp_commands import COMMANDS_EXCHANGE, CREATE_KEY, DEAD_QUEUE, ERROR_HEADER
from tests.api.conftest import LiveApi


async def _count(api: LiveApi) -> int:
    conn = await asyncpg.connect(api.settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM sync_tasks"))
    finally:
        await conn.close()


async def test_commands_enqueue_reply_and_dead_letter(live_api: LiveApi) -> None:
    connection = await aio_pika.connect(live_api.settings.amqp_url)
    try:
        channel = await connection.channel()
        dead = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        await dead.purge()
        replies = await channel.declare_queue(exclusive=True)
        exchange = await channel.get_exchange(COMMANDS_EXCHANGE)
        good = {
            "integration_id": str(live_api.a.integration),
            "shop_id": str(live_api.a.shops[0]),
            "task_type": "inventory_sync",
            "direction": "crm_to_marketplace",
            "idempotency_key": "amqp-1",
        }
        bad = [
            b"{not json",
            json.dumps({**good, "priority": 42}).encode(),
            json.dumps({**good, "integration_id": str(uuid.uuid4())}).encode(),
        ]
        credential = {"authorization": f"Bearer {live_api.a.token}"}
        for body in bad:
            await exchange.publish(aio_pika.Message(body, headers=credential), routing_key=CREATE_KEY)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(good).encode(), reply_to=replies.name, headers=credential, correlation_id="c-1"
            ),
            routing_key=CREATE_KEY,
        )
        reply = await _next(replies)
        assert reply.correlation_id == "c-1" and json.loads(reply.body)["created"] is True
        assert await _count(live_api) == 1, "the consumer kept going after three bad commands"
        reasons = []
        for _ in bad:
            message = await _next(dead)
            reasons.append(str((message.headers or {})[ERROR_HEADER]))
        assert any("priority" in r for r in reasons) and any("not found" in r for r in reasons)
        assert any("json" in r.lower() for r in reasons)
    finally:
        await connection.close()


async def _next(queue: aio_pika.abc.AbstractQueue, seconds: float = 10.0) -> aio_pika.abc.AbstractIncomingMessage:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = await queue.get(fail=False)
        if message is not None:
            await message.ack()
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("no message arrived in time")
