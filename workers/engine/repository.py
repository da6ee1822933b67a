"""The worker's statements: claims, fenced outcomes, heartbeats, progress, cancellation flags - each one round
trip for a whole batch."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.handlers import Progress
from nfsync.workers.engine.models import ClaimedTask, Outcome


@dataclass(frozen=True)
class OutcomeRecord:
    task_id: uuid.UUID
    attempt: int
    outcome: Outcome
    error_message: str | None
    progress: Progress | None
    result: dict[str, Any] | None
    retry_delay: float = 0.0


class Repository:
    def __init__(self, pool: asyncpg.Pool, owner: str) -> None:
        self._pool = pool
        self.owner = owner

    async def claim(
        self, platform: str, limit: int, lease_seconds: float, task_types: Sequence[str]
    ) -> list[ClaimedTask]:
        rows = await self._pool.fetch(
            QUERIES["claim_tasks"], platform, limit, limit + limit // 4 + 1, self.owner, lease_seconds, list(task_types)
        )
        # rows come from our own schema: construct without re-validating (this is the per-task hot path)
        return [ClaimedTask.model_construct(**dict(row)) for row in rows]

    async def finish(self, records: Sequence[OutcomeRecord]) -> dict[uuid.UUID, tuple[str, str]]:
        """Writes the outcomes; returns {task id: (new status, platform)} for those the fence let through."""
        progress = [r.progress for r in records]
        rows = await self._pool.fetch(
            QUERIES["finish_tasks"],
            self.owner,
            [r.task_id for r in records],
            [r.attempt for r in records],
            [r.outcome for r in records],
            [r.error_message for r in records],
            [p.total if p else None for p in progress],
            [p.processed if p else None for p in progress],
            [p.successful if p else None for p in progress],
            [p.failed if p else None for p in progress],
            [r.result for r in records],
            [r.retry_delay for r in records],
        )
        return {row["id"]: (row["status"], row["platform"]) for row in rows}

    async def heartbeat(self, held: Sequence[tuple[uuid.UUID, int]], lease_seconds: float) -> dict[uuid.UUID, bool]:
        """Extends the leases still ours; returns {task id: cancellation requested}."""
        rows = await self._pool.fetch(
            QUERIES["heartbeat_tasks"], self.owner, [t for t, _ in held], [a for _, a in held], lease_seconds
        )
        return {row["id"]: row["cancel_requested"] for row in rows}

    async def save_progress(self, items: Sequence[tuple[uuid.UUID, int, Progress]]) -> None:
        await self._pool.execute(
            QUERIES["progress_tasks"],
            self.owner,
            [t for t, _, _ in items],
            [a for _, a, _ in items],
            [p.total for _, _, p in items],
            [p.processed for _, _, p in items],
            [p.successful for _, _, p in items],
            [p.failed for _, _, p in items],
        )

    async def cancel_requested(self, task_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self._pool.fetch(QUERIES["cancel_requested"], list(task_ids))
        return {row["id"] for row in rows}

    async def register(self, hostname: str, pid: int, platforms: Sequence[str], concurrency: int) -> None:
        await self._pool.execute(QUERIES["worker_register"], self.owner, hostname, pid, list(platforms), concurrency)

    async def worker_heartbeat(self, running: int, stopping: bool) -> None:
        await self._pool.execute(QUERIES["worker_heartbeat"], self.owner, running, stopping)

    async def unregister(self) -> None:
        await self._pool.execute(QUERIES["worker_unregister"], self.owner)
