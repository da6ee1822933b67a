"""Request rate limits of the HTTP service: a token bucket per API token and one per client address (for calls
that carry no valid credential). Over the limit a call gets 429 with ``Retry-After``. Webhook pushes are not limited
here (a platform's burst during a flash sale must not be dropped; they are authenticated by signature and bounded by
size and read deadline). The buckets live in each API process: with N processes the effective limit is up to N
times the setting. Behind a reverse proxy every client has the proxy's address: set ``NFSYNC_API_RATE_PER_IP=0``
and limit per client at the proxy."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web


class RequestLimiter:
    """Token buckets (``rate`` per second, ``2 * rate`` burst) for at most ``max_keys`` keys, least recently used
    forgotten first (a spray of fresh keys costs memory it cannot grow past)."""

    def __init__(self, rate: float, max_keys: int = 50_000) -> None:
        self.rate = rate
        self.burst = 2.0 * rate
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def wait(self, key: str, now: float | None = None) -> float:
        """0 when the call may go now (and takes a token); else seconds until it may."""
        if self.rate <= 0:
            return 0.0
        at = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, at))
        tokens = min(self.burst, tokens + (at - last) * self.rate)
        if tokens >= 1.0:
            tokens -= 1.0
            waited = 0.0
        else:
            waited = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, at)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return waited


@dataclass(frozen=True)
class Limits:
    per_token: RequestLimiter
    per_ip: RequestLimiter


def enforce(limiter: RequestLimiter, key: str) -> None:
    waited = limiter.wait(key)
    if waited > 0:
        raise web.HTTPTooManyRequests(
            reason="too many requests; slow down", headers={"Retry-After": str(max(1, math.ceil(waited)))}
        )
