"""What the sync handlers share in a worker process (pool, keyring, limiter, clients), and the per-task view of
one shop: its rows, its connector client with the account's tokens, its sync rules."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from nfsync.connectors.base.auth import RateLimiter
from nfsync.connectors.base.client import BaseClient
from nfsync.connectors.base.errors import ConfigError, PermanentError
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.engine.models import ClaimedTask, utcnow
from nfsync.workers.listing.media import ImageFetcher
from nfsync.workers.marketplaces import ClientFactory
from nfsync.workers.ratelimit import PostgresRateLimiter


@dataclass
class SyncResources:
    settings: Settings
    pool: asyncpg.Pool
    keyring: Keyring | None
    limiter: RateLimiter
    factory: ClientFactory
    images: ImageFetcher  # listings' images from their source URLs, through the outbound policy


@contextlib.asynccontextmanager
async def open_resources(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[SyncResources]:
    """For the lifetime of a worker: one limiter and one HTTP session per platform."""
    keyring = Keyring.from_secret(settings.secret_keys) if settings.secret_keys else None
    limiter = PostgresRateLimiter(pool)
    factory = ClientFactory(keyring, limiter, settings.marketplace_read_timeout, settings.outbound_policy)
    images = ImageFetcher(settings.outbound_policy)
    try:
        yield SyncResources(settings, pool, keyring, limiter, factory, images)
    finally:
        await factory.close()
        await images.close()


@dataclass
class ShopSession:
    """One task's shop: rows, client, rules."""

    ctx: TaskContext
    res: SyncResources
    row: asyncpg.Record
    client: BaseClient
    media_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one image upload at a time: none twice

    @property
    def shop_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.row["shop_id"]))

    @property
    def integration_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.row["id"]))

    @property
    def config(self) -> dict[str, Any]:
        config = self.row["config"]
        return config if isinstance(config, dict) else {}

    @property
    def platform(self) -> str:
        return str(self.row["platform"])

    @property
    def pool(self) -> asyncpg.Pool:
        return self.res.pool

    def rules(self, section: str) -> dict[str, Any]:
        """``config[section]`` with the shop's own overrides from ``config[section]["shops"][<shop>]``."""
        base = self.config.get(section)
        rules = dict(base) if isinstance(base, dict) else {}
        overrides = rules.pop("shops", None)
        if isinstance(overrides, dict):
            for key in (str(self.row["shop_id"]), str(self.row["platform_shop_id"])):
                if isinstance(overrides.get(key), dict):
                    rules.update(overrides[key])
        return rules


async def open_shop(ctx: TaskContext) -> ShopSession:
    """The task's shop with a ready client; a permanent error when it cannot be synced at all."""
    res = ctx.resources
    if not isinstance(res, SyncResources):
        raise ConfigError("the sync handlers need the worker's SyncResources (workers.sync:REGISTRY)")
    if ctx.task.shop_id is None:
        raise PermanentError(f"{ctx.task.task_type} needs a shop (shop_id is empty)")
    row = await res.pool.fetchrow(QUERIES["sync_shop_context"], ctx.task.shop_id)
    if row is None:
        raise PermanentError(f"shop {ctx.task.shop_id} no longer exists")
    if row["shop_status"] != "active" or row["account_status"] != "active" or row["integration_status"] != "active":
        raise PermanentError(
            f"shop {row['shop_name']} is not syncable (shop {row['shop_status']}, account {row['account_status']}, "
            f"integration {row['integration_status']})"
        )
    return ShopSession(ctx, res, row, _client(res, row))


async def open_shop_by_id(
    res: SyncResources,
    shop_id: uuid.UUID,
    *,
    task_type: str = "product_sync",
    direction: str = "crm_to_marketplace",
    filters: dict[str, Any] | None = None,
) -> ShopSession:
    """A shop session outside any task (``nfsync plan``, ``nfsync reconcile``): a stand-in task that is never stored."""
    row = await res.pool.fetchrow(QUERIES["sync_shop_context"], shop_id)
    if row is None:
        raise PermanentError(f"shop {shop_id} does not exist")
    task = ClaimedTask(
        id=uuid.uuid4(),
        organization_id=row["organization_id"],
        integration_id=row["id"],
        account_id=row["account_id"],
        shop_id=shop_id,
        platform=row["platform"],
        task_type=task_type,
        direction=direction,
        priority=5,
        scheduled_at=utcnow(),
        filter_criteria=filters,
        attempt=0,
        retry_count=0,
        max_retries=0,
    )
    return await open_shop(TaskContext(task, res))


def _client(res: SyncResources, row: asyncpg.Record) -> BaseClient:
    return res.factory.shop_client(res.pool, row)
