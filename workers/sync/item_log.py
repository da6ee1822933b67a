"""Item outcomes: one ``sync_logs`` row per item (created, updated, skipped, failed with reason and platform error
code), copied in batches, plus the counts the task's progress and summary are made of."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
FLUSH_EVERY = 500
EntityType = Literal["product", "variant", "inventory", "price", "order", "shop", "account"]
ItemAction = Literal["create", "update", "delete", "skip", "import", "match", "refresh", "check"]
ItemStatus = Literal["success", "skipped", "failed"]
"""The values sync_logs' CHECK constraints accept (schema.sql; tests/sync/test_item_log_vocabulary.py pins them)."""
ValueEntity = Literal["inventory", "price"]  # the entities a value push writes
ENTITY_TYPES, ITEM_ACTIONS, ITEM_STATUSES = get_args(EntityType), get_args(ItemAction), get_args(ItemStatus)
_COLUMNS = [
    "created_at",
    "organization_id",
    "integration_id",
    "shop_id",
    "task_id",
    "task_type",
    "direction",
    "entity_type",
    "entity_id",
    "platform_entity_id",
    "action",
    "status",
    "error_code",
    "error_message",
    "details",
]
# The plural noun per entity type, for the task summary ("2 products could not be synced: ...").
_NOUNS: dict[EntityType, tuple[str, str]] = {
    "product": ("product", "products"),
    "variant": ("variant", "variants"),
    "inventory": ("stock level", "stock levels"),
    "price": ("price", "prices"),
    "order": ("order", "orders"),
    "shop": ("shop", "shops"),
    "account": ("account", "accounts"),
}


@dataclass
class ItemLog:
    ctx: TaskContext
    pool: Any
    shop_id: Any
    pending: list[tuple[Any, ...]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    failures: Counter[tuple[EntityType, str]] = field(default_factory=Counter)  # (entity type, reason) -> count
    unmatched: list[str] = field(default_factory=list)

    async def add(
        self,
        entity_type: EntityType,
        action: ItemAction,
        status: ItemStatus,
        *,
        entity_id: str | None = None,
        platform_entity_id: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record one item outcome; counts it in the task's progress."""
        task = self.ctx.task
        self.pending.append(
            (
                datetime.now(UTC).replace(tzinfo=None),
                task.organization_id,
                task.integration_id,
                self.shop_id,
                task.id,
                task.task_type,
                task.direction,
                entity_type,
                entity_id,
                platform_entity_id,
                action,
                status,
                error_code,
                (error_message or None) and error_message[:2000],
                None if details is None else json.loads(json.dumps(details, default=str)),
            )
        )
        self.counts[f"{action}:{status}"] += 1
        self.counts[status] += 1
        if status == "failed":
            self.failures[(entity_type, _reason(error_message))] += 1
            self.ctx.report(processed=1, failed=1)
        else:
            self.ctx.report(processed=1, successful=1)
        if len(self.pending) >= FLUSH_EVERY:
            await self.flush()

    def tally(self, action: ItemAction, status: ItemStatus, count: int = 1) -> None:
        """Outcomes counted in the task's progress and result without a ``sync_logs`` row: products found unchanged
        (an hourly re-sync of a large catalog would otherwise write a row per product and find nothing)."""
        self.counts[f"{action}:{status}"] += count
        self.counts[status] += count
        self.ctx.report(processed=count, successful=count)

    async def flush(self) -> None:
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        async with self.pool.acquire() as conn:
            await conn.copy_records_to_table("sync_logs", records=rows, columns=_COLUMNS)

    def summary(self) -> str | None:
        """The task's error_message when items failed, the way the seed's example reads:
        "2 products could not be synced: missing required fields"."""
        if not self.failures:
            return None
        parts = []
        by_type: Counter[EntityType] = Counter()
        for (entity_type, _), count in self.failures.items():
            by_type[entity_type] += count
        for entity_type, count in by_type.most_common():
            reasons = [r for (t, r), _ in self.failures.most_common() if t == entity_type]
            singular, plural = _NOUNS.get(entity_type, (entity_type, entity_type + "s"))
            noun = singular if count == 1 else plural
            shown = "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
            parts.append(f"{count} {noun} could not be synced: {shown}")
        return ". ".join(parts)[:2000]

    def result(self, **extra: Any) -> dict[str, Any]:
        """The task's ``result``: counts per action and status, plus what the handler adds."""
        result: dict[str, Any] = {"items": dict(sorted(self.counts.items()))}
        if self.unmatched:
            result["unmatched_skus"] = self.unmatched[:100]
            result["unmatched_count"] = len(self.unmatched)
        result.update(extra)
        summary = self.summary()
        if summary:
            result["error_message"] = summary
        return result


def _reason(message: str | None) -> str:
    return (message or "unknown error").strip()[:200]
