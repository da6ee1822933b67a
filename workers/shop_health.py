"""Shop health (issue #17): one state per shop a merchant can act on, and the figures behind it.

States, the first that applies:

- ``needs_reauthorization``: the account's authorization was refused, revoked or has lapsed (the merchant must
  approve the app again);
- ``paused``: an operator paused the shop (its tasks wait) or deactivated it;
- ``failing``: a task type's latest outcome is a failure within the last 24 h, or half of the items tried in 24 h
  failed;
- ``degraded``: some task failed in 24 h, 5 % of the items failed, the shop is stale (no successful sync within its
  integration's ``sync_interval`` x 3), its last sync ended in error, or its authorization lapses within 7 days;
- ``healthy``.

Used by ``GET /v1/shops/{id}/health``, ``nfsync shops health`` and the dashboard's counts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

from nfsync.workers.db.queries import QUERIES

ShopState = Literal["healthy", "degraded", "failing", "needs_reauthorization", "paused"]
SHOP_STATES: tuple[ShopState, ...] = ("healthy", "degraded", "failing", "needs_reauthorization", "paused")
FAILING_RATE = 0.5
DEGRADED_RATE = 0.05
MIN_ITEMS_FOR_RATE = 10  # fewer items in 24 h say nothing about a rate
STALE_FACTOR = 3
EXPIRY_WARNING = timedelta(days=7)
RECENT = timedelta(hours=24)
Row = asyncpg.Record | Mapping[str, Any]  # a shop_health row


class TaskTypeHealth(BaseModel):
    task_type: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failures_24h: int


class ShopHealth(BaseModel):
    shop_id: uuid.UUID
    platform: str
    platform_shop_id: str
    shop_name: str
    state: ShopState
    reasons: list[str]
    paused_at: datetime | None
    shop_status: str
    account_status: str
    last_sync_at: datetime | None
    stale: bool
    pending_tasks: int
    running_tasks: int
    tasks: list[TaskTypeHealth]
    items_24h: int
    failed_items_24h: int
    item_error_rate_24h: float | None
    token_expires_at: datetime | None
    authorization_expires_at: datetime | None
    webhook_last_seen_at: datetime | None


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def _rate(items: int, failed: int) -> float | None:
    return round(failed / items, 4) if items >= MIN_ITEMS_FOR_RATE else None


def _stale(row: Row, now: datetime) -> bool:
    interval = row["sync_interval"]
    if not interval or row["paused_at"] is not None:
        return False
    last = _utc(row["last_sync_at"])
    return last is None or now - last > timedelta(minutes=interval * STALE_FACTOR)


def _reauthorization(row: Row, now: datetime) -> list[str]:
    reasons = []
    if row["account_status"] == "error":
        reasons.append("the account's authorization was refused or revoked")
    lapse = _utc(row["refresh_token_expires_at"])
    if lapse is not None and lapse <= now:
        reasons.append(f"the authorization lapsed at {lapse.isoformat()}")
    return reasons


def _failing(tasks: list[TaskTypeHealth], rate: float | None, now: datetime) -> list[str]:
    reasons = [
        f"{t.task_type} failed last ({t.last_error or 'no reason recorded'})"
        for t in tasks
        if t.last_failure_at is not None
        and now - t.last_failure_at <= RECENT
        and (t.last_success_at is None or t.last_success_at < t.last_failure_at)
    ]
    if rate is not None and rate >= FAILING_RATE:
        reasons.append(f"{rate:.0%} of the items tried in 24 h failed")
    return reasons


def _degraded(row: Row, tasks: list[TaskTypeHealth], rate: float | None, now: datetime) -> list[str]:
    reasons = [f"{t.task_type} failed {t.failures_24h} time(s) in 24 h" for t in tasks if t.failures_24h]
    if rate is not None and rate >= DEGRADED_RATE:
        reasons.append(f"{rate:.1%} of the items tried in 24 h failed")
    if _stale(row, now):
        reasons.append(f"no successful sync within {row['sync_interval'] * STALE_FACTOR} minutes")
    if row["sync_status"] == "error":
        reasons.append(f"the last sync ended in error: {row['error_message'] or 'no reason recorded'}")
    lapse = _utc(row["refresh_token_expires_at"])
    if lapse is not None and lapse - now <= EXPIRY_WARNING:
        reasons.append(f"the authorization lapses at {lapse.isoformat()}")
    return reasons


def classify(row: Row, tasks: list[TaskTypeHealth], now: datetime) -> tuple[ShopState, list[str]]:
    """The shop's state and why, from its ``shop_health`` row and its task types."""
    rate = _rate(row["items_24h"], row["failed_items_24h"])
    if reasons := _reauthorization(row, now):
        return "needs_reauthorization", reasons
    if row["paused_at"] is not None:
        return "paused", [f"paused at {_utc(row['paused_at']).isoformat()}"]  # type: ignore[union-attr]
    if row["shop_status"] != "active":
        return "paused", [f"the shop is {row['shop_status']}"]
    if reasons := _failing(tasks, rate, now):
        return "failing", reasons
    if reasons := _degraded(row, tasks, rate, now):
        return "degraded", reasons
    return "healthy", []


def _task_health(row: asyncpg.Record) -> TaskTypeHealth:
    return TaskTypeHealth(
        task_type=row["task_type"],
        last_success_at=_utc(row["last_success_at"]),
        last_failure_at=_utc(row["last_failure_at"]),
        last_error=row["last_error"],
        failures_24h=row["failures_24h"],
    )


def _health(row: asyncpg.Record, tasks: list[TaskTypeHealth], now: datetime) -> ShopHealth:
    state, reasons = classify(row, tasks, now)
    return ShopHealth(
        shop_id=row["id"],
        platform=row["platform"],
        platform_shop_id=row["platform_shop_id"],
        shop_name=row["shop_name"],
        state=state,
        reasons=reasons,
        paused_at=_utc(row["paused_at"]),
        shop_status=row["shop_status"],
        account_status=row["account_status"],
        last_sync_at=_utc(row["last_sync_at"]),
        stale=_stale(row, now),
        pending_tasks=row["pending_tasks"],
        running_tasks=row["running_tasks"],
        tasks=tasks,
        items_24h=row["items_24h"],
        failed_items_24h=row["failed_items_24h"],
        item_error_rate_24h=_rate(row["items_24h"], row["failed_items_24h"]),
        token_expires_at=_utc(row["token_expires_at"]),
        authorization_expires_at=_utc(row["refresh_token_expires_at"]),
        webhook_last_seen_at=_utc(row["webhook_last_seen_at"]),
    )


async def shop_health(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    shop_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    limit: int = 1000,
) -> list[ShopHealth]:
    """The health of one shop, or of an organization's (or every) shop, oldest shop first."""
    rows = await conn.fetch(QUERIES["shop_health"], shop_id, organization_id, limit)
    by_shop: dict[uuid.UUID, list[TaskTypeHealth]] = defaultdict(list)
    for task in await conn.fetch(QUERIES["shop_health_tasks"], [row["id"] for row in rows]):
        by_shop[task["shop_id"]].append(_task_health(task))
    now = datetime.now(UTC)
    return [_health(row, by_shop[row["id"]], now) for row in rows]
