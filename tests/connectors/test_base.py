"""The shared connector base: the error-action defaults, the in-process limiter and token holder."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider, expires_soon
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.policy import Action, ErrorTable, Rule
from nfsync.connectors.base.secret import Secret


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        (200, None, Action.OK),
        (401, None, Action.REFRESH),
        (429, None, Action.THROTTLE),
        (503, None, Action.RETRY),
        (404, None, Action.PERMANENT),
        (200, "some_error", Action.PERMANENT),
    ],
)
def test_default_actions(status: int, code: str | None, action: Action) -> None:
    assert ErrorTable([]).classify(status, code) is action


def test_rules_come_before_defaults() -> None:
    table = ErrorTable(
        [
            Rule(Action.THROTTLE, code="ApiCallLimit"),
            Rule(Action.RETRY, code_prefix="E9"),
            Rule(Action.REAUTHORIZE, status=401, code="IllegalRefreshToken"),
        ]
    )
    assert table.classify(200, "ApiCallLimit") is Action.THROTTLE
    assert table.classify(200, "E901") is Action.RETRY
    assert table.classify(401, "IllegalRefreshToken") is Action.REAUTHORIZE
    assert table.classify(401, "other") is Action.REFRESH


async def test_local_limiter_paces_and_pauses() -> None:
    limiter = LocalRateLimiter()
    started = time.monotonic()
    for _ in range(30):
        await limiter.acquire("k", 50)
    elapsed = time.monotonic() - started
    assert elapsed >= (30 - 25) / 50 - 0.02, "beyond the half-second burst, calls are paced at the rate"
    await limiter.throttled("k", 0.3)
    paused = time.monotonic()
    await limiter.acquire("k", 50)
    assert time.monotonic() - paused >= 0.28


async def test_memory_token_provider_is_single_flight_and_refreshes_ahead() -> None:
    calls = 0

    async def refresher(_token: Secret) -> TokenPair:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return TokenPair(
            access_token=Secret(f"a{calls}"),
            refresh_token=Secret(f"r{calls}"),
            access_expires_at=datetime.now(UTC) + timedelta(hours=1),
        )

    soon = TokenPair(
        access_token=Secret("a0"),
        refresh_token=Secret("r0"),
        access_expires_at=datetime.now(UTC) + timedelta(minutes=1),
    )
    assert expires_soon(soon)
    provider = MemoryTokenProvider(soon, refresher)
    results = await asyncio.gather(*[provider.current() for _ in range(10)])
    assert calls == 1 and {r.access_token.reveal() for r in results} == {"a1"}
