"""What the people on call look at, computed once for the JSON endpoints, /metrics, the dashboard and
`nfsync status`: per-platform queues (RabbitMQ) and task counts (PostgreSQL), workers, recent webhooks."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from typing import Any, Literal, TypedDict
from urllib.parse import quote, urlsplit

import aiohttp
import aiormq
import asyncpg
from aio_pika.abc import AbstractRobustConnection

from nfsync.workers.command_queues import DEAD_QUEUE as COMMANDS_DEAD_QUEUE
from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.broker import DEAD_QUEUE, queue_name
from nfsync.workers.engine.models import PLATFORMS

LIVE_WORKER_SECONDS = 120


NOTE_NO_BROKER = "unknown because there is no connection to RabbitMQ"
NOTE_NO_QUEUE = "unknown because the queue does not exist yet (nfsync declares it when a process that uses it starts)"
NOTE_BROKER_SILENT = "unknown because RabbitMQ did not answer"
NOTE_NO_MANAGEMENT = "unacked is unknown because the RabbitMQ management API did not answer"
NOTE_NO_FIGURES = "not sampled yet by the RabbitMQ management API (a queue just declared)"


class BrokerQueue(TypedDict):
    """A queue's figures; None where unknown, with ``note`` saying why (None when every figure is known).
    ``source``: ``management`` (the management API), ``amqp`` (a passive declare: no unacked count), or None."""

    ready: int | None
    unacked: int | None
    consumers: int | None
    source: Literal["management", "amqp"] | None
    note: str | None


class DeadLetterQueue(BrokerQueue):
    key: str  # stable: "tasks" or "commands"
    queue: str  # the RabbitMQ queue name
    label: str  # what it holds, for people


DEAD_LETTER_QUEUES = (
    ("tasks", DEAD_QUEUE, "task wake-ups"),  # first: `dead_letter` of /ops/queues repeats it
    ("commands", COMMANDS_DEAD_QUEUE, "AMQP commands"),
)
"""Every dead-letter queue of an installation: (key, queue name, label)."""


def _unknown(note: str) -> BrokerQueue:
    return {"ready": None, "unacked": None, "consumers": None, "source": None, "note": note}


async def broker_queue(settings: Settings, connection: AbstractRobustConnection | None, name: str) -> BrokerQueue:
    """ready / unacked / consumers of a queue: the management API when it has every figure, else a passive declare
    (ready and consumers; unacked only the management API knows), with ``note`` saying what is unknown and why."""
    stats = await _management_queue(settings, name)
    if stats is not None and stats["note"] is None:
        return stats
    declared = await _declared_queue(settings, connection, name)
    if stats is None:  # the management API did not answer, or knows no such queue
        return declared
    if declared["source"] is None:
        return stats
    unacked = stats["unacked"]  # a queue the management API has not sampled yet (just declared)
    return {**declared, "unacked": unacked, "note": NOTE_NO_FIGURES if unacked is None else None}


async def _declared_queue(settings: Settings, connection: AbstractRobustConnection | None, name: str) -> BrokerQueue:
    if connection is None or connection.is_closed:
        return _unknown(NOTE_NO_BROKER)
    channel = await connection.channel()
    try:
        queue = await asyncio.wait_for(channel.declare_queue(name, passive=True), settings.publish_timeout)
        declared = queue.declaration_result
        return {
            "ready": declared.message_count,
            "unacked": None,
            "consumers": declared.consumer_count,
            "source": "amqp",
            "note": NOTE_NO_MANAGEMENT,
        }
    except aiormq.exceptions.ChannelNotFoundEntity:
        return _unknown(NOTE_NO_QUEUE)
    except Exception:
        return _unknown(NOTE_BROKER_SILENT)
    finally:
        with contextlib.suppress(Exception):  # a refused passive declare has closed the channel already
            await channel.close()


async def _management_queue(settings: Settings, name: str) -> BrokerQueue | None:
    amqp = urlsplit(settings.amqp_url)
    vhost = quote(amqp.path.lstrip("/") or "/", safe="")
    url = f"{settings.rabbitmq_management_url.rstrip('/')}/api/queues/{vhost}/{quote(name, safe='')}"
    token = base64.b64encode(f"{amqp.username or 'guest'}:{amqp.password or 'guest'}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
            session.get(url, headers=headers) as response,
        ):
            if response.status != 200:
                return None
            body = await response.json()
    except (aiohttp.ClientError, TimeoutError):
        return None
    stats: BrokerQueue = {
        "ready": body.get("messages_ready"),
        "unacked": body.get("messages_unacknowledged"),
        "consumers": body.get("consumers"),
        "source": "management",
        "note": None,
    }
    if None in (stats["ready"], stats["unacked"], stats["consumers"]):
        stats["note"] = NOTE_NO_FIGURES
    return stats


async def dead_letter_queues(settings: Settings, connection: AbstractRobustConnection | None) -> list[DeadLetterQueue]:
    """Every dead-letter queue, labelled: the tasks' wake-ups and the AMQP commands."""
    found: list[DeadLetterQueue] = []
    for key, name, label in DEAD_LETTER_QUEUES:
        stats = await broker_queue(settings, connection, name)
        found.append({"key": key, "queue": name, "label": label, **stats})
    return found


async def queues(
    settings: Settings, pool: asyncpg.Pool, connection: AbstractRobustConnection | None, tenant: uuid.UUID | None
) -> dict[str, Any]:
    """Per platform task counts; for operators also the broker queues, throttles and the dead-letter queues
    (``dead_letters``: every one, labelled; ``dead_letter``: the tasks' one alone, as older readers expect)."""
    rows = await pool.fetch(QUERIES["ops_queue_stats"], tenant, list(PLATFORMS))
    throttles = {}
    if tenant is None:  # fleet-wide figures: operators only
        throttles = {r["platform"]: int(r["throttles"]) for r in await pool.fetch(QUERIES["ops_throttles"])}
    platforms = []
    for row in rows:
        entry = dict(row)
        if tenant is None:  # broker numbers and throttles are shared infrastructure: operators only
            entry["throttled_calls"] = throttles.get(row["platform"], 0)
            entry["broker"] = await broker_queue(settings, connection, queue_name(row["platform"]))
        platforms.append(entry)
    result: dict[str, Any] = {"platforms": platforms}
    if tenant is None:
        dead = await dead_letter_queues(settings, connection)
        result["dead_letters"] = dead
        result["dead_letter"] = {k: v for k, v in dead[0].items() if k not in ("key", "queue", "label")}
    return result


async def workers(pool: asyncpg.Pool, tenant: uuid.UUID | None) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(QUERIES["ops_workers"], tenant, LIVE_WORKER_SECONDS)]


async def throughput(pool: asyncpg.Pool, tenant: uuid.UUID | None) -> dict[str, list[dict[str, Any]]]:
    """Completions per minute and pending depth per minute, per platform, over the last hour."""
    completed = [dict(r) for r in await pool.fetch(QUERIES["ops_throughput"], tenant)]
    depth = [dict(r) for r in await pool.fetch(QUERIES["ops_depth_history"], tenant)]
    return {"minutes": completed, "depth": depth}


async def recent_webhooks(pool: asyncpg.Pool, tenant: uuid.UUID | None, limit: int = 50) -> dict[str, Any]:
    recent = [dict(r) for r in await pool.fetch(QUERIES["ops_recent_webhooks"], tenant, limit)]
    results = [dict(r) for r in await pool.fetch(QUERIES["ops_webhook_results"], tenant)]
    return {"recent": recent, "last_hour": results}
