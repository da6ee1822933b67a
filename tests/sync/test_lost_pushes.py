"""Shopee lost-push recovery (issue #14: "a scheduled Shopee lost-push recovery"): a push Shopee failed to deliver
becomes work once recovered, exactly once, and is confirmed; the scheduler asks for it every lost_push_interval."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from nfsync.workers.config import Settings
from nfsync.workers.engine.scheduler import Scheduler
from tests.engine.conftest import wait_until
from tests.sync.conftest import SyncEnv, sync_env


@pytest.fixture
async def shopee(sync_settings: Settings) -> AsyncIterator[SyncEnv]:
    async with sync_env(sync_settings, "shopee", variants=6) as made:
        yield made


def _lose(env: SyncEnv, event: dict) -> None:
    """What the sandbox does after the last retry of a push nobody acknowledged."""
    _, body, _ = env.sandbox.signed_push(env.shop.sb_shop, event)  # type: ignore[attr-defined]
    env.sandbox._keep_lost(env.shop.sb_shop, body)  # type: ignore[attr-defined]


async def test_a_lost_order_push_is_recovered_once_and_confirmed(shopee: SyncEnv) -> None:
    """Before: get_lost_push_message was implemented and never called, so a push lost while nfsync was down was
    gone for a shop without polling."""
    env = shopee
    variant = env.catalog.variant_ids[0]
    order = env.sandbox.add_order(
        env.shop.sb_shop, [{"sku": env.catalog.skus[variant], "quantity": 1}], status=env.sandbox.initial_order_status()
    )
    _lose(env, {"kind": "order_status_changed", "order": order})
    _lose(env, {"kind": "order_status_changed", "order": order})  # the same push lost twice: one piece of work
    task = await env.run("shop_sync", filters={"lost_pushes": True})
    assert task["status"] == "completed", task["error_message"]
    assert task["result"]["lost_pushes"] == 2
    logged = await env.pool.fetch(
        "SELECT entity_type, action, status FROM sync_logs WHERE task_id = $1", uuid.UUID(str(task["id"]))
    )
    assert [tuple(r) for r in logged] == [("order", "import", "success")] * 2, "each recovered push is in the item log"
    assert all(push.consumed for push in env.sandbox.lost_pushes)  # type: ignore[attr-defined]
    work = await env.pool.fetch("SELECT DISTINCT task_id FROM marketplace_webhooks WHERE task_id IS NOT NULL")
    assert len(work) == 1
    await env.rt.service.wake("shopee", [work[0]["task_id"]])  # the scheduler would re-send it within seconds

    async def imported() -> bool:
        return bool(
            await env.pool.fetchval('SELECT count(*) FROM "SalesOrder" WHERE "externalOrderId" = $1', order.order_id)
        )

    await wait_until(imported, 60, "the recovered order in the CRM")
    again = await env.run("shop_sync", filters={"lost_pushes": True})
    assert again["result"]["lost_pushes"] == 0


async def test_the_scheduler_asks_for_lost_pushes_every_interval(shopee: SyncEnv) -> None:
    env = shopee
    settings = env.settings.model_copy(update={"lost_push_interval": 3600.0})
    scheduler = Scheduler(settings, env.pool, env.rt.service)
    await scheduler._lost_push_recovery()
    await scheduler._lost_push_recovery()  # within the interval: nothing more
    rows = await env.pool.fetch("SELECT shop_id, filter_criteria FROM sync_tasks WHERE task_type = 'shop_sync'")
    assert [(r["shop_id"], r["filter_criteria"]) for r in rows] == [(env.shop.shop_id, {"lost_pushes": True})]
    off = Scheduler(env.settings.model_copy(update={"lost_push_interval": 0.0}), env.pool, env.rt.service)
    await off._lost_push_recovery()
    assert await env.pool.fetchval("SELECT count(*) FROM sync_tasks WHERE task_type = 'shop_sync'") == 1
