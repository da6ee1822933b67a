"""`POST /webhooks/{platform}/{integration_id}`: marketplace pushes.

The integration is looked up (cached, unknown ones too) before any byte of the body is read; an unknown
integration and a bad signature get the same 401, so the URL tells nothing. A declared ``Content-Length`` over the
cap is refused at once (413), and the body must arrive within ``NFSYNC_WEBHOOK_READ_TIMEOUT`` (408). The raw body is
verified over its exact bytes against every active secret of the integration (the current one and any
``previous_*`` kept for rotation), Shopee's over the externally visible URL. A bad signature is a 401 and nothing is
stored. A verified push that cannot be parsed (JSON nested too deeply, ``Infinity``, a time out of range) is
stored as ``unparseable`` with the reason and answered 200: the platform would otherwise retry it forever. A valid
push is stored in ``marketplace_webhooks`` with its dedupe key
and translated into work **in the same transaction**: an order status change -> a high-priority ``order_sync`` of
that order; a product change or deletion -> a product import of it; deauthorisation -> the account and its shops
marked, their pending tasks stopped; authorization expiring -> recorded on the account for the token refresher.
A duplicate delivery is stored once and enqueues nothing. A product push that only echoes nfsync's own last write
(WooCommerce fires one for every API write: ``connectors/woocommerce/webhooks.py`` ``is_echo`` compares it with
``product_mappings``' last pushed stock, price and time) is stored as ``ignored`` and enqueues nothing. The answer
(empty 200) goes out before the wake-up is published, so a slow or absent RabbitMQ never slows it: the scheduler
sends what could not be published.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.base.errors import NotFound
from nfsync.connectors.base.models import WebhookEvent
from nfsync.connectors.base.spec import PLATFORM_PACKAGES, PlatformSpec, load
from nfsync.workers.api.framework import Api, Call
from nfsync.workers.api.ingest import IngestBatcher, Ingested, IngestItem
from nfsync.workers.api.ops_metrics import WEBHOOKS
from nfsync.workers.api.state import API_STATE
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import OrderSyncFilter, ProductSyncFilter, dump_filter
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.service import TaskService
from nfsync.workers.logs import get_logger
from nfsync.workers.marketplaces import app_credentials, webhook_secrets

log = get_logger(__name__)
api = Api()
ORDER_PRIORITY, PRODUCT_PRIORITY = 9, 6
CACHE_SECONDS = 5.0
MISSING_KEPT = 10_000  # remembered unknown integrations; past this the memory is cleared (hostile random ids)
MAX_PUSH_DEPTH = 64  # JSON nesting of a push; deeper is stored as unparseable
WAKE_LINGER = 0.01  # a stream of pushes shares one wake-up message per 10 ms (most coalesce into one task anyway)
WAKE_REPEAT_SECONDS = 1.0  # a task woken this recently is not woken again for the next push that joins it
WOKEN_KEPT = 10_000  # past this many remembered wake-ups the expired ones are dropped
ECHO = "echo of nfsync's own write (stock and price as last pushed)"
DEAUTHORIZED = "deauthorized by the platform"
_KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-wc-webhook-topic",
    "x-wc-webhook-resource",
    "x-wc-webhook-event",
    "x-wc-webhook-id",
    "x-wc-webhook-delivery-id",
)


@dataclass
class Verified:
    integration: asyncpg.Record
    spec: PlatformSpec
    events: list[WebhookEvent]
    unparseable: str | None = None  # why a verified push could not be parsed


def parse_push(spec: PlatformSpec, headers: dict[str, str], body: bytes) -> tuple[list[WebhookEvent], str | None]:
    """The events of an authentic push, or none and the reason it cannot be parsed. Never raises: whatever a
    platform (or someone holding its secret) sends is stored, not answered with a 5xx it would retry forever."""
    try:
        _strict_json(body)
        return spec.parse_webhook(headers, body), None
    except Exception as exc:  # the one boundary where any parser failure becomes data
        return [], f"{type(exc).__name__}: {exc}"[:300]


def _strict_json(body: bytes) -> None:
    """Refuse what PostgreSQL's jsonb or the parsers cannot take: NaN/Infinity, \\u0000, deep nesting."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(body, parse_constant=constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_PUSH_DEPTH:
            raise ValueError(f"nested deeper than {MAX_PUSH_DEPTH} levels")
        if isinstance(item, str) and "\x00" in item:
            raise ValueError("holds a NUL character")
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item if isinstance(item, list) else []
        stack.extend((child, depth + 1) for child in children)


class WebhookIntake:
    def __init__(
        self,
        pool: asyncpg.Pool,
        service: TaskService,
        keyring: Keyring | None,
        public_url: str,
        ingest: asyncpg.Pool | None = None,
        *,
        read_timeout: float = 10.0,
        max_bytes: int = 1024 * 1024,
    ) -> None:
        """``ingest``: the batcher's pool (workers.api.ingest.ingest_pool); ``pool`` when None."""
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes
        self._missing: dict[str, float] = {}  # "platform/integration id" -> until when it counts as unknown
        self._pool = pool
        self._service = service
        self._keyring = keyring
        self._public_url = public_url.rstrip("/")
        self._wakeups: set[asyncio.Task[Any]] = set()
        self._cache: dict[str, tuple[float, asyncpg.Record, AppCredentials, list[str]]] = {}
        self._batcher = IngestBatcher(ingest or pool)
        self._woken: dict[uuid.UUID, float] = {}  # task id -> until when it counts as just woken

    async def verify(
        self, request: web.Request, platform: str, integration_id: str, headers: dict[str, str], body: bytes
    ) -> Verified | None:
        """The parsed events when the push is authentic; None when it is not. Unknown integration: NotFound."""
        integration, app, secrets = await self._cached(platform, integration_id)
        spec = load(platform)
        url = self._public_url + request.path_qs
        if not spec.verify_webhook(headers, body, app, secrets, url):
            return None
        events, unparseable = parse_push(spec, headers, body)
        if unparseable is not None:
            log.warning("webhook.unparseable", platform=platform, integration_id=integration_id, reason=unparseable)
        return Verified(integration, spec, events, unparseable)

    async def known(self, platform: str, integration_id: str) -> None:
        """NotFound unless an active integration of the platform has this id (unknown ids are remembered too)."""
        key = f"{platform}/{integration_id}"
        if self._missing.get(key, 0.0) > time.monotonic():
            raise NotFound("no active integration of that platform at this URL")
        try:
            await self._cached(platform, integration_id)
        except NotFound:
            if len(self._missing) >= MISSING_KEPT:
                self._missing.clear()
            self._missing[key] = time.monotonic() + CACHE_SECONDS
            raise

    async def _cached(self, platform: str, integration_id: str) -> tuple[asyncpg.Record, AppCredentials, list[str]]:
        """The integration and its decrypted credentials, kept CACHE_SECONDS (a rotated secret or a deactivation
        takes effect within that)."""
        hit = self._cache.get(integration_id)
        if hit is not None and hit[0] > time.monotonic() and hit[1]["platform"] == platform:
            return hit[1], hit[2], hit[3]
        integration = await self._integration(platform, integration_id)
        app, secrets = self._credentials(integration)
        self._cache[integration_id] = (time.monotonic() + CACHE_SECONDS, integration, app, secrets)
        return integration, app, secrets

    def forget(self, integration_id: uuid.UUID) -> None:
        """Drop a cached integration (its secrets or status changed through this process)."""
        self._cache.pop(str(integration_id), None)

    async def _integration(self, platform: str, integration_id: str) -> asyncpg.Record:
        try:
            key = uuid.UUID(integration_id)
        except ValueError:
            raise NotFound("no such integration") from None
        row = await self._pool.fetchrow(QUERIES["webhook_integration"], key)
        if row is None or row["platform"] != platform or platform not in PLATFORM_PACKAGES or row["status"] != "active":
            raise NotFound("no active integration of that platform at this URL")
        return row

    def _credentials(self, integration: asyncpg.Record) -> tuple[AppCredentials, list[str]]:
        app = app_credentials(self._keyring, integration)
        return app, webhook_secrets(integration["platform"], app)

    async def store(self, verified: Verified, headers: dict[str, str], body: bytes) -> list[uuid.UUID]:
        """Store every event once and enqueue its work, in one transaction; returns the tasks enqueued."""
        integration = verified.integration
        kept = {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
        if verified.unparseable is not None:
            await self._store_unparseable(integration, kept, body, verified.unparseable)
            return []
        tasks: list[tuple[str, uuid.UUID]] = []
        echoes = [await self.echo(integration, event) for event in verified.events]
        if len(verified.events) == 1 and _wants_work(verified.events[0]) and not echoes[0]:
            ingested = await self._ingest_work(integration, verified.events[0], kept, body)
            if ingested is not None:  # the common case, done in one statement (shared with concurrent pushes)
                self._wake_later([(integration["platform"], ingested.task_id)])
                return [ingested.task_id]
        payload = _payload(body)
        async with self._pool.acquire() as conn, conn.transaction():
            for event, echo in zip(verified.events, echoes, strict=True):
                stored = await conn.fetchrow(
                    QUERIES["webhook_store"],
                    integration["organization_id"],
                    integration["id"],
                    integration["platform"],
                    *_Columns.of(event).values(),
                    kept,
                    payload,
                )
                if stored is None:
                    log.info("webhook.duplicate", integration_id=str(integration["id"]), dedupe_key=event.dedupe_key)
                    continue
                shop = stored if stored["shop_id"] is not None else await _only_shop(conn, integration["id"])
                task = await self.translate(conn, integration, event, stored["id"], shop, echo=echo)
                if task is not None:
                    tasks.append((integration["platform"], task))
        self._wake_later(tasks)
        return [task for _, task in tasks]

    async def echo(self, integration: asyncpg.Record, event: WebhookEvent) -> bool:
        """Whether a product push only reports nfsync's own last write to that object (no work then)."""
        rule = load(integration["platform"]).is_echo
        if rule is None or event.kind != "product_changed" or not event.raw or not event.platform_shop_id:
            return False
        rows = await self._pool.fetch(
            QUERIES["webhook_echo_mappings"], integration["id"], event.platform_shop_id, str(event.raw.get("id", ""))
        )
        if not rule(event.raw, [dict(row) for row in rows]):
            return False
        log.info("webhook.echo", integration_id=str(integration["id"]), entity_id=event.entity_id)
        return True

    async def _store_unparseable(
        self, integration: asyncpg.Record, kept: dict[str, str], body: bytes, reason: str
    ) -> None:
        """Once per distinct body (its SHA-256 is the dedupe key), with the text as a JSON string and the reason."""
        text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
        dedupe = "unparseable:" + hashlib.sha256(body).hexdigest()
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await conn.fetchrow(
                QUERIES["webhook_store"],
                integration["organization_id"],
                integration["id"],
                integration["platform"],
                "unparseable",
                dedupe,
                None,
                None,
                None,
                kept,
                {"raw": text},
            )
            if stored is not None:
                await conn.execute(QUERIES["webhook_processed"], stored["id"], "failed", None, reason)

    async def _ingest_work(
        self, integration: asyncpg.Record, event: WebhookEvent, kept: dict[str, str], body: bytes
    ) -> Ingested | None:
        """The hot path for an order or product push naming a shop we know: stored with its work by the batcher
        (many pushes per statement under load). None (nothing written) for a known dedupe key or an unknown shop:
        the general path then logs the duplicate or finds the integration's only shop. The body goes in as the JSON
        text it is (PostgreSQL parses it once; no decode and re-encode here)."""
        try:
            text = body.decode()
        except UnicodeDecodeError:  # not UTF-8: the general path stores what it can
            return None
        return await self._batcher.ingest(ingest_item(integration, event, kept, text))

    async def translate(
        self,
        conn: DbConn,
        integration: asyncpg.Record,
        event: WebhookEvent,
        webhook_id: uuid.UUID,
        shop: asyncpg.Record | None,
        *,
        echo: bool = False,
    ) -> uuid.UUID | None:
        """Turn one stored event into work; records the outcome on the webhook row. ``shop`` has shop_id and
        account_id (None: the push names no active shop of this integration); ``echo``: the push only reports
        nfsync's own write (``echo``), stored without work."""
        status, task_id, error = "processed", None, None
        if event.kind == "ignored":
            status = "ignored"
        elif _too_long(event):
            status, error = "ignored", f"the pushed id is longer than {ID_WIDTH} characters: no platform's id"
        elif shop is None:
            status, error = "ignored", f"no shop {event.platform_shop_id!r} in this integration"
        elif echo:
            status, error = "ignored", ECHO
        elif event.kind in ("order_status_changed", "product_changed", "product_deleted"):
            task_id = await self._enqueue(conn, integration, shop, event)
        elif event.kind == "shop_deauthorized":
            await conn.execute(QUERIES["webhook_deauthorized_events"], shop["account_id"], DEAUTHORIZED)
            await conn.execute(QUERIES["webhook_deauthorize"], shop["account_id"], DEAUTHORIZED)
            log.warning("account.deauthorized", account_id=str(shop["account_id"]))
        elif event.kind == "authorization_expiring":
            await conn.execute(QUERIES["webhook_expiring"], shop["account_id"], str(event.occurred_at or ""))
            log.warning("account.authorization_expiring", account_id=str(shop["account_id"]))
        await conn.execute(QUERIES["webhook_processed"], webhook_id, status, task_id, error)
        return task_id

    async def _enqueue(
        self, conn: DbConn, integration: asyncpg.Record, shop: asyncpg.Record, event: WebhookEvent
    ) -> uuid.UUID:
        request = work_request(integration, event, shop_id=shop["shop_id"])
        result = await self._service.enqueue_resolved(
            conn, request, account_id=shop["account_id"], platform=integration["platform"]
        )
        return result.task_id

    async def stored(self, webhook_id: uuid.UUID, tenant: uuid.UUID | None) -> asyncpg.Record:
        row = await self._pool.fetchrow(QUERIES["webhook_get"], webhook_id, tenant)
        if row is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return row

    async def replay(self, row: asyncpg.Record, event: WebhookEvent) -> uuid.UUID | None:
        integration = await self._pool.fetchrow(QUERIES["webhook_integration"], row["integration_id"])
        assert integration is not None
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(QUERIES["webhook_replayed"], row["id"])
            shop = None
            if row["shop_id"] is not None:
                shop = await conn.fetchrow(QUERIES["webhook_shop_by_id"], row["shop_id"])
            task_id = await self.translate(
                conn, integration, event, row["id"], shop or await _only_shop(conn, integration["id"])
            )
        if task_id is not None:
            self._wake_later([(integration["platform"], task_id)])
        return task_id

    def _wake_later(self, hinted: Sequence[tuple[str, uuid.UUID | None]]) -> None:
        """Wake the platforms' workers for these tasks - except a task woken less than WAKE_REPEAT_SECONDS ago: a
        burst of pushes for one shop coalesces into one pending task, and one wake-up per task is enough (the
        scheduler re-sends the wake-up of a due task nobody claimed)."""
        now = time.monotonic()
        tasks = [(p, t) for p, t in hinted if t is not None and self._woken.get(t, 0.0) <= now]
        if not tasks:
            return
        if len(self._woken) > WOKEN_KEPT:  # expired ones out; all of them if that is not enough (a wake-up too many
            self._woken = {t: until for t, until in self._woken.items() if until > now}  # is harmless)
            if len(self._woken) > WOKEN_KEPT:
                self._woken.clear()
        for _, task in tasks:
            self._woken[task] = now + WAKE_REPEAT_SECONDS
        for platform in {p for p, _ in tasks}:
            job = asyncio.get_running_loop().create_task(
                self._service.wake(
                    platform, [t for p, t in tasks if p == platform], reason="webhook", linger=WAKE_LINGER
                )
            )
            self._wakeups.add(job)
            job.add_done_callback(self._wakeups.discard)


async def _only_shop(conn: DbConn, integration_id: uuid.UUID) -> asyncpg.Record | None:
    """A push naming no shop we know goes to the integration's only active shop, if it has exactly one."""
    rows = await conn.fetch(QUERIES["webhook_only_shop"], integration_id)
    return rows[0] if len(rows) == 1 else None


def ingest_item(integration: asyncpg.Record, event: WebhookEvent, kept: dict[str, str], text: str) -> IngestItem:
    """A push with its work for the batched hot path: the same values as ``work_request`` gives the general path."""
    work = work_request(integration, event, shop_id=None)
    columns = _Columns.of(event)
    return IngestItem(
        organization_id=integration["organization_id"],
        integration_id=integration["id"],
        platform=integration["platform"],
        kind=columns.kind,
        dedupe_key=columns.dedupe_key,
        platform_shop_id=columns.platform_shop_id,
        entity_id=columns.entity_id,
        status=columns.status,
        headers=json.dumps(kept),
        payload=text,
        task_type=work.task_type,
        priority=work.priority,
        filter_criteria=None if work.filter_criteria is None else json.dumps(work.filter_criteria),
    )


def work_request(integration: asyncpg.Record, event: WebhookEvent, *, shop_id: uuid.UUID | None) -> EnqueueRequest:
    """The task a push asks for; the batched hot path (ingest.py, webhooks.sql) and the general path
    (TaskService.enqueue_resolved) both take their values from here (tests/api/test_webhook_batches.py pins the
    two to the same row)."""
    is_order = event.kind == "order_status_changed"
    return EnqueueRequest(
        organization_id=integration["organization_id"],
        integration_id=integration["id"],
        shop_id=shop_id,
        task_type="order_sync" if is_order else "product_sync",
        direction="marketplace_to_crm",
        priority=ORDER_PRIORITY if is_order else PRODUCT_PRIORITY,
        filter_criteria=_work_filter(event),
    )


def _work_filter(event: WebhookEvent) -> dict[str, Any] | None:
    """Order pushes: ``{"webhook_orders": true}`` - the order_sync handler reads the orders from the pushes stored
    with its task id, so a burst for one shop never rewrites its task. Product pushes name their product."""
    if event.kind == "order_status_changed":
        return dump_filter(OrderSyncFilter(webhook_orders=True))
    return dump_filter(ProductSyncFilter(product_ids=[event.entity_id])) if event.entity_id else None


ID_WIDTH = 100  # marketplace_webhooks.entity_id and platform_shop_id: longer than any platform's id
STATUS_WIDTH = 50
DEDUPE_WIDTH = 255


@dataclass(frozen=True)
class _Columns:
    """An event's values as ``marketplace_webhooks`` holds them, so an authentic push is always stored: an id too
    long for its column is stored as nothing (the push is then ignored with the reason), a status is cut, a dedupe key
    too long is replaced by its SHA-256 (still one row per distinct key)."""

    kind: str
    dedupe_key: str
    platform_shop_id: str | None
    entity_id: str | None
    status: str | None

    @classmethod
    def of(cls, event: WebhookEvent) -> _Columns:
        key = event.dedupe_key
        if len(key) > DEDUPE_WIDTH:
            key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        return cls(
            event.kind,
            key,
            _fits(event.platform_shop_id, ID_WIDTH),
            _fits(event.entity_id, ID_WIDTH),
            None if event.status is None else event.status[:STATUS_WIDTH],
        )

    def values(self) -> tuple[str, str, str | None, str | None, str | None]:
        return (self.kind, self.dedupe_key, self.platform_shop_id, self.entity_id, self.status)


def _fits(text: str | None, width: int) -> str | None:
    return text if text is None or len(text) <= width else None


def _too_long(event: WebhookEvent) -> bool:
    return any(len(text or "") > ID_WIDTH for text in (event.entity_id, event.platform_shop_id))


def _wants_work(event: WebhookEvent) -> bool:
    return (
        event.kind in ("order_status_changed", "product_changed", "product_deleted")
        and bool(event.platform_shop_id)
        and not _too_long(event)  # longer is no platform's id: stored, no work
    )


def _payload(body: bytes) -> Any:
    """The push as JSON (verify() has refused what jsonb cannot hold); a non-JSON body as a string."""
    try:
        return json.loads(body)
    except ValueError:
        return {"raw": body.decode("utf-8", "replace").replace("\x00", "\ufffd")}


def _intake(call: Call) -> WebhookIntake:
    return call.request.app[API_STATE].webhooks


@api.route(
    "POST",
    "/webhooks/{platform}/{integration_id}",
    summary="Receive a marketplace push (signed)",
    scope=None,
    public=True,
    raw_body=True,
    tags=("webhooks",),
)
async def receive(call: Call) -> web.Response:
    request, platform, integration_id = call.request, call.path("platform"), call.path("integration_id")
    intake = _intake(call)
    try:
        await intake.known(platform, integration_id)  # before reading the body: nothing to pin for an unknown URL
    except NotFound:
        raise _unauthorized(platform, integration_id) from None
    body = await _read_body(request, intake)
    if _is_ping(platform, request, body):
        return web.Response(status=200)
    headers = dict(request.headers)
    verified = await intake.verify(request, platform, integration_id, headers, body)
    if verified is None:
        raise _unauthorized(platform, integration_id)
    created = await intake.store(verified, headers, body)
    WEBHOOKS.labels(platform, "accepted" if created else "stored_or_duplicate").inc()
    return web.Response(status=200)


def _unauthorized(platform: str, integration_id: str) -> web.HTTPUnauthorized:
    """One answer for an unknown integration and a bad signature (no existence oracle)."""
    log.warning("webhook.rejected", platform=platform, integration_id=integration_id[:64])
    if platform in PLATFORM_PACKAGES:
        WEBHOOKS.labels(platform, "rejected").inc()
    return web.HTTPUnauthorized(reason="signature does not verify")


async def _read_body(request: web.Request, intake: WebhookIntake) -> bytes:
    """The body within the size cap and the read deadline: 413 at once for a declared length over the cap, 408 for
    a body that does not arrive in time."""
    if request.content_length is not None and request.content_length > intake.max_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=intake.max_bytes, actual_size=request.content_length)
    try:
        return await asyncio.wait_for(request.read(), intake.read_timeout)
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason="the body did not arrive in time") from None


def _is_ping(platform: str, request: web.Request, body: bytes) -> bool:
    """A platform's unsigned liveness ping (WooCommerce's creation ping): answered 200, not stored."""
    rule = load(platform).is_ping if platform in PLATFORM_PACKAGES else None
    return rule is not None and rule(dict(request.headers), body)


class Replayed(BaseModel):
    id: uuid.UUID
    status: str
    task_id: uuid.UUID | None


@api.route(
    "POST",
    "/ops/webhooks/{webhook_id}/replay",
    summary="Process a stored push again",
    scope="ops:write",
    response=Replayed,
    tags=("ops",),
)
async def replay(call: Call) -> Replayed:
    intake = _intake(call)
    row = await intake.stored(call.path_uuid("webhook_id"), call.tenant)
    event = WebhookEvent(
        kind=row["event_type"],
        dedupe_key=row["dedupe_key"],
        platform_shop_id=row["platform_shop_id"],
        entity_id=row["entity_id"],
        status=row["entity_status"],
    )
    task_id = await intake.replay(row, event)
    done = await intake.stored(row["id"], call.tenant)
    return Replayed(id=row["id"], status=done["status"], task_id=task_id)
