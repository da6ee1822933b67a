"""Sync fixtures: a real database and RabbitMQ, a catalog in the CRM tables, one sandbox shop per platform over real
HTTP, and a worker running the real handlers (workers.sync:REGISTRY)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from nfsync.connectors.base.sandbox import SandboxBase
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.workers.api.app import api_runner, api_state
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.runtime import Runtime, runtime
from nfsync.workers.engine.worker import Worker
from nfsync.workers.lab.demo_data import DemoCatalog, seed_catalog
from nfsync.workers.lab.sandbox_shops import ConnectedShop, connect_shop, create_integration
from nfsync.workers.sync import REGISTRY
from nfsync.workers.sync.session import ShopSession, open_shop_by_id
from tests.api.conftest import free_port
from tests.engine.conftest import FAST, wait_until

PLATFORMS = ["shopee", "lazada", "tiktok", "woocommerce", "shopify"]


@dataclass
class SyncEnv:
    settings: Settings
    rt: Runtime
    org: uuid.UUID
    catalog: DemoCatalog
    shop: ConnectedShop
    worker: Worker

    @property
    def sandbox(self) -> SandboxBase:
        return self.shop.sandbox

    @property
    def pool(self) -> asyncpg.Pool:
        return self.rt.pool

    async def run(
        self,
        task_type: str,
        direction: str | None = None,
        filters: dict[str, Any] | None = None,
        seconds: float = 120.0,
    ) -> asyncpg.Record:
        """Enqueue a task for the shop and wait until it is terminal; returns its row."""
        directions = {"order_sync": "marketplace_to_crm", "shop_sync": "marketplace_to_crm"}
        request = EnqueueRequest(
            organization_id=self.org,
            integration_id=self.shop.integration_id,
            shop_id=self.shop.shop_id,
            task_type=task_type,  # type: ignore[arg-type]
            direction=direction or directions.get(task_type, "crm_to_marketplace"),  # type: ignore[arg-type]
            filter_criteria=filters,
            max_retries=2,
        )
        task_id = (await self.rt.service.enqueue(request)).task_id
        return await self.wait(task_id, seconds)

    async def wait(self, task_id: uuid.UUID, seconds: float = 120.0) -> asyncpg.Record:
        async def done() -> bool:
            status = await self.pool.fetchval("SELECT status FROM sync_tasks WHERE id = $1", task_id)
            return status in ("completed", "failed", "cancelled")

        await wait_until(done, seconds, f"task {task_id}")
        row = await self.pool.fetchrow("SELECT * FROM sync_tasks WHERE id = $1", task_id)
        assert row is not None
        return row

    def listings(self) -> list[Any]:
        return list(self.shop.sb_shop.listings.values())

    def sandbox_variant(self, sku: str) -> Any:
        found = self.sandbox.find_variant(self.shop.sb_shop, sku)
        assert found is not None, f"{sku} is not listed in the sandbox"
        return found[1]

    def write_calls(self) -> int:
        return sum(self.sandbox.counters.writes_per_sku.values())

    async def session(self, task_type: str = "product_sync", direction: str = "crm_to_marketplace") -> ShopSession:
        return await open_shop_by_id(self.worker.resources, self.shop.shop_id, task_type=task_type, direction=direction)

    async def stock(self, variant: str) -> tuple[Any, Any]:
        row = await self.pool.fetchrow('SELECT "onHand", reserved FROM "StockLevel" WHERE "variantId" = $1', variant)
        assert row is not None
        return row["onHand"], row["reserved"]


@pytest.fixture
def sync_settings(database: Settings, keyring_text: str) -> Settings:
    return database.model_copy(update={**FAST, "secret_keys": Secret(keyring_text)})


@contextlib.asynccontextmanager
async def sync_env(
    settings: Settings,
    platform: str,
    *,
    variants: int,
    rate: int = 1000,
    config: dict[str, Any] | None = None,
    api: bool = False,
) -> AsyncIterator[SyncEnv]:
    if api:
        port = free_port()
        settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
        async with api_state(settings) as state:
            runner = api_runner(state)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                async with sync_env(settings, platform, variants=variants, rate=rate, config=config) as env:
                    base = settings.public_base_url
                    env.sandbox.webhook_url = f"{base}/webhooks/{platform}/{env.shop.integration_id}"
                    yield env
            finally:
                await runner.cleanup()
        return
    spec = load_sandbox(platform)
    sandbox = spec.sandbox(dict(spec.sample_app), rate_limit=float("inf"))
    keyring = Keyring.from_secret(settings.secret_keys)
    async with sandbox.running(), runtime(settings, "nfsync-test", pool_size=16) as rt:
        org = await rt.pool.fetchval("INSERT INTO organizations (name) VALUES ('Sync org') RETURNING id")
        async with rt.pool.acquire() as conn:
            catalog = await seed_catalog(conn, organization_id=org, variants=variants)
            integration = await create_integration(
                conn, keyring, org, sandbox, name=f"{platform} main", rate_limit=rate, config=config
            )
        shop = await connect_shop(
            rt.pool, keyring, org, integration, sandbox, platform_shop_id="880001", channel_id=catalog.sale_channel_id
        )
        async with REGISTRY.open_resources(settings, rt.pool) as resources:
            worker = Worker(
                settings,
                REGISTRY,
                [platform],
                pool=rt.pool,
                connection=rt.connection,
                concurrency=8,
                resources=resources,
            )
            await worker.start()
            try:
                yield SyncEnv(settings, rt, org, catalog, shop, worker)
            finally:
                await worker.shutdown()


@pytest.fixture(params=PLATFORMS)
async def hooked(request: pytest.FixtureRequest, sync_settings: Settings) -> AsyncIterator[SyncEnv]:
    """An environment whose sandbox pushes its webhooks to a live API."""
    async with sync_env(sync_settings, request.param, variants=12, api=True) as made:
        yield made


@pytest.fixture(params=PLATFORMS)
async def env(request: pytest.FixtureRequest, sync_settings: Settings) -> AsyncIterator[SyncEnv]:
    async with sync_env(sync_settings, request.param, variants=60) as made:
        yield made
