"""Events out: what another system needs to act on, from a transactional outbox (issue #17).

A change worth acting on writes its event row in ``event_outbox`` in the change's own transaction (today: a task that
reaches ``completed``, ``failed`` or ``cancelled``, by a trigger on ``sync_tasks``, whoever writes it - a worker,
the lease rescue, an API cancel). The scheduler leader publishes the rows in ``seq`` order to the RabbitMQ topic
exchange ``nfsync.events`` (routing key = the event type), each as a CloudEvents 1.0 structured-mode JSON message
(``application/cloudevents+json``), persistent, with publisher confirms; a row is deleted once RabbitMQ confirmed
it. RabbitMQ down or a confirm that does not come: the rows stay and go out, in order, at a later tick.

Delivery is at least once (a confirm lost after RabbitMQ stored the message sends it again): a consumer deduplicates
by the event ``id``. One publisher at a time (the leader) keeps the order per shop and overall. The event schemas
are ``docs/events/``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from pydantic import BaseModel, ConfigDict

from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger

log = get_logger(__name__)

EVENTS_EXCHANGE = "nfsync.events"
EVENTS_CHANNEL = "nfsync_events"  # NOTIFY channel of the outbox trigger
EventType = Literal["task.completed", "task.failed", "task.cancelled", "sync.items_failed"]
EVENT_TYPES: tuple[EventType, ...] = ("task.completed", "task.failed", "task.cancelled", "sync.items_failed")
CONTENT_TYPE = "application/cloudevents+json"
BATCH = 500


class TaskEventData(BaseModel):
    """``data`` of ``task.completed``, ``task.failed`` and ``task.cancelled``: the task as it ended."""

    model_config = ConfigDict(extra="forbid", title="TaskEventData")

    task_id: uuid.UUID
    task_type: str
    direction: str
    status: Literal["completed", "failed", "cancelled"]
    integration_id: uuid.UUID
    shop_id: uuid.UUID | None
    platform: str | None
    total_items: int
    processed_items: int
    successful_items: int
    failed_items: int
    error_message: str | None
    retry_count: int
    completed_at: datetime | None


class FailedItem(BaseModel):
    """One failed item, as its ``sync_logs`` row says."""

    model_config = ConfigDict(extra="forbid")

    entity_type: str
    entity_id: str | None
    platform_entity_id: str | None
    action: str
    error_code: str | None
    error_message: str | None


class ItemsFailedData(BaseModel):
    """``data`` of ``sync.items_failed``: a task that ended with failed items, and the first ten of them (the rest are
    in the task's sync logs)."""

    model_config = ConfigDict(extra="forbid", title="ItemsFailedData")

    task_id: uuid.UUID
    task_type: str
    integration_id: uuid.UUID
    shop_id: uuid.UUID | None
    platform: str | None
    failed_items: int
    first_failures: list[FailedItem]


DATA_MODELS: dict[str, type[BaseModel]] = {
    "task.completed": TaskEventData,
    "task.failed": TaskEventData,
    "task.cancelled": TaskEventData,
    "sync.items_failed": ItemsFailedData,
}


def event_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of one event type's message: the CloudEvents envelope with that type's ``data``
    (``docs/events/<type>.schema.json`` is this, written by ``nfsync events schema``)."""
    envelope = CloudEvent.model_json_schema()
    data = DATA_MODELS[event_type].model_json_schema()
    envelope["title"] = event_type
    envelope["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
    envelope["properties"]["data"] = {"$ref": "#/$defs/Data"}
    envelope.setdefault("$defs", {})["Data"] = data
    envelope["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return envelope


class CloudEvent(BaseModel):
    """CloudEvents 1.0 attributes, JSON format (structured mode)."""

    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str  # /organizations/<id>: where the event happened, unique with id
    type: EventType
    subject: str  # tasks/<id>
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]


def cloud_event(row: asyncpg.Record) -> CloudEvent:
    created = row["created_at"]
    return CloudEvent(
        id=row["id"],
        source=f"/organizations/{row['organization_id']}",
        type=row["type"],
        subject=row["subject"],
        time=created if created.tzinfo else created.replace(tzinfo=UTC),
        data=row["data"],
    )


async def declare_events(channel: AbstractChannel) -> AbstractExchange:
    return await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)


class EventPublisher:
    """Publishes the outbox in order, with confirms; never raises into the scheduler (a failed batch waits)."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, connection: AbstractRobustConnection) -> None:
        self._settings = settings
        self._pool = pool
        self._connection = connection
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self.published = 0

    async def _ready(self) -> AbstractExchange:
        if self._channel is None or self._channel.is_closed or self._exchange is None:
            self._channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await declare_events(self._channel)
        return self._exchange

    async def publish_pending(self) -> int:
        """Publish what the outbox holds, batch after batch; the number confirmed."""
        total = 0
        while rows := await self._pool.fetch(QUERIES["events_pending"], BATCH):
            confirmed = await self._publish(rows)
            if confirmed:
                await self._pool.execute(QUERIES["events_confirmed"], [row["seq"] for row in rows[:confirmed]])
                total += confirmed
            if confirmed < len(rows):
                break
        self.published += total
        return total

    async def _publish(self, rows: list[asyncpg.Record]) -> int:
        """How many of ``rows``, from the first, RabbitMQ confirmed (all sent on one channel, in order)."""
        try:
            exchange = await self._ready()
            sends = [self._send(exchange, row) for row in rows]
            outcomes = await asyncio.gather(*sends, return_exceptions=True)
        except Exception as exc:  # the broker is down: the rows wait
            log.warning("events.publish_failed", error=str(exc) or type(exc).__name__, pending=len(rows))
            return 0
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                log.warning("events.publish_failed", error=str(outcome) or type(outcome).__name__, pending=len(rows))
                return index
        return len(rows)

    async def _send(self, exchange: AbstractExchange, row: asyncpg.Record) -> None:
        event = cloud_event(row)
        message = aio_pika.Message(
            body=event.model_dump_json().encode(),
            content_type=CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(event.id),
            type=event.type,
            timestamp=event.time,
            headers={"organization_id": str(row["organization_id"]), "shop_id": str(row["shop_id"] or "")},
        )
        await exchange.publish(message, routing_key=event.type, timeout=self._settings.publish_timeout)

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
