"""The claim: seed order, never a future task, exactly once under concurrency, one running task per shop."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.models import TASK_TYPES
from nfsync.workers.engine.repository import OutcomeRecord, Repository
from nfsync.workers.lab.seed import seed_platform_shops
from tests.engine.conftest import World


async def _insert(
    world: World,
    shop: int,
    priority: int,
    scheduled: datetime,
    *,
    task_type: str = "product_sync",
    retry_at: datetime | None = None,
) -> uuid.UUID:
    return await world.rt.pool.fetchval(
        "INSERT INTO sync_tasks (organization_id, integration_id, shop_id, task_type, direction, priority,"
        " scheduled_at, next_retry_at) VALUES ($1, $2, $3, $4, 'crm_to_marketplace', $5, $6, $7) RETURNING id",
        world.org,
        world.integrations["shopee"],
        world.shops["shopee"][shop],
        task_type,
        priority,
        scheduled.replace(tzinfo=None),
        retry_at.replace(tzinfo=None) if retry_at else None,
    )


async def test_claim_order_and_future_tasks(world: World) -> None:
    now = datetime.now(UTC)
    low_old = await _insert(world, 0, 3, now - timedelta(minutes=10))
    high_new = await _insert(world, 1, 9, now - timedelta(minutes=1))
    high_old = await _insert(world, 2, 9, now - timedelta(minutes=5))
    mid = await _insert(world, 3, 5, now - timedelta(minutes=2))
    future = await _insert(world, 4, 10, now + timedelta(minutes=5))
    retry_later = await _insert(world, 5, 10, now - timedelta(minutes=5), retry_at=now + timedelta(minutes=1))
    retry_due = await _insert(world, 6, 5, now - timedelta(minutes=2), retry_at=now - timedelta(seconds=1))
    repo = Repository(world.rt.pool, "w1")
    claimed = [t.id for t in await repo.claim("shopee", 10, 30, TASK_TYPES)]
    assert claimed == [high_old, high_new, mid, retry_due, low_old]
    assert future not in claimed and retry_later not in claimed
    assert await repo.claim("lazada", 10, 30, TASK_TYPES) == []


async def test_one_running_task_per_shop_and_type(world: World) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(3):
        await world.rt.pool.execute(
            "INSERT INTO sync_tasks (organization_id, integration_id, shop_id, task_type, direction, scheduled_at)"
            " VALUES ($1, $2, $3, 'order_sync', $4, $5)",
            world.org,
            world.integrations["shopee"],
            world.shops["shopee"][0],
            ["crm_to_marketplace", "marketplace_to_crm", "bidirectional"][i],
            now.replace(tzinfo=None),
        )
    repo = Repository(world.rt.pool, "w1")
    assert len(await repo.claim("shopee", 10, 30, TASK_TYPES)) == 1
    assert await repo.claim("shopee", 10, 30, TASK_TYPES) == [], "the shop's order_sync is running"
    assert await world.count("status = 'processing'") == 1


async def test_eight_concurrent_claimers_claim_each_task_once(world: World) -> None:
    integration, shops = await seed_platform_shops(world.rt.pool, world.org, "shopify", 400)
    rows = [(shop, task_type) for shop in shops for task_type in TASK_TYPES[:5]]
    await world.rt.pool.executemany(
        "INSERT INTO sync_tasks (organization_id, integration_id, shop_id, task_type, direction, scheduled_at)"
        " VALUES ($1, $2, $3, $4, 'crm_to_marketplace', now() - interval '1 second')",
        [(world.org, integration, shop, task_type) for shop, task_type in rows],
    )
    assert len(rows) == 2000
    claimed: list[uuid.UUID] = []

    async def claimer(n: int) -> None:
        repo = Repository(world.rt.pool, f"claimer-{n}")
        while batch := await repo.claim("shopify", 25, 30, TASK_TYPES):
            claimed.extend(t.id for t in batch)

    await asyncio.gather(*[claimer(n) for n in range(8)])
    assert len(claimed) == 2000 and len(set(claimed)) == 2000
    owners = await world.rt.pool.fetchval(
        "SELECT count(DISTINCT lease_owner) FROM sync_tasks WHERE platform = 'shopify'"
    )
    assert owners > 1, "the work was shared"
    assert await world.count("platform = 'shopify' AND status = 'processing' AND attempt = 1") == 2000


async def test_stale_owner_write_is_refused(world: World) -> None:
    await _insert(world, 0, 5, datetime.now(UTC) - timedelta(seconds=1))
    repo = Repository(world.rt.pool, "old-owner")
    [task] = await repo.claim("shopee", 1, 30, TASK_TYPES)
    await world.rt.pool.execute("UPDATE sync_tasks SET lease_expires_at = now() - interval '1 second'")
    rescued = await world.rt.pool.fetch(QUERIES["rescue_expired_leases"], 10)
    assert [r["status"] for r in rescued] == ["pending"]
    new_repo = Repository(world.rt.pool, "new-owner")
    [again] = await new_repo.claim("shopee", 1, 30, TASK_TYPES)
    assert again.attempt == task.attempt + 1
    late = await repo.finish([OutcomeRecord(task.id, task.attempt, "completed", None, None, None)])
    assert late == {}, "the old owner's late write changed nothing"
    done = await new_repo.finish([OutcomeRecord(again.id, again.attempt, "completed", None, None, None)])
    assert done[again.id][0] == "completed"
    row = await world.rt.pool.fetchrow("SELECT status, retry_count, progress FROM sync_tasks WHERE id = $1", task.id)
    assert (row["status"], row["retry_count"], row["progress"]) == ("completed", 1, 100)
