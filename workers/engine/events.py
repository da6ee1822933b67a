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
import json
import sys
import typing
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aio_pika
import aiormq.abc
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from pamqp.commands import Basic
from pydantic import BaseModel, ConfigDict

from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger

log = get_logger(__name__)

EVENTS_EXCHANGE = "nfsync.events"
EVENTS_CHANNEL = "nfsync_events"  # NOTIFY channel of the outbox trigger
EventType = Literal[
    "task.completed",
    "task.failed",
    "task.cancelled",
    "sync.items_failed",
    "order.imported",
    "order.updated",
    "listing.created",
    "listing.linked",
    "shop.authorization_expiring",
    "shop.reauthorization_needed",
    "shop.deauthorized",
    "shop.stale",
    "subscription.disabled",
]
EVENT_TYPES: tuple[EventType, ...] = typing.get_args(EventType)
CONTENT_TYPE = "application/cloudevents+json"
BATCH = 2000


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


class OrderEventData(BaseModel):
    """``data`` of ``order.imported`` (the order entered the CRM) and ``order.updated`` (a newer platform version
    changed its statuses or update time; the previous statuses are given)."""

    model_config = ConfigDict(extra="forbid", title="OrderEventData")

    shop_id: uuid.UUID
    integration_id: uuid.UUID
    platform: str
    platform_order_id: str
    crm_order_id: str
    platform_status: str
    crm_status: str
    previous_platform_status: str | None
    previous_crm_status: str | None
    platform_updated_at: datetime


class ListedVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant_id: str
    platform_variant_id: str | None
    platform_sku: str | None


class ListingEventData(BaseModel):
    """``data`` of ``listing.created`` (nfsync created the listing) and ``listing.linked`` (an existing listing was
    adopted by SKU on a push, matched on a pull, or linked by hand): one platform item and the CRM variants it
    carries."""

    model_config = ConfigDict(extra="forbid", title="ListingEventData")

    shop_id: uuid.UUID
    integration_id: uuid.UUID
    platform: str
    platform_item_id: str
    product_id: str
    origin: str
    variants: list[ListedVariant]


class ShopEventData(BaseModel):
    """``data`` of the ``shop.*`` events. ``reauthorize`` is the API path that hands out a fresh authorize URL (an
    authorize URL's state is single use, short-lived and bound to the API token that asked for it, so none is put
    in an event that may wait days to be read)."""

    model_config = ConfigDict(extra="forbid", title="ShopEventData")

    shop_id: uuid.UUID
    account_id: uuid.UUID
    integration_id: uuid.UUID
    platform: str
    platform_shop_id: str
    shop_name: str
    reauthorize: str
    reason: str | None = None
    expires_at: datetime | None = None
    days_left: int | None = None
    last_success_at: datetime | None = None
    sync_interval_minutes: int | None = None


class SubscriptionDisabledData(BaseModel):
    """``data`` of ``subscription.disabled``: nfsync stopped delivering to an HTTP subscriber that kept failing (its
    undelivered events are kept: re-enable it and replay them)."""

    model_config = ConfigDict(extra="forbid", title="SubscriptionDisabledData")

    subscription_id: uuid.UUID
    url: str
    reason: str
    failed_deliveries: int
    last_success_at: datetime | None


DATA_MODELS: dict[str, type[BaseModel]] = {
    "task.completed": TaskEventData,
    "task.failed": TaskEventData,
    "task.cancelled": TaskEventData,
    "sync.items_failed": ItemsFailedData,
    "order.imported": OrderEventData,
    "order.updated": OrderEventData,
    "listing.created": ListingEventData,
    "listing.linked": ListingEventData,
    "shop.authorization_expiring": ShopEventData,
    "shop.reauthorization_needed": ShopEventData,
    "shop.deauthorized": ShopEventData,
    "shop.stale": ShopEventData,
    "subscription.disabled": SubscriptionDisabledData,
}


def event_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of one event type's message: the CloudEvents envelope with that type's ``data``
    (``docs/events/<type>.schema.json`` is this, written by ``write_schemas``)."""
    envelope = CloudEvent.model_json_schema()
    data = DATA_MODELS[event_type].model_json_schema()
    envelope["title"] = event_type
    envelope["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
    envelope["properties"]["data"] = {"$ref": "#/$defs/Data"}
    defs = envelope.setdefault("$defs", {})
    defs.update(data.pop("$defs", {}))  # nested models' refs (#/$defs/<Model>) resolve from the root
    defs["Data"] = data
    envelope["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return envelope


def write_schemas(directory: Path) -> list[Path]:
    """Write ``<type>.schema.json`` for every event type (``python -m nfsync.workers.engine.events docs/events``)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in EVENT_TYPES:
        path = directory / f"{event_type}.schema.json"
        path.write_text(json.dumps(event_schema(event_type), indent=2) + "\n")
        written.append(path)
    return written


class CloudEvent(BaseModel):
    """CloudEvents 1.0 attributes, JSON format (structured mode)."""

    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str  # /organizations/<id>: where the event happened, unique with id
    type: EventType
    # tasks/<id>, subscriptions/<id>, shops/<id>, shops/<id>/orders/<order id>, shops/<id>/listings/<item id>
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]


def cloud_event(row: asyncpg.Record) -> CloudEvent:
    return CloudEvent.model_validate_json(event_json(row))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event_json(row: asyncpg.Record) -> bytes:
    """The CloudEvent of an outbox row as JSON, what ``CloudEvent(...).model_dump_json()`` gives (a test holds the
    two, and the body ``events_pending`` builds, equal)."""
    data = row["data"]
    event = {
        "specversion": "1.0",
        "id": str(row["id"]),
        "source": f"/organizations/{row['organization_id']}",
        "type": row["type"],
        "subject": row["subject"],
        "time": _utc(row["created_at"]).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": json.loads(data) if isinstance(data, str) else data,
    }
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str).encode()


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
        """Publish what the outbox holds, batch after batch (the next batch is read while one is being sent); the
        number confirmed. A batch RabbitMQ did not wholly confirm ends the round: what follows waits, in order."""
        total = 0
        rows = await self._pending(0)
        while rows:
            following = asyncio.ensure_future(self._pending(rows[-1]["seq"]))
            confirmed = await self._publish(rows)
            if confirmed:
                await self._pool.execute(QUERIES["events_confirmed"], [row["seq"] for row in rows[:confirmed]])
                total += confirmed
            rows = await following
            if confirmed < BATCH:
                break  # a short batch was the last one, or RabbitMQ did not confirm it all
        self.published += total
        return total

    async def _pending(self, after_seq: int) -> list[asyncpg.Record]:
        return list(await self._pool.fetch(QUERIES["events_pending"], after_seq, BATCH))

    async def _publish(self, rows: list[asyncpg.Record]) -> int:
        """How many of ``rows``, from the first, RabbitMQ confirmed (all sent on one channel, in order). The
        messages go straight to the AMQP channel (aiormq), their bodies built by the query (``events_pending``): the
        aio_pika wrappers and building the JSON here cost more than half the rate."""
        try:
            await self._ready()
            assert self._channel is not None
            channel = await self._channel.get_underlay_channel()
            sends = asyncio.gather(*[self._send(channel, row) for row in rows], return_exceptions=True)
            outcomes = await asyncio.wait_for(sends, self._settings.publish_timeout)
        except Exception as exc:  # the broker is down: the rows wait
            log.warning("events.publish_failed", error=str(exc) or type(exc).__name__, pending=len(rows))
            return 0
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException) or not isinstance(outcome, Basic.Ack):
                reason = outcome if isinstance(outcome, BaseException) else f"not confirmed: {type(outcome).__name__}"
                log.warning("events.publish_failed", error=str(reason) or type(reason).__name__, pending=len(rows))
                return index
        return len(rows)

    async def _send(self, channel: aiormq.abc.AbstractChannel, row: asyncpg.Record) -> object:
        properties = Basic.Properties(
            content_type=CONTENT_TYPE,
            delivery_mode=2,  # persistent
            message_id=str(row["id"]),
            message_type=row["type"],
            timestamp=_utc(row["created_at"]),
            headers={"organization_id": str(row["organization_id"]), "shop_id": str(row["shop_id"] or "")},
        )
        return await channel.basic_publish(
            row["body"].encode(), exchange=EVENTS_EXCHANGE, routing_key=row["type"], properties=properties
        )

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()


if __name__ == "__main__":
    for written_path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")):
        print(written_path)
