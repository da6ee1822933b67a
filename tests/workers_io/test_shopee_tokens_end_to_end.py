"""Shopee's single-use refresh token through the real stack: the PostgreSQL token store, the Shopee client and the
Shopee sandbox over HTTP. Ten processes' providers refresh at once; the sandbox sees exactly one refresh."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from nfsync.connectors.base.auth import LocalRateLimiter
from nfsync.connectors.base.client import AppCredentials, ClientSettings
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, generate_key_entry
from nfsync.workers.engine.runtime import engine_pool
from nfsync.workers.tokens import AccountTokenProvider, store_pair
from tests.conftest import make_integration, make_organization

KEYRING = Keyring.parse(generate_key_entry("e2e"))


async def test_ten_processes_one_shopee_refresh(database: Settings, conn: asyncpg.Connection) -> None:
    spec = load_sandbox("shopee")
    sandbox = spec.sandbox(dict(spec.sample_app))
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop("880001", access_token="stale-access-0001", refresh_token="refresh-0001")
        org = await make_organization(conn)
        integration = await make_integration(conn, org)
        account = await conn.fetchval(
            "INSERT INTO marketplace_accounts (organization_id, integration_id, name, platform, platform_account_id)"
            " VALUES ($1, $2, 'a', 'shopee', '880001') RETURNING id",
            org,
            integration,
        )
        soon = datetime.now(UTC) + timedelta(minutes=1)  # inside the refresh-ahead margin
        await store_pair(
            conn,
            KEYRING,
            account,
            org,
            TokenPair(
                access_token=Secret("stale-access-0001"), refresh_token=Secret("refresh-0001"), access_expires_at=soon
            ),
        )
        pools = [await engine_pool(database, f"proc{i}", max_size=2) for i in range(10)]
        try:
            clients = []
            for pool in pools:
                tokens = AccountTokenProvider(pool, KEYRING, account)
                client = spec.client(
                    ClientSettings(base_url=sandbox.base_url),
                    AppCredentials(dict(spec.sample_app)),
                    spec.shop_ref(shop, sandbox.base_url),
                    session=session,
                    tokens=tokens,
                    limiter=LocalRateLimiter(),
                )
                tokens.bind(client.refresh_access)
                clients.append(client)
            infos = await asyncio.gather(*[c.get_shop_info() for c in clients])
        finally:
            for pool in pools:
                await pool.close()
        assert sandbox.counters.refreshes == 1, "the single-use refresh token was spent exactly once"
        assert {i.platform_shop_id for i in infos} == {"880001"}
        version = await conn.fetchval("SELECT token_version FROM marketplace_accounts WHERE id = $1", account)
        assert version == 2
