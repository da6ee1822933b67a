"""The one Python API to enqueue, read, cancel and retry tasks; HTTP, AMQP commands, the CLI and the scheduler
all call it. The row commits first; the wake-up is published after commit and never fails the enqueue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import asyncpg

from nfsync.connectors.base.errors import NotFound, ValidationFailed
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.broker import WakeupPublisher
from nfsync.workers.engine.models import EnqueueRequest, EnqueueResult, TaskStatus
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
_MAX_RETRIES_ON_RACE = 3

TaskActionName = Literal["cancel", "retry"]
ACTION_STATUSES: Mapping[TaskActionName, tuple[TaskStatus, ...]] = {
    "cancel": ("pending", "processing"),
    "retry": ("failed", "cancelled"),
}
"""The statuses each action accepts: task_cancel and task_retry refuse any other, and /ops/tasks offers an action
only on these (the dashboard shows no button that would fail)."""


def actions_for(status: str) -> list[TaskActionName]:
    """The actions a task in this status accepts, in a stable order."""
    return [action for action, statuses in ACTION_STATUSES.items() if status in statuses]


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + json.dumps(value).encode()


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb as Python objects on every engine connection, in the binary format (version byte + JSON text) so
    that COPY (sync_logs, bulk seeds) can write jsonb columns too."""
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )


def _target_error(request: EnqueueRequest, row: asyncpg.Record | None) -> str | None:
    if row is None:
        return f"integration {request.integration_id} not found"
    if row["integration_status"] != "active":
        return f"integration {request.integration_id} is {row['integration_status']}, not active"
    if request.shop_id is None:
        return None
    if row["shop_id"] is None or row["shop_integration_id"] != request.integration_id:
        return f"shop {request.shop_id} not found in integration {request.integration_id}"
    if row["shop_status"] != "active" or row["account_status"] != "active":
        return f"shop {request.shop_id} is not active (shop {row['shop_status']}, account {row['account_status']})"
    return None


class TaskService:
    def __init__(self, pool: asyncpg.Pool, publisher: WakeupPublisher | None) -> None:
        self._pool = pool
        self._publisher = publisher

    async def enqueue(self, request: EnqueueRequest) -> EnqueueResult:
        """Validate, insert or coalesce, commit, then wake the platform's workers."""
        for _ in range(_MAX_RETRIES_ON_RACE):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    result = await self._enqueue_in(conn, request)
                break
            except _IdempotencyRace:
                continue
        else:  # pragma: no cover - needs three concurrent losers of the same idempotency key
            raise ValidationFailed(f"idempotency key {request.idempotency_key!r} is being used concurrently")
        log.info("task.enqueued", task_id=str(result.task_id), coalesced=result.coalesced, replayed=result.replayed)
        if not result.replayed and result.status == "pending":
            await self.wake(result.platform, [result.task_id])
        return result

    async def enqueue_in(self, conn: DbConn, request: EnqueueRequest) -> EnqueueResult:
        """Enqueue inside the caller's transaction (webhooks store and enqueue atomically); the caller wakes the
        platform after its commit. No idempotency keys here."""
        if request.idempotency_key is not None:
            raise ValidationFailed("enqueue_in takes no idempotency key")
        return await self._enqueue_in(conn, request)

    async def enqueue_resolved(
        self, conn: DbConn, request: EnqueueRequest, *, account_id: uuid.UUID | None, platform: str
    ) -> EnqueueResult:
        """Enqueue inside the caller's transaction for a target the caller already resolved and checked (the
        webhook path: the shop comes from the same statement that stored the push)."""
        target = {"account_id": account_id, "platform": platform}
        [row] = await conn.fetch(
            QUERIES["enqueue_insert"], request.organization_id, *_columns([_task_row(request, target)])
        )
        return EnqueueResult(
            task_id=row["id"],
            platform=row["platform"],
            status=row["status"],
            created=not row["coalesced"],
            coalesced=row["coalesced"],
        )

    async def _enqueue_in(self, conn: DbConn, request: EnqueueRequest) -> EnqueueResult:
        org = request.organization_id
        if request.idempotency_key is not None:
            known = await conn.fetchrow(QUERIES["request_lookup"], org, request.idempotency_key)
            if known is not None:
                return EnqueueResult(
                    task_id=known["task_id"],
                    platform=known["platform"],
                    status=known["status"],
                    created=False,
                    coalesced=known["coalesced"],
                    replayed=True,
                )
        target = (await _targets(conn, org, [request]))[(request.integration_id, request.shop_id)]
        [row] = await conn.fetch(QUERIES["enqueue_insert"], org, *_columns([_task_row(request, target)]))
        if request.idempotency_key is not None:
            recorded = await conn.fetchval(
                QUERIES["request_record"], org, request.idempotency_key, row["id"], row["coalesced"]
            )
            if recorded is None:  # a concurrent request with the same key won: roll back and read its task
                raise _IdempotencyRace
        return EnqueueResult(
            task_id=row["id"],
            platform=row["platform"],
            status=row["status"],
            created=not row["coalesced"],
            coalesced=row["coalesced"],
        )

    async def enqueue_many(self, organization_id: uuid.UUID, requests: Sequence[EnqueueRequest]) -> list[uuid.UUID]:
        """Bulk enqueue for producers that batch (no idempotency keys); validates every target first."""
        if any(r.idempotency_key is not None for r in requests):
            raise ValidationFailed("enqueue_many takes no idempotency keys; use enqueue")
        inserted: list[asyncpg.Record] = []
        async with self._pool.acquire() as conn, conn.transaction():
            targets = await _targets(conn, organization_id, requests)
            rows = [_task_row(r, targets[(r.integration_id, r.shop_id)]) for r in requests]
            for batch in _rounds(rows):
                inserted += await conn.fetch(QUERIES["enqueue_insert"], organization_id, *_columns(batch))
        for platform in {r["platform"] for r in inserted}:
            await self.wake(platform, [r["id"] for r in inserted if r["platform"] == platform])
        return [r["id"] for r in inserted]

    async def wake(
        self, platform: str, task_ids: Sequence[uuid.UUID], reason: str = "enqueue", linger: float = 0.0
    ) -> bool:
        if self._publisher is None:
            return False
        return await self._publisher.wake(platform, task_ids, reason, linger)

    async def get(self, task_id: uuid.UUID, organization_id: uuid.UUID | None = None) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(QUERIES["task_get"], task_id, organization_id)
        if row is None:
            raise NotFound(f"task {task_id} not found")
        return dict(row)

    async def list(
        self,
        organization_id: uuid.UUID | None = None,
        *,
        status: str | None = None,
        platform: str | None = None,
        shop_id: uuid.UUID | None = None,
        task_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                QUERIES["task_list"], organization_id, status, platform, shop_id, task_type, limit, offset
            )
        return [dict(r) for r in rows]

    async def cancel(self, task_id: uuid.UUID, organization_id: uuid.UUID | None = None) -> str:
        """Pending -> cancelled now; processing -> cancelled at the handler's next checkpoint. Returns the status."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(QUERIES["task_cancel"], task_id, organization_id, ACTION_STATUSES["cancel"])
        if row is None:
            current = await self.get(task_id, organization_id)
            raise ValidationFailed(f"task {task_id} is {current['status']} and cannot be cancelled")
        log.info("task.cancel_requested", task_id=str(task_id), status=row["status"])
        return "cancelled" if row["status"] == "cancelled" else "cancelling"

    async def retry(self, task_id: uuid.UUID, organization_id: uuid.UUID | None = None) -> str:
        """A failed or cancelled task back to pending with its retry budget restored."""
        async with self._pool.acquire() as conn:
            try:
                row = await conn.fetchrow(QUERIES["task_retry"], task_id, organization_id, ACTION_STATUSES["retry"])
            except asyncpg.UniqueViolationError:  # a task cancelled before it ever ran, and a newer one pending
                twin = await conn.fetchval(QUERIES["task_pending_twin"], task_id)
                raise ValidationFailed(
                    f"task {task_id} cannot be retried: pending task {twin} already covers its shop, task type "
                    "and direction"
                ) from None
        if row is None:
            current = await self.get(task_id, organization_id)
            accepted = " or ".join(ACTION_STATUSES["retry"])
            raise ValidationFailed(f"task {task_id} is {current['status']}; only {accepted} tasks retry")
        log.info("task.retried", task_id=str(task_id))
        await self.wake(row["platform"], [task_id], reason="retry")
        return str(row["status"])

    async def retry_many(
        self,
        organization_id: uuid.UUID | None,
        *,
        status: str = "failed",
        platform: str | None = None,
        shop_id: uuid.UUID | None = None,
        task_type: str | None = None,
        limit: int = 1000,
    ) -> tuple[uuid.UUID, ...]:
        """Bulk retry by the list's filters: the ids of the tasks put back to pending (at most ``limit``; those a
        pending task already covers are left alone)."""
        if status not in ACTION_STATUSES["retry"]:
            accepted = " or ".join(ACTION_STATUSES["retry"])
            raise ValidationFailed(f"status: only {accepted} tasks retry, not {status!r}")
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                QUERIES["task_retry_many"], organization_id, status, platform, shop_id, task_type, limit
            )
        by_platform: dict[str, list[uuid.UUID]] = {}
        for row in rows:
            by_platform.setdefault(row["platform"], []).append(row["id"])
        for task_platform, ids in by_platform.items():
            await self.wake(task_platform, ids, reason="retry")
        log.info("task.retried_many", tasks=len(rows), status=status)
        return tuple(row["id"] for row in rows)


async def _targets(
    conn: DbConn, org: uuid.UUID, requests: Sequence[EnqueueRequest]
) -> dict[tuple[uuid.UUID, uuid.UUID | None], asyncpg.Record]:
    """The validated target of every distinct (integration, shop) in the requests, in one query; the first invalid
    one raises ValidationFailed naming it."""
    pairs = list(dict.fromkeys((r.integration_id, r.shop_id) for r in requests))
    rows = await conn.fetch(QUERIES["enqueue_targets"], org, [p[0] for p in pairs], [p[1] for p in pairs])
    by_pair = {(row["requested_integration_id"], row["requested_shop_id"]): row for row in rows}
    probes = {(r.integration_id, r.shop_id): r for r in requests}
    for pair in pairs:
        row = by_pair[pair]
        problem = _target_error(probes[pair], None if row["integration_id"] is None else row)
        if problem is not None:
            raise ValidationFailed(problem)
    return by_pair


class _IdempotencyRace(Exception):
    pass


def _task_row(request: EnqueueRequest, target: Mapping[str, Any] | asyncpg.Record) -> dict[str, Any]:
    """The enqueue_insert columns of one request, with the account and platform its target resolved."""
    return {
        "integration_id": request.integration_id,
        "account_id": target["account_id"],
        "shop_id": request.shop_id,
        "task_type": request.task_type,
        "direction": request.direction,
        "priority": request.priority,
        "scheduled_at": request.scheduled_at,
        "filter_criteria": request.filter_criteria,
        "max_retries": request.max_retries,
        "platform": target["platform"],
        "created_by": request.created_by,
    }


def _rounds(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split rows so no statement touches one dedupe key twice (ON CONFLICT cannot update a row twice)."""
    rounds: list[list[dict[str, Any]]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        key = (row["integration_id"], row["shop_id"], row["task_type"], row["direction"])
        index = seen.get(key, 0)
        seen[key] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(row)
    return rounds


def _columns(rows: list[dict[str, Any]]) -> list[list[Any]]:
    order = [
        "integration_id",
        "account_id",
        "shop_id",
        "task_type",
        "direction",
        "priority",
        "scheduled_at",
        "filter_criteria",
        "max_retries",
        "platform",
        "created_by",
    ]
    return [[row[name] for row in rows] for name in order]
