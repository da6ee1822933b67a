"""``/v1/event-subscriptions``: HTTP subscribers of the events, per organization (issue #17).

A subscription is a URL (https on a public host: the outbound policy's SSRF guard, checked when it is written and
again at every connection), the event types it takes (``*`` for all) and a signing secret (``whsec_`` + base64,
generated unless given, shown once at creation, never again). Deliveries are signed like Standard Webhooks and
retried for a day (``workers/engine/subscribers.py``); ``POST .../replay`` sends a time range again, and
``GET .../deliveries`` shows what happened to each.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from yarl import URL

from nfsync.connectors.base.errors import NotFound, ValidationFailed
from nfsync.connectors.base.outbound import GuardedResolver, OutboundRefused, ResolvedInward, check_url
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.events import EVENT_TYPES, EventType
from nfsync.workers.engine.subscribers import new_secret, secret_field, secret_key
from nfsync.workers.errors import DependencyUnavailable
from nfsync.workers.logs import get_logger

api = Api()
log = get_logger(__name__)
WRITE_SCOPE = "integrations:write"
MAX_SUBSCRIPTIONS = 20  # per organization
RESOLVE_SECONDS = 5.0
EventTypeOrAll = EventType | Literal["*"]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    event_types: list[EventTypeOrAll] = Field(min_length=1, max_length=len(EVENT_TYPES) + 1)
    description: str | None = Field(None, max_length=255)
    secret: str | None = Field(None, max_length=200, description="whsec_ + base64 of 24-64 bytes; generated if absent")

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None:
            secret_key(value)
        return value


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, min_length=1, max_length=2000)
    event_types: list[EventTypeOrAll] | None = Field(None, min_length=1, max_length=len(EVENT_TYPES) + 1)
    description: str | None = Field(None, max_length=255)
    status: Literal["active", "disabled"] | None = None


class Subscription(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    status: str
    disabled_at: UtcDateTime | None
    disabled_reason: str | None
    last_success_at: UtcDateTime | None
    last_failure_at: UtcDateTime | None
    pending_deliveries: int
    failed_deliveries: int
    created_at: UtcDateTime


class CreatedSubscription(Subscription):
    secret: str = Field(description="The signing secret: shown this once")


class SubscriptionList(BaseModel):
    items: list[Subscription]


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime
    until: datetime | None = None
    statuses: list[Literal["delivered", "failed"]] = Field(["failed"], min_length=1, max_length=2)

    @model_validator(mode="after")
    def _range(self) -> ReplayRequest:
        if self.until is not None and _naive(self.until) <= _naive(self.since):
            raise ValueError("since must be before until")
        return self


class Replayed(BaseModel):
    replayed: int


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "delivered", "failed"] | None = None
    limit: int = Field(50, ge=1, le=500)


class Delivery(BaseModel):
    id: int
    event_id: uuid.UUID
    type: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: UtcDateTime
    last_status: int | None
    last_error: str | None
    created_at: UtcDateTime
    delivered_at: UtcDateTime | None


class DeliveryPage(BaseModel):
    items: list[Delivery]


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _pool(call: Call) -> asyncpg.Pool:
    return call.request.app[API_STATE].tenant_pool


async def _check_url(call: Call, url: str) -> None:
    """https on a public address (or a host the operator allowed): 422 naming ``url`` otherwise."""
    policy = call.request.app[API_STATE].settings.outbound_policy
    try:
        check_url(url, None, policy, what="url")
        host = URL(url).host or ""
        await asyncio.wait_for(GuardedResolver(policy).resolve(host, 443), RESOLVE_SECONDS)
    except (OutboundRefused, ResolvedInward) as exc:
        raise ValidationFailed(str(exc)) from None
    except (OSError, TimeoutError, ValueError):
        raise ValidationFailed(f"url: {URL(url).host!r} does not resolve") from None


def _keyring_of(call: Call) -> Any:
    keyring = call.request.app[API_STATE].keyring
    if keyring is None:
        raise DependencyUnavailable("NFSYNC_SECRET_KEYS is not set: a signing secret cannot be stored")
    return keyring


async def _get(call: Call, subscription_id: uuid.UUID) -> Subscription:
    row = await _pool(call).fetchrow(QUERIES["subscription_get"], subscription_id, call.tenant)
    if row is None:
        raise NotFound(f"event subscription {subscription_id} not found")
    return Subscription.model_validate(dict(row))


@api.route(
    "POST",
    "/v1/event-subscriptions",
    summary="Register an HTTP subscriber of the events (its signing secret is shown once, in this answer)",
    scope=WRITE_SCOPE,
    body=SubscriptionCreate,
    response=CreatedSubscription,
    status=201,
    tags=("events",),
)
async def create_subscription(call: Call) -> CreatedSubscription:
    body = call.body_as(SubscriptionCreate)
    await _check_url(call, body.url)
    org = call.organization_id
    if await _pool(call).fetchval(QUERIES["subscription_count"], org) >= MAX_SUBSCRIPTIONS:
        raise ValidationFailed(f"an organization has at most {MAX_SUBSCRIPTIONS} event subscriptions")
    subscription_id, secret = uuid.uuid4(), body.secret or new_secret()
    stored = _keyring_of(call).encrypt(secret, secret_field(org, subscription_id))
    types = sorted(set(body.event_types))
    await _pool(call).execute(
        QUERIES["subscription_insert"], subscription_id, org, body.url, types, stored, body.description
    )
    log.info("subscription.created", subscription_id=str(subscription_id), event_types=types)
    created = await _get(call, subscription_id)
    return CreatedSubscription(**created.model_dump(), secret=secret)


@api.route(
    "GET",
    "/v1/event-subscriptions",
    summary="The organization's event subscribers",
    scope=None,
    response=SubscriptionList,
    tags=("events",),
)
async def list_subscriptions(call: Call) -> SubscriptionList:
    rows = await _pool(call).fetch(QUERIES["subscription_list"], call.tenant)
    return SubscriptionList(items=[Subscription.model_validate(dict(r)) for r in rows])


@api.route(
    "GET",
    "/v1/event-subscriptions/{subscription_id}",
    summary="One event subscriber, with its pending and failed deliveries",
    scope=None,
    response=Subscription,
    tags=("events",),
)
async def get_subscription(call: Call) -> Subscription:
    return await _get(call, call.path_uuid("subscription_id"))


@api.route(
    "PATCH",
    "/v1/event-subscriptions/{subscription_id}",
    summary="Change a subscriber's URL, types or description, or disable or re-enable it",
    scope=WRITE_SCOPE,
    body=SubscriptionPatch,
    response=Subscription,
    tags=("events",),
)
async def update_subscription(call: Call) -> Subscription:
    subscription_id = call.path_uuid("subscription_id")
    patch = call.body_as(SubscriptionPatch)
    current = await _get(call, subscription_id)
    if patch.url is not None:
        await _check_url(call, patch.url)
    merged = current.model_dump() | patch.model_dump(exclude_unset=True, exclude_none=True)
    if "description" in patch.model_fields_set:
        merged["description"] = patch.description
    await _pool(call).execute(
        QUERIES["subscription_update"],
        subscription_id,
        call.tenant,
        merged["url"],
        sorted(set(merged["event_types"])),
        merged["description"],
        merged["status"],
    )
    log.info("subscription.updated", subscription_id=str(subscription_id), status=merged["status"])
    return await _get(call, subscription_id)


@api.route(
    "DELETE",
    "/v1/event-subscriptions/{subscription_id}",
    summary="Remove a subscriber and its deliveries",
    scope=WRITE_SCOPE,
    status=204,
    tags=("events",),
)
async def delete_subscription(call: Call) -> web.Response:
    subscription_id = call.path_uuid("subscription_id")
    if await _pool(call).fetchval(QUERIES["subscription_delete"], subscription_id, call.tenant) is None:
        raise NotFound(f"event subscription {subscription_id} not found")
    log.info("subscription.deleted", subscription_id=str(subscription_id))
    return web.Response(status=204)


@api.route(
    "POST",
    "/v1/event-subscriptions/{subscription_id}/replay",
    summary="Send again the deliveries made in a time range (failed ones by default), with the same webhook-id",
    scope=WRITE_SCOPE,
    body=ReplayRequest,
    response=Replayed,
    tags=("events",),
)
async def replay(call: Call) -> Replayed:
    subscription_id = call.path_uuid("subscription_id")
    await _get(call, subscription_id)
    body = call.body_as(ReplayRequest)
    status = await _pool(call).execute(
        QUERIES["subscription_replay"],
        subscription_id,
        call.tenant,
        _naive(body.since),
        None if body.until is None else _naive(body.until),
        list(body.statuses),
    )
    count = int(status.split()[-1])
    log.info("subscription.replayed", subscription_id=str(subscription_id), deliveries=count)
    return Replayed(replayed=count)


@api.route(
    "GET",
    "/v1/event-subscriptions/{subscription_id}/deliveries",
    summary="A subscriber's deliveries, newest first",
    scope=None,
    query=DeliveryQuery,
    response=DeliveryPage,
    tags=("events",),
)
async def deliveries(call: Call) -> DeliveryPage:
    subscription_id = call.path_uuid("subscription_id")
    await _get(call, subscription_id)
    q = call.query_as(DeliveryQuery)
    rows = await _pool(call).fetch(QUERIES["subscription_deliveries"], subscription_id, call.tenant, q.status, q.limit)
    return DeliveryPage(items=[Delivery.model_validate(dict(r)) for r in rows])
