"""The enqueue command over AMQP: valid commands enqueue (and reply), invalid ones are dead-lettered with the
reason in their headers (and, with ``reply_to``, answered with the service's error body), and the consumer keeps
going."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aio_pika
import asyncpg

from nfsync.workers.api.amqp_commands import (
    AUTH_HEADER,
    COMMANDS_EXCHANGE,
    CREATE_KEY,
    DEAD_QUEUE,
    ERROR_HEADER,
    ERROR_TYPE,
    REPLY_TYPE,
)
from nfsync.workers.api.framework import ErrorBody
from nfsync.workers.engine.models import EnqueueResult
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


def _command(api: LiveApi) -> dict[str, str]:
    return {
        "integration_id": str(api.a.integration),
        "shop_id": str(api.a.shops[0]),
        "task_type": "inventory_sync",
        "direction": "crm_to_marketplace",
    }


async def test_an_invalid_command_with_reply_to_gets_an_error_reply_and_is_dead_lettered(live_api: LiveApi) -> None:
    """Each refused command is answered on its reply_to with the HTTP API's error body and code (same correlation
    id, AMQP type ``error``) and still dead-lettered; neither carries the token. A valid one gets its result."""
    read_only = await live_api.token(live_api.a.org, ["tasks:read"])
    good = _command(live_api)
    credential = {AUTH_HEADER: f"Bearer {live_api.a.token}"}
    cases = {  # correlation id: (body, headers, expected code, expected detail path or message part)
        "bad-json": (b"{not json", credential, "validation_failed", "not valid JSON"),
        "bad-field": (json.dumps({**good, "priority": 42}).encode(), credential, "validation_failed", "body.priority"),
        "no-token": (json.dumps(good).encode(), {}, "unauthorized", "credential"),
        "read-only": (json.dumps(good).encode(), {AUTH_HEADER: f"Bearer {read_only}"}, "forbidden", "tasks:write"),
        "other-org": (
            json.dumps({**good, "integration_id": str(live_api.b.integration), "shop_id": None}).encode(),
            credential,
            "validation_failed",
            "not found",
        ),
    }
    connection = await aio_pika.connect(live_api.settings.amqp_url)
    try:
        channel = await connection.channel()
        dead = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        await dead.purge()
        replies = await channel.declare_queue(exclusive=True)
        exchange = await channel.get_exchange(COMMANDS_EXCHANGE)
        for correlation, (body, headers, _, _) in cases.items():
            message = aio_pika.Message(body, headers=headers, reply_to=replies.name, correlation_id=correlation)
            await exchange.publish(message, routing_key=CREATE_KEY)
        await exchange.publish(
            aio_pika.Message(json.dumps(good).encode(), headers=credential, reply_to=replies.name, correlation_id="ok"),
            routing_key=CREATE_KEY,
        )
        answers = {}
        for _ in range(len(cases) + 1):
            reply = await _next(replies)
            answers[reply.correlation_id] = reply
        letters = {}
        for _ in cases:
            letter = await _next(dead)
            letters[letter.correlation_id] = letter
    finally:
        await connection.close()
    assert set(answers) == {*cases, "ok"} and set(letters) == set(cases)
    result = EnqueueResult.model_validate_json(answers["ok"].body)
    assert answers["ok"].type == REPLY_TYPE and result.created is True
    for correlation, (_, _, code, expected) in cases.items():
        answer = answers[correlation]
        assert answer.type == ERROR_TYPE and answer.content_type == "application/json"
        error = ErrorBody.model_validate_json(answer.body).error
        assert error.code == code, (correlation, error)
        described = error.message + " ".join(d.path + " " + d.reason for d in error.details)
        assert expected in described, (correlation, error)
        for token in (live_api.a.token, read_only):
            assert token not in answer.body.decode() and token not in str(letters[correlation].headers)
        assert ERROR_HEADER in (letters[correlation].headers or {})
        assert AUTH_HEADER not in (letters[correlation].headers or {})
    assert await _count(live_api) == 1


async def _next(queue: aio_pika.abc.AbstractQueue, seconds: float = 10.0) -> aio_pika.abc.AbstractIncomingMessage:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = await queue.get(fail=False)
        if message is not None:
            await message.ack()
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("no message arrived in time")
