"""Capped exponential backoff with full jitter (AWS architecture blog), honouring a platform's Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable


def retry_delay(
    retry_count: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds before retry number ``retry_count + 1``: uniform in [0, min(cap, base * 2**retry_count)],
    and never sooner than ``retry_after``."""
    ceiling = min(cap, base * (2 ** min(retry_count, 32)))
    delay = rng(0.0, ceiling)
    return max(delay, retry_after or 0.0)
