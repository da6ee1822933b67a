"""The global rate limiter: token buckets in PostgreSQL, shared by every worker process and host.

A process reserves tokens in chunks - about a tenth of a second of budget at a time - and spends them locally,
so the database sees one statement per chunk, not one per marketplace call. A reservation may run the bucket
into debt: the process then sleeps until its chunk is due, which serves concurrent processes in turn. Leased
tokens not spent within ``LEASE_SECONDS`` are handed back. A throttle signal from the platform pauses the key in
the database, so every process slows down, not only the one that was told. The bucket holds half a second of
budget: a burst stays well inside a platform that allows one second's worth.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import asyncpg

from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
LEASE_SECONDS = 0.25
CHUNK_SECONDS = 0.1


@dataclass
class _Lease:
    tokens: int = 0
    expires: float = 0.0
    paused_until: float = 0.0


class PostgresRateLimiter:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._leases: dict[str, _Lease] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.statements = 0

    async def acquire(self, key: str, rate: float) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            lease = self._leases.setdefault(key, _Lease())
            while not self._spend(lease):
                await self._refill(key, rate, lease)

    def _spend(self, lease: _Lease) -> bool:
        if lease.tokens > 0 and time.monotonic() < lease.expires:
            lease.tokens -= 1
            return True
        return False

    async def _refill(self, key: str, rate: float, lease: _Lease) -> None:
        if lease.tokens > 0:  # expired unspent tokens go back to everyone
            await self._pool.execute(QUERIES["rate_return"], key, lease.tokens)
            lease.tokens = 0
        pause = lease.paused_until - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        want = max(1, round(rate * CHUNK_SECONDS))
        row = await self._pool.fetchrow(QUERIES["rate_lease"], key, float(rate), want)
        self.statements += 1
        assert row is not None
        wait = float(row["wait_seconds"])
        if row["granted"]:
            if wait > 0:
                await asyncio.sleep(wait)  # our reserved chunk is due then
            lease.tokens, lease.expires = row["granted"], time.monotonic() + LEASE_SECONDS
        else:  # paused by a throttle, or oversubscribed: jitter so waiting processes do not return together
            await asyncio.sleep(wait + random.uniform(0, CHUNK_SECONDS))  # noqa: S311

    async def throttled(self, key: str, pause: float) -> None:
        lease = self._leases.setdefault(key, _Lease())
        lease.tokens = 0
        lease.paused_until = time.monotonic() + pause
        await self._pool.execute(QUERIES["rate_pause"], key, float(pause))
        log.warning("ratelimit.throttled", key=key, pause=pause)
