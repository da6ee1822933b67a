"""What the people on call look at, computed once for the JSON endpoints, /metrics, the dashboard and
`nfsync status`: per-platform queues (RabbitMQ) and task counts (PostgreSQL), workers, recent webhooks."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import asyncpg
from aio_pika.abc import AbstractRobustConnection

from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.broker import DEAD_QUEUE, queue_name
from nfsync.workers.engine.models import PLATFORMS

LIVE_WORKER_SECONDS = 120


async def broker_queue(settings: Settings, connection: AbstractRobustConnection | None, name: str) -> dict[str, Any]:
    """ready / unacked / consumers of a queue: the management API when it answers, else a passive declare (no
    unacked count there)."""
    stats = await _management_queue(settings, name)
    if stats is not None:
        return stats
    if connection is None or connection.is_closed:
        return {"ready": None, "unacked": None, "consumers": None}
    channel = await connection.channel()
    try:
        queue = await asyncio.wait_for(channel.declare_queue(name, passive=True), settings.publish_timeout)
        declared = queue.declaration_result
        return {"ready": declared.message_count, "unacked": None, "consumers": declared.consumer_count}
    except Exception:
        return {"ready": None, "unacked": None, "consumers": None}
    finally:
        await channel.close()


async def _management_queue(settings: Settings, name: str) -> dict[str, Any] | None:
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
    return {
        "ready": body.get("messages_ready"),
        "unacked": body.get("messages_unacknowledged"),
        "consumers": body.get("consumers"),
    }


async def queues(
    settings: Settings, pool: asyncpg.Pool, connection: AbstractRobustConnection | None, tenant: uuid.UUID | None
) -> dict[str, Any]:
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
        result["dead_letter"] = await broker_queue(settings, connection, DEAD_QUEUE)
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
