"""RabbitMQ: the connection, the topology, confirmed wake-up publishing.

Topology (declared idempotently at start): direct exchange ``nfsync.tasks``; per platform a durable quorum queue
``nfsync.tasks.<platform>`` bound by the platform name, with an explicit delivery limit and at-least-once
dead-lettering (``x-dead-letter-strategy=at-least-once`` needs ``x-overflow=reject-publish``) through exchange
``nfsync.tasks.dlx`` into the quorum queue ``nfsync.tasks.dead``.

A message is a wake-up, never the task: PostgreSQL holds the truth, so a lost, duplicated, delayed or reordered
message changes nothing but latency.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from nfsync.workers.config import Settings, mask_url
from nfsync.workers.engine.models import PLATFORMS, Wakeup
from nfsync.workers.errors import BrokerUnavailable
from nfsync.workers.logs import get_logger

log = get_logger(__name__)

TASKS_EXCHANGE = "nfsync.tasks"
DEAD_EXCHANGE = "nfsync.tasks.dlx"
DEAD_QUEUE = "nfsync.tasks.dead"
MAX_HINT_IDS = 200


def queue_name(platform: str) -> str:
    return f"{TASKS_EXCHANGE}.{platform}"


def queue_arguments(settings: Settings) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": settings.queue_delivery_limit,
        "x-dead-letter-exchange": DEAD_EXCHANGE,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def connect_broker(settings: Settings, name: str, *, retry: bool = True) -> AbstractRobustConnection:
    """A robust connection (reconnects and restores consumers); the first connect is retried while RabbitMQ is
    down, up to amqp_startup_timeout (once only with ``retry=False``), then fails with one line."""
    deadline = time.monotonic() + (settings.amqp_startup_timeout if retry else 0.0)
    delay = 0.2
    while True:
        try:
            return await aio_pika.connect_robust(
                settings.amqp_url, timeout=settings.amqp_connect_timeout, client_properties={"connection_name": name}
            )
        except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as exc:
            if time.monotonic() + delay > deadline:
                raise BrokerUnavailable(f"cannot reach RabbitMQ at {mask_url(settings.amqp_url)}: {exc}") from None
            log.warning("broker.connect_retry", error=str(exc) or type(exc).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def declare_topology(channel: AbstractChannel, settings: Settings) -> AbstractExchange:
    exchange = await channel.declare_exchange(TASKS_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    dead_exchange = await channel.declare_exchange(DEAD_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    dead = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await dead.bind(dead_exchange)
    for platform in PLATFORMS:
        queue = await channel.declare_queue(queue_name(platform), durable=True, arguments=queue_arguments(settings))
        await queue.bind(exchange, routing_key=platform)
    return exchange


@dataclass
class _Batch:
    ids: list[uuid.UUID] = field(default_factory=list)
    reasons: set[str] = field(default_factory=set)
    linger: float = 0.0
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class WakeupPublisher:
    """Publishes wake-ups with publisher confirms, mandatory routing and a timeout.

    Wake-ups for one platform are coalesced: while one publish is waiting for its confirm, every further request
    joins the next message, so a burst of enqueues costs a handful of messages, not one each. A failed publish is
    logged and reported as False; it never raises (the scheduler re-sends wake-ups for due, unclaimed tasks).
    """

    def __init__(self, settings: Settings, connection: AbstractRobustConnection) -> None:
        self._settings = settings
        self._connection = connection
        self._exchange: AbstractExchange | None = None
        self._next: dict[str, _Batch] = {}
        self._locks = {platform: asyncio.Lock() for platform in PLATFORMS}
        self._flushes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._channel = channel  # robust channels are held weakly by the connection: keep a strong reference
        self._exchange = await declare_topology(channel, self._settings)

    async def wake(
        self, platform: str, task_ids: Iterable[uuid.UUID] = (), reason: str = "enqueue", linger: float = 0.0
    ) -> bool:
        """Ask workers of ``platform`` to look for work; True once a broker confirmed the message. ``linger``: wait
        that long before publishing, so a stream of callers (webhooks) shares one message."""
        batch = self._next.get(platform)
        if batch is None:
            batch = self._next[platform] = _Batch(linger=linger)
            flush = asyncio.create_task(self._flush(platform, batch))
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        batch.ids.extend(task_ids)
        batch.reasons.add(reason)
        return await asyncio.shield(batch.done)

    async def _flush(self, platform: str, batch: _Batch) -> None:
        if batch.linger > 0:
            await asyncio.sleep(batch.linger)
        async with self._locks[platform]:
            if self._next.get(platform) is batch:
                del self._next[platform]
            ok = await self._publish(platform, batch)
            batch.done.set_result(ok)

    async def _publish(self, platform: str, batch: _Batch) -> bool:
        body = Wakeup(platform=platform, reason=",".join(sorted(batch.reasons))[:40], task_ids=batch.ids[:MAX_HINT_IDS])
        message = aio_pika.Message(
            body=body.model_dump_json().encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            if self._exchange is None:
                raise BrokerUnavailable("publisher not started")
            if self._channel.is_closed:  # closed under us (broker restart): open a fresh one
                await self.start()
            await self._exchange.publish(
                message, routing_key=platform, mandatory=True, timeout=self._settings.publish_timeout
            )
        except Exception as exc:  # a failed wake-up never fails the caller: the scheduler re-sends
            log.warning("wakeup.publish_failed", platform=platform, error=str(exc) or type(exc).__name__)
            return False
        return True

    async def close(self) -> None:
        if self._flushes:
            await asyncio.wait(self._flushes, timeout=self._settings.publish_timeout)
