"""The scheduler: safe to run several, one leader at a time.

Leadership is a session advisory lock held on a dedicated connection (not a pooled one: the pool's reset would
release it). When the leader dies its connection closes, PostgreSQL releases the lock, and a standby takes over
at its next tick. Each leader tick:

1. wake-ups for platforms with tasks that became due since the last tick (delayed tasks, retries);
2. re-sent wake-ups for due tasks nobody claimed for ``redispatch_after`` seconds (a lost wake-up);
3. rescue of expired leases (pending with the attempt counted, failed when exhausted);
4. periodic syncs of active integrations every ``sync_interval`` minutes, with ``last_sync_at`` updated;
5. CRM changes (the ``crm_change_events`` outbox: stock and price of variants) turned into ``inventory_sync`` /
   ``price_sync`` tasks with a ``variant_ids`` filter for every active shop listing the variant - also at once,
   between ticks, when the leader's session hears ``NOTIFY nfsync_crm_changes`` (sent by the outbox trigger);
6. periodic reconciliation of integrations whose ``config.reconcile_interval`` (minutes) is due;
7. upkeep every ``upkeep_interval`` seconds (``workers/upkeep.py``): OAuth tokens refreshed ahead of expiry
   whether or not a task needs them, lapsing authorizations and stale shops announced as events;
8. events out: the ``event_outbox`` rows published to RabbitMQ in order (``workers/engine/events.py``) - also at
   once, between ticks, when the leader's session hears ``NOTIFY nfsync_events`` (sent by the outbox trigger);
9. every ``_MAINTENANCE_EVERY`` seconds: sync_logs partitions ahead, retention of tasks, webhooks and logs,
   forgotten worker rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

from nfsync.connectors.base.errors import NfsyncError
from nfsync.workers.config import Settings
from nfsync.workers.db.connect import connect
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.events import EVENTS_CHANNEL, EventPublisher
from nfsync.workers.engine.filters import InventorySyncFilter, ProductSyncFilter, ShopSyncFilter, dump_filter
from nfsync.workers.engine.models import NATURAL_DIRECTION, EnqueueRequest, utcnow
from nfsync.workers.engine.service import TaskService
from nfsync.workers.logs import get_logger
from nfsync.workers.upkeep import Upkeep

log = get_logger(__name__)
_LEADER_LOCK = 0x6E66_7379  # "nfsy"
_RESCUE_BATCH = 500
_REDISPATCH_BATCH = 1000
_PERIODIC_BATCH = 100
_CHANGES_BATCH = 2000
_CHANGE_PRIORITY = 7
_CHANGE_TASKS = {"stock": "inventory_sync", "price": "price_sync"}
_CHANGE_CHANNEL = "nfsync_crm_changes"
_PRUNE_BATCH = 5000
_MAINTENANCE_EVERY = 300.0
_DEAD_WORKER_SECONDS = 3600
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        service: TaskService,
        events: EventPublisher | None = None,
        upkeep: Upkeep | None = None,
    ) -> None:
        self.settings = settings
        self._upkeep = upkeep
        self._last_upkeep: float | None = None
        self._pool = pool
        self._service = service
        self._events = events
        self._events_waiting = asyncio.Event()
        self._leader_conn: asyncpg.Connection | None = None
        self._last_tick: datetime = utcnow()
        self._last_maintenance = 0.0
        self._last_lost_pushes: float | None = None
        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()
        self.is_leader = False
        self.ticks = 0
        self._tick_seconds: list[float] = []  # durations since the last ``scheduler.ticks`` line
        self._ticks_reported = time.monotonic()

    def request_stop(self) -> None:
        self._stopping.set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Scheduler]:
        """Run in the background for the duration of the block (tests, the demo, the benchmark)."""
        job = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            self.request_stop()
            await job

    async def run(self) -> None:
        log.info("scheduler.started")
        while not self._stopping.is_set():
            try:
                if await self._ensure_leadership():
                    started = time.monotonic()
                    await self.tick()
                    self._timed(time.monotonic() - started)
            except _DB_ERRORS as exc:
                log.warning("scheduler.tick_failed", error=str(exc) or type(exc).__name__)
                await self._step_down()
            await self._until_next_tick()
        await self._step_down()
        log.info("scheduler.stopped")

    def _timed(self, seconds: float) -> None:
        """Every ``tick_report_seconds``, one ``scheduler.ticks`` line: how many ticks ran and how long they took
        (p50, p99, max, in ms). A tick near ``scheduler_tick`` is a scheduler falling behind."""
        self._tick_seconds.append(seconds)
        if time.monotonic() - self._ticks_reported < self.settings.tick_report_seconds:
            return
        ordered = sorted(self._tick_seconds)
        log.info(
            "scheduler.ticks",
            ticks=len(ordered),
            p50_ms=round(1000 * ordered[len(ordered) // 2], 1),
            p99_ms=round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            max_ms=round(1000 * ordered[-1], 1),
        )
        self._tick_seconds, self._ticks_reported = [], time.monotonic()

    async def _until_next_tick(self) -> None:
        """Sleep one tick; CRM changes heard meanwhile are propagated at once."""
        deadline = time.monotonic() + self.settings.scheduler_tick
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            signals = (self._stopping, self._changed, self._events_waiting)
            waits = [asyncio.ensure_future(signal.wait()) for signal in signals]
            await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
            if self._stopping.is_set():
                continue
            try:
                await self._between_ticks()
            except _DB_ERRORS as exc:
                log.warning("scheduler.tick_failed", error=str(exc) or type(exc).__name__)

    async def _between_ticks(self) -> None:
        """What a NOTIFY asked for: CRM changes to propagate, events to publish."""
        if self._changed.is_set():
            self._changed.clear()
            if self.is_leader:
                await self.propagate_crm_changes()
        if self._events_waiting.is_set():
            self._events_waiting.clear()
            if self.is_leader:
                await self.publish_events()

    def _on_change(self, *_: object) -> None:
        self._changed.set()

    def _on_event(self, *_: object) -> None:
        self._events_waiting.set()

    async def publish_events(self) -> int:
        return await self._events.publish_pending() if self._events is not None else 0

    async def _ensure_leadership(self) -> bool:
        """Leader while our dedicated session holds the advisory lock; a standby retries on the same session."""
        conn = self._leader_conn
        if conn is None or conn.is_closed():
            await self._step_down()
            conn = self._leader_conn = await connect(self.settings, application="nfsync-scheduler")
        if self.is_leader:
            await conn.fetchval("SELECT 1")  # the session is alive, so the lock is still ours
            return True
        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LEADER_LOCK):
            await conn.add_listener(_CHANGE_CHANNEL, self._on_change)
            await conn.add_listener(EVENTS_CHANNEL, self._on_event)
            self.is_leader, self._last_tick = True, utcnow()
            log.info("scheduler.became_leader")
        return self.is_leader

    async def _step_down(self) -> None:
        if self._leader_conn is not None:
            with contextlib.suppress(Exception):
                await self._leader_conn.close()
        if self.is_leader:
            log.info("scheduler.stepped_down")
        self._leader_conn, self.is_leader = None, False

    async def tick(self) -> None:
        started = utcnow()
        await self._wake_newly_due(self._last_tick)
        self._last_tick = started
        await self._redispatch_stale()
        await self._rescue_leases()
        await self._periodic_syncs()
        await self.propagate_crm_changes()
        await self._periodic_reconcile()
        await self._lost_push_recovery()
        await self._run_upkeep()
        await self.publish_events()
        if time.monotonic() - self._last_maintenance >= _MAINTENANCE_EVERY:
            await self.maintenance()
            self._last_maintenance = time.monotonic()
        self.ticks += 1

    async def _run_upkeep(self) -> None:
        """Tokens, lapsing authorizations and stale shops (workers/upkeep.py), every ``upkeep_interval`` seconds."""
        interval = self.settings.upkeep_interval
        if self._upkeep is None or interval <= 0:
            return
        if self._last_upkeep is not None and time.monotonic() - self._last_upkeep < interval:
            return
        self._last_upkeep = time.monotonic()
        await self._upkeep.run()

    async def _wake_newly_due(self, since: datetime) -> None:
        for row in await self._pool.fetch(QUERIES["newly_due_platforms"], since):
            await self._service.wake(row["platform"], [], reason="due")

    async def _redispatch_stale(self) -> None:
        rows = await self._pool.fetch(
            QUERIES["mark_stale_due_tasks"], self.settings.redispatch_after, _REDISPATCH_BATCH
        )
        await self._wake_grouped(rows, "redispatch")
        if rows:
            log.info("scheduler.redispatched", tasks=len(rows))

    async def _rescue_leases(self) -> None:
        while True:
            rows = await self._pool.fetch(QUERIES["rescue_expired_leases"], _RESCUE_BATCH)
            for row in rows:
                log.warning("task.lease_rescued", task_id=str(row["id"]), status=row["status"])
            await self._wake_grouped([r for r in rows if r["status"] == "pending"], "rescue")
            if len(rows) < _RESCUE_BATCH:
                return

    async def _wake_grouped(self, rows: list[asyncpg.Record], reason: str) -> None:
        by_platform: dict[str, list[uuid.UUID]] = defaultdict(list)
        for row in rows:
            by_platform[row["platform"]].append(row["id"])
        for platform, ids in by_platform.items():
            await self._service.wake(platform, ids, reason=reason)

    async def _periodic_syncs(self) -> None:
        """The due integrations' shops -> one periodic task per (shop, type); an organization's in one statement, the
        shops read and the integrations touched once per tick (issue #20: a transaction per shop made a 10,000-shop
        fleet's ticks 5 s long, and CRM changes waited for them)."""
        due = await self._pool.fetch(QUERIES["due_periodic_integrations"], _PERIODIC_BATCH)
        if not due:
            return
        ids = [integration["id"] for integration in due]
        shops: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for row in await self._pool.fetch(QUERIES["active_shops_of_integrations"], ids):
            shops[row["integration_id"]].append(row["id"])
        by_org: dict[uuid.UUID, list[EnqueueRequest]] = defaultdict(list)
        for integration in due:
            for shop_id in shops[integration["id"]]:
                for task_type in self._periodic_types(integration["config"]):
                    request = self._periodic_request(integration, shop_id, task_type)
                    if request is not None:
                        by_org[integration["organization_id"]].append(request)
        for org, requests in by_org.items():
            await self._enqueue_batch(org, requests, "scheduler.periodic_enqueue_failed")
        await self._pool.execute(QUERIES["touch_integrations_last_sync"], ids)
        for integration in due:
            count = len(shops[integration["id"]])
            log.info("scheduler.periodic_sync", integration_id=str(integration["id"]), shops=count)

    def _periodic_types(self, config: object) -> list[str]:
        configured = config.get("periodic_task_types") if isinstance(config, dict) else None
        if isinstance(configured, list) and configured:
            return [str(t) for t in configured]
        return [t.strip() for t in self.settings.periodic_task_types.split(",") if t.strip()]

    @staticmethod
    def _periodic_request(integration: asyncpg.Record, shop_id: uuid.UUID, task_type: str) -> EnqueueRequest | None:
        config = integration["config"] if isinstance(integration["config"], dict) else {}
        directions = config.get("sync_settings", {}) if isinstance(config.get("sync_settings"), dict) else {}
        direction = directions.get(f"{task_type}_direction", NATURAL_DIRECTION.get(task_type, "bidirectional"))
        try:
            return EnqueueRequest(
                organization_id=integration["organization_id"],
                integration_id=integration["id"],
                shop_id=shop_id,
                task_type=task_type,
                direction=direction,
                priority=3,
            )
        except ValueError as exc:
            log.warning("scheduler.periodic_enqueue_failed", integration_id=str(integration["id"]), error=str(exc))
            return None

    async def propagate_crm_changes(self) -> int:
        """Recorded CRM stock/price changes -> one coalescing task per (shop, kind); returns the events handled."""
        handled = 0
        while True:
            rows = await self._pool.fetch(QUERIES["crm_changes_take"], _CHANGES_BATCH)
            events = {row["id"] for row in rows}
            groups: dict[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str], set[str]] = defaultdict(set)
            for row in rows:
                if row["shop_id"] is not None:
                    key = (row["organization_id"], row["integration_id"], row["shop_id"], row["kind"])
                    groups[key].add(row["variant_id"])
            by_org: dict[uuid.UUID, list[EnqueueRequest]] = defaultdict(list)
            for (org, integration, shop, kind), variants in groups.items():
                by_org[org].append(_change_request(org, integration, shop, kind, sorted(variants)))
            for org, requests in by_org.items():
                await self._enqueue_batch(org, requests, "scheduler.change_enqueue_failed")
            if events:
                await self._pool.execute(QUERIES["crm_changes_done"], list(events))
            handled += len(events)
            if len(events) < _CHANGES_BATCH:
                return handled

    async def _enqueue_batch(self, org: uuid.UUID, requests: list[EnqueueRequest], event: str) -> None:
        """An organization's tasks in one statement (issue #20: one transaction per shop kept a fleet's ticks busy for
        seconds); when one target is refused (a shop went away meanwhile), one by one, logging ``event`` for it."""
        try:
            await self._service.enqueue_many(org, requests)
            return
        except (NfsyncError, ValueError):
            pass
        for request in requests:
            try:
                await self._service.enqueue(request)
            except (NfsyncError, ValueError) as exc:
                log.warning(
                    event,
                    integration_id=str(request.integration_id),
                    shop_id=str(request.shop_id),
                    task_type=request.task_type,
                    error=str(exc),
                )

    async def _enqueue_logged(self, request: EnqueueRequest, event: str) -> None:
        """Enqueue; a refusal (the shop went away meanwhile, a bad config) is logged and the tick goes on."""
        try:
            await self._service.enqueue(request)
        except (NfsyncError, ValueError) as exc:
            log.warning(event, integration_id=str(request.integration_id), shop_id=str(request.shop_id), error=str(exc))

    async def _lost_push_recovery(self) -> None:
        """Every lost_push_interval: one shop_sync {"lost_pushes": true} per integration of a platform that keeps
        the pushes it failed to deliver (Shopee: 3 days), so a push lost while nfsync was unreachable still becomes
        work (workers/sync/lost_pushes.py)."""
        interval = self.settings.lost_push_interval
        last = self._last_lost_pushes
        if interval <= 0 or (last is not None and time.monotonic() - last < interval):
            return
        self._last_lost_pushes = time.monotonic()
        platforms = [p.strip() for p in self.settings.lost_push_platforms.split(",") if p.strip()]
        for row in await self._pool.fetch(QUERIES["lost_push_integrations"], platforms):
            request = EnqueueRequest(
                organization_id=row["organization_id"],
                integration_id=row["id"],
                shop_id=row["shop_id"],
                task_type="shop_sync",
                direction="marketplace_to_crm",
                priority=2,
                filter_criteria=dump_filter(ShopSyncFilter(lost_pushes=True)),
            )
            await self._enqueue_logged(request, "scheduler.lost_push_enqueue_failed")

    async def _periodic_reconcile(self) -> None:
        for integration in await self._pool.fetch(QUERIES["reconcile_due_integrations"], _PERIODIC_BATCH):
            for shop in await self._pool.fetch(QUERIES["active_shops_of_integration"], integration["id"]):
                request = EnqueueRequest(
                    organization_id=integration["organization_id"],
                    integration_id=integration["id"],
                    shop_id=shop["id"],
                    task_type="product_sync",
                    direction="crm_to_marketplace",
                    priority=2,
                    filter_criteria=dump_filter(ProductSyncFilter(reconcile=True)),
                )
                await self._enqueue_logged(request, "scheduler.reconcile_enqueue_failed")
            await self._pool.execute(QUERIES["reconcile_touch"], integration["id"])
            log.info("scheduler.periodic_reconcile", integration_id=str(integration["id"]))

    async def maintenance(self) -> None:
        """Partitions ahead, retention, forgotten workers."""
        await self._pool.fetchval(QUERIES["ensure_sync_logs_partitions"])
        tasks = await self._prune("prune_finished_tasks", self.settings.retention_days_tasks)
        hooks = await self._prune("prune_webhooks", self.settings.retention_days_webhooks)
        await self._prune("prune_oauth_states", 0)
        await self._prune("prune_deliveries", self.settings.retention_days_webhooks)
        partitions = await self._pool.fetchval(QUERIES["prune_sync_logs"], self.settings.retention_days_logs)
        await self._pool.execute(QUERIES["prune_dead_workers"], _DEAD_WORKER_SECONDS)
        log.info("scheduler.maintenance", tasks_deleted=tasks, webhooks_deleted=hooks, partitions_dropped=partitions)

    async def _prune(self, query: str, days: int) -> int:
        total = 0
        while True:
            status = await self._pool.execute(QUERIES[query], days, _PRUNE_BATCH)
            deleted = int(status.split()[-1])
            total += deleted
            if deleted < _PRUNE_BATCH:
                return total


def _change_request(
    org: uuid.UUID, integration: uuid.UUID, shop: uuid.UUID, kind: str, variants: list[str]
) -> EnqueueRequest:
    return EnqueueRequest(
        organization_id=org,
        integration_id=integration,
        shop_id=shop,
        task_type=_CHANGE_TASKS[kind],
        direction="crm_to_marketplace",
        priority=_CHANGE_PRIORITY,
        filter_criteria=dump_filter(InventorySyncFilter(variant_ids=variants)),
    )
