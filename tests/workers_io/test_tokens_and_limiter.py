"""Account tokens under a row lock, and the PostgreSQL rate limiter, against the real database."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.secret import Secret
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, generate_key_entry
from nfsync.workers.engine.runtime import engine_pool
from nfsync.workers.ratelimit import PostgresRateLimiter
from nfsync.workers.tokens import AccountTokenProvider, store_pair
from tests.conftest import make_integration, make_organization

KEYRING = Keyring.parse(generate_key_entry("t1"))


async def _account(conn: asyncpg.Connection, expires_in: timedelta = timedelta(hours=4)) -> tuple[uuid.UUID, str]:
    org = await make_organization(conn)
    integration = await make_integration(conn, org)
    account = await conn.fetchval(
        "INSERT INTO marketplace_accounts (organization_id, integration_id, name, platform, platform_account_id)"
        " VALUES ($1, $2, 'a', 'shopee', '1') RETURNING id",
        org,
        integration,
    )
    pair = TokenPair(
        access_token=Secret("access-0"),
        refresh_token=Secret("refresh-0"),
        access_expires_at=datetime.now(UTC) + expires_in,
    )
    await store_pair(conn, KEYRING, account, org, pair)
    return account, org


class CountingRefresher:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, refresh_token: Secret) -> TokenPair:
        self.calls += 1
        await asyncio.sleep(0.05)  # a platform round trip, while others queue on the row lock
        n = self.calls
        return TokenPair(
            access_token=Secret(f"access-{n}"),
            refresh_token=Secret(f"refresh-{n}"),
            access_expires_at=datetime.now(UTC) + timedelta(hours=4),
        )


async def test_ten_processes_refresh_once(database: Settings, conn: asyncpg.Connection) -> None:
    account, _ = await _account(conn)
    refresher = CountingRefresher()
    pools = [await engine_pool(database, f"p{i}", max_size=2) for i in range(10)]
    try:
        providers = [AccountTokenProvider(pool, KEYRING, account, refresher) for pool in pools]
        stale = [await p.current() for p in providers]
        fresh = await asyncio.gather(*[p.refresh(s) for p, s in zip(providers, stale, strict=True)])
    finally:
        for pool in pools:
            await pool.close()
    assert refresher.calls == 1, "a single-use refresh token is spent once"
    assert {f.access_token.reveal() for f in fresh} == {"access-1"}
    row = await conn.fetchrow("SELECT token_version, access_token FROM marketplace_accounts WHERE id = $1", account)
    assert row["token_version"] == 2 and row["access_token"].startswith("enc:v1:t1:")


async def test_refresh_ahead_of_expiry(database: Settings, conn: asyncpg.Connection) -> None:
    account, _ = await _account(conn, expires_in=timedelta(minutes=1))
    refresher = CountingRefresher()
    pool = await engine_pool(database, "p", max_size=2)
    try:
        pair = await AccountTokenProvider(pool, KEYRING, account, refresher).current()
    finally:
        await pool.close()
    assert refresher.calls == 1 and pair.access_token.reveal() == "access-1"


async def test_refused_refresh_marks_account_for_reauthorization(database: Settings, conn: asyncpg.Connection) -> None:
    account, _ = await _account(conn)

    async def refused(_token: Secret) -> TokenPair:
        raise PermanentError("shopee error error_shop_refresh_token: invalid refresh token")

    pool = await engine_pool(database, "p", max_size=2)
    try:
        provider = AccountTokenProvider(pool, KEYRING, account, refused)
        with pytest.raises(ReauthorizationNeeded, match="re-authorization needed"):
            await provider.refresh(await provider.current())
        with pytest.raises(ReauthorizationNeeded):
            await AccountTokenProvider(pool, KEYRING, account, refused).current()
    finally:
        await pool.close()
    row = await conn.fetchrow("SELECT status, error_message FROM marketplace_accounts WHERE id = $1", account)
    assert row["status"] == "error" and "re-authorization needed" in row["error_message"]


def _rejections(stamps: list[float], rate: float) -> int:
    """Replays call times through a platform-side bucket (one second of budget, as the sandboxes keep)."""
    tokens, last, rejected = rate, stamps[0], 0
    for stamp in sorted(stamps):
        tokens = min(rate, tokens + (stamp - last) * rate)
        last = stamp
        if tokens < 1:
            rejected += 1
        else:
            tokens -= 1
    return rejected


async def test_limiter_shared_by_three_pools_stays_under_the_limit(database: Settings) -> None:
    rate, seconds = 40.0, 4.0
    pools = [await engine_pool(database, f"l{i}", max_size=2) for i in range(3)]
    stamps: list[float] = []
    limiters = [PostgresRateLimiter(pool) for pool in pools]

    async def hammer(limiter: PostgresRateLimiter, deadline: float) -> None:
        while time.monotonic() < deadline:
            await limiter.acquire("shopee:app:shop:default", rate)
            stamps.append(time.monotonic())

    try:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*[hammer(lim, deadline) for lim in limiters for _ in range(4)])
    finally:
        for pool in pools:
            await pool.close()
    assert _rejections(stamps, rate) == 0, "a one-second platform bucket would never throttle us"
    used = len(stamps) / (rate * seconds)
    assert used >= 0.9, f"only {used:.0%} of the limit used"
    statements = sum(lim.statements for lim in limiters)
    assert statements < len(stamps) / 2, "tokens are leased in chunks, not one statement per call"


async def test_throttle_pauses_every_process(database: Settings) -> None:
    pools = [await engine_pool(database, f"t{i}", max_size=2) for i in range(2)]
    try:
        first, second = PostgresRateLimiter(pools[0]), PostgresRateLimiter(pools[1])
        await first.acquire("k", 100)
        await first.throttled("k", 0.5)
        started = time.monotonic()
        await second.acquire("k", 100)
        assert time.monotonic() - started >= 0.45, "the other process waited out the pause"
    finally:
        for pool in pools:
            await pool.close()
