"""Engine fixtures: short leases, a runtime on the per-test database, shops to enqueue for."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import pytest

from nfsync.workers.config import Settings
from nfsync.workers.engine.handlers import HandlerRegistry
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.runtime import Runtime, runtime
from nfsync.workers.engine.worker import Worker
from nfsync.workers.lab.diagnostics import REGISTRY
from nfsync.workers.lab.seed import seed_platform_shops

FAST = {
    "lease_seconds": 3.0,
    "idle_poll_seconds": 0.5,
    "progress_interval": 0.2,
    "scheduler_tick": 0.2,
    "redispatch_after": 1.0,
    "retry_base_seconds": 0.2,
    "retry_max_seconds": 1.0,
    "shutdown_grace": 2.0,
    "publish_timeout": 3.0,
    "amqp_startup_timeout": 5.0,
}


async def wait_until(predicate: Callable[[], Awaitable[bool]], seconds: float = 20.0, what: str = "condition") -> None:
    """Wait for a condition observed in the database, with a deadline."""
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class World:
    settings: Settings
    rt: Runtime
    org: uuid.UUID
    integrations: dict[str, uuid.UUID]
    shops: dict[str, list[uuid.UUID]]

    def request(self, platform: str = "shopee", shop: int = 0, **fields: object) -> EnqueueRequest:
        values: dict[str, object] = {
            "organization_id": self.org,
            "integration_id": self.integrations[platform],
            "shop_id": self.shops[platform][shop],
            "task_type": "product_sync",
            "direction": "crm_to_marketplace",
        }
        values.update(fields)
        return EnqueueRequest.model_validate(values)

    async def count(self, where: str = "true", *args: object) -> int:
        return int(await self.rt.pool.fetchval(f"SELECT count(*) FROM sync_tasks WHERE {where}", *args))

    async def all_terminal(self) -> bool:
        return await self.count("status NOT IN ('completed', 'failed', 'cancelled')") == 0


@pytest.fixture
def engine_settings(database: Settings) -> Settings:
    return database.model_copy(update=FAST)


@pytest.fixture
async def world(engine_settings: Settings) -> AsyncIterator[World]:
    async with runtime(engine_settings, "nfsync-test", pool_size=12) as rt:
        org = await rt.pool.fetchval("INSERT INTO organizations (name) VALUES ('Test org') RETURNING id")
        integrations, shops = {}, {}
        for platform in ("shopee", "lazada", "tiktok", "woocommerce"):
            integrations[platform], shops[platform] = await seed_platform_shops(rt.pool, org, platform, 20)
        yield World(engine_settings, rt, org, integrations, shops)


@contextlib.asynccontextmanager
async def running_worker(
    world: World,
    platforms: Sequence[str] = ("shopee",),
    registry: HandlerRegistry = REGISTRY,
    concurrency: int = 20,
    broker: bool = True,
) -> AsyncIterator[Worker]:
    worker = Worker(
        world.settings,
        registry,
        platforms,
        pool=world.rt.pool,
        connection=world.rt.connection if broker else None,
        concurrency=concurrency,
    )
    await worker.start()
    try:
        yield worker
    finally:
        await worker.shutdown()
