"""Where a client gets its credentials and its call budget. Both are interfaces: the in-memory versions here
serve tests, the demo and the sandbox; the task engine supplies PostgreSQL-backed ones (workers/tokens.py, the
global limiter in workers/ratelimit.py), shared by every process and host."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.secret import Secret

Refresher = Callable[[Secret], Awaitable[TokenPair]]
REFRESH_AHEAD = timedelta(minutes=5)


class TokenProvider(Protocol):
    async def current(self) -> TokenPair:
        """The credentials to use now (refreshed first when they expire within REFRESH_AHEAD)."""
        ...

    async def refresh(self, stale: TokenPair) -> TokenPair:
        """Replace ``stale`` (refused by the platform). Single-flight: when another caller already refreshed,
        return its result instead of spending the refresh token again."""
        ...


class RateLimiter(Protocol):
    async def acquire(self, key: str, rate: float) -> None:
        """Wait for one call's budget of ``key`` (``rate`` calls per second)."""
        ...

    async def throttled(self, key: str, pause: float) -> None:
        """The platform said slow down: hold every caller of ``key`` for ``pause`` seconds."""
        ...


def expires_soon(pair: TokenPair, now: datetime | None = None) -> bool:
    if pair.access_expires_at is None or pair.refresh_token is None:
        return False
    return pair.access_expires_at - (now or datetime.now(UTC)) < REFRESH_AHEAD


class MemoryTokenProvider:
    """One process's token holder: refreshes ahead of expiry, one refresh at a time."""

    def __init__(self, pair: TokenPair, refresher: Refresher | None = None) -> None:
        self._pair = pair
        self._refresher = refresher
        self._lock = asyncio.Lock()

    def bind(self, refresher: Refresher) -> None:
        self._refresher = refresher

    async def current(self) -> TokenPair:
        if expires_soon(self._pair):
            return await self.refresh(self._pair)
        return self._pair

    async def refresh(self, stale: TokenPair) -> TokenPair:
        async with self._lock:
            if self._pair.access_token != stale.access_token:
                return self._pair  # someone refreshed while we waited
            if self._refresher is None or self._pair.refresh_token is None:
                return self._pair
            self._pair = await self._refresher(self._pair.refresh_token)
            return self._pair


class LocalRateLimiter:
    """A token bucket per key, in this process only (bucket = half a second of budget)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._paused: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, key: str, rate: float) -> None:
        while True:
            async with self._lock:
                wait = self._take(key, rate, time.monotonic())
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def _take(self, key: str, rate: float, now: float) -> float:
        paused = self._paused.get(key, 0.0) - now
        if paused > 0:
            return paused
        capacity = max(1.0, rate / 2)
        tokens, stamp = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - stamp) * rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / rate

    async def throttled(self, key: str, pause: float) -> None:
        self._paused[key] = max(self._paused.get(key, 0.0), time.monotonic() + pause)
