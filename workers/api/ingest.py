"""Group commit for the webhook hot path: pushes that ask for work are stored many at a time.

Each push that asks for work (an order status, a product change) becomes an :class:`IngestItem`. While fewer than
``concurrency`` batches are at the database, an item goes at once, alone: at a low rate nothing waits. When pushes
arrive faster than the database answers, they queue, and the next free slot takes up to ``max_batch`` of them into
one ``webhook_ingest_batch`` statement - one round trip, one transaction, one commit (and WAL flush) for the
batch, which is what lets a 2-core machine take thousands of durable pushes a second. Every caller still gets
its own answer only after its push has committed.

A batch that PostgreSQL refuses for what one push carried (JSON it will not store) is split: each push is tried
alone, so only that push falls back to the general path. Any other failure (the database unreachable) fails every
push of the batch, and each caller answers 503 so the platform retries.

Locks. A batch locks the pending tasks its pushes join, in dedupe-key order, so two batches never deadlock. But
PostgreSQL keeps the lock on a task a worker claimed after the batch's snapshot (the row failed the re-check, the
lock stays), and a worker's batched outcome statement may then wait for the batch while holding a task the batch
waits for. The batch's connections therefore give up waiting for a lock after LOCK_TIMEOUT_MS - long before
PostgreSQL's deadlock check (1 s) would abort either side - and the batch runs again on a fresh snapshot (up to
ATTEMPTS times): the worker never waits long and never sees an error.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from nfsync.workers.config import Settings
from nfsync.workers.db.connect import create_pool
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger

log = get_logger(__name__)

MAX_BATCH = 200
CONCURRENCY = 1  # batches at the database at once, per API process: the queue behind it is what makes batches
ATTEMPTS = 3  # runs of a batch that lost a lock wait (timeout or deadlock) before its callers answer 503
LOCK_TIMEOUT_MS = 200
_LOCK_LOST = (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError)


async def ingest_pool(settings: Settings, application: str = "nfsync-api-ingest") -> asyncpg.Pool:
    """The batcher's own connections: CONCURRENCY of them (one spare), each with the short lock timeout."""
    return await create_pool(
        settings, application=application, min_size=1, max_size=CONCURRENCY + 1, init=_init_connection, stateless=True
    )


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.execute(QUERIES["webhook_ingest_session"], f"{LOCK_TIMEOUT_MS}ms")


@dataclass(slots=True)
class IngestItem:
    """One push to store, with the work it asks for. JSON fields are text (stored as they came)."""

    organization_id: uuid.UUID
    integration_id: uuid.UUID
    platform: str
    kind: str
    dedupe_key: str
    platform_shop_id: str | None
    entity_id: str | None
    status: str | None
    headers: str
    payload: str
    task_type: str
    priority: int
    filter_criteria: str | None


@dataclass(frozen=True)
class Ingested:
    webhook_id: uuid.UUID
    task_id: uuid.UUID
    shop_id: uuid.UUID


_Waiting = tuple[IngestItem, "asyncio.Future[Ingested | None]"]


class IngestBatcher:
    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = MAX_BATCH, concurrency: int = CONCURRENCY) -> None:
        if max_batch < 1 or concurrency < 1:
            raise ValueError("max_batch and concurrency must be at least 1")
        self._pool = pool
        self._max_batch = max_batch
        self._concurrency = concurrency
        self._queue: list[_Waiting] = []
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0  # statements sent, for tests and the benchmark
        self.items = 0

    async def ingest(self, item: IngestItem) -> Ingested | None:
        """Store ``item`` and its work; None when nothing was written (the general path decides)."""
        future: asyncio.Future[Ingested | None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if len(self._running) < self._concurrency:
            self._start_batch()
        return await future

    def _start_batch(self) -> None:
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        job = asyncio.get_running_loop().create_task(self._run(batch))
        self._running.add(job)
        job.add_done_callback(self._finished)

    def _finished(self, job: asyncio.Task[None]) -> None:
        self._running.discard(job)
        if self._queue and len(self._running) < self._concurrency:
            self._start_batch()

    async def _run(self, batch: list[_Waiting]) -> None:
        try:
            results = await self._store([item for item, _ in batch])
        except asyncpg.DataError:
            if len(batch) == 1:  # PostgreSQL refuses what this push carries: the general path decides
                results = [None]
            else:
                await asyncio.gather(*(self._run([waiting]) for waiting in batch))
                return
        except Exception as exc:  # the database is unreachable or failed: every caller answers 503
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _store(self, items: Sequence[IngestItem]) -> list[Ingested | None]:
        """One statement for the batch, run again when it lost a lock wait (see the module doc). Within a batch a
        dedupe key counts once: a repeat gets None."""
        self.batches += 1
        self.items += len(items)
        first: dict[tuple[uuid.UUID, str], int] = {}
        for index, item in enumerate(items):
            first.setdefault((item.integration_id, item.dedupe_key), index)
        unique = [items[index] for index in first.values()]
        for attempt in range(1, ATTEMPTS + 1):
            try:
                rows = await self._fetch(unique)
                break
            except _LOCK_LOST as exc:
                log.info("webhook.batch_lock_lost", attempt=attempt, pushes=len(unique), error=type(exc).__name__)
                if attempt == ATTEMPTS:
                    raise
        stored = {(row["integration_id"], row["dedupe_key"]): row for row in rows}
        results: list[Ingested | None] = [None] * len(items)
        for key, index in first.items():
            row = stored.get(key)
            if row is not None:
                results[index] = Ingested(row["id"], row["task_id"], row["shop_id"])
        return results

    async def _fetch(self, items: Sequence[IngestItem]) -> list[asyncpg.Record]:
        return await self._pool.fetch(
            QUERIES["webhook_ingest_batch"],
            [i.organization_id for i in items],
            [i.integration_id for i in items],
            [i.platform for i in items],
            [i.kind for i in items],
            [i.dedupe_key for i in items],
            [i.platform_shop_id for i in items],
            [i.entity_id for i in items],
            [i.status for i in items],
            [i.headers for i in items],
            [i.payload for i in items],
            [i.task_type for i in items],
            [i.priority for i in items],
            [i.filter_criteria for i in items],
        )
