"""CRM stock locations mapped to a multi-warehouse shop's locations (issue #14: "a CRM stock location maps to a
platform warehouse or location, configurable per shop, defaulting to the one warehouse when there is one"), end to
end on Shopee's sandbox over real HTTP. The per-platform rules are in the connector tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nfsync.workers.config import Settings
from nfsync.workers.sync.reconcile import reconcile_shop
from tests.sync.conftest import SyncEnv, sync_env

LOCATIONS = ["VNZ", "VNN"]  # Shopee location ids (get_warehouse_detail)


@pytest.fixture
async def mapped(sync_settings: Settings) -> AsyncIterator[SyncEnv]:
    config = {"inventory": {"warehouses": {"default": "VNZ", "hcm": "VNN"}}}
    async with sync_env(sync_settings, "shopee", variants=6, config=config) as made:
        yield made


async def _add_location_stock(env: SyncEnv, variant: str, location: str, on_hand: int) -> None:
    await env.pool.execute(
        'INSERT INTO "StockLevel" ("variantId", "merchantId", "locationId", "onHand", reserved)'
        " VALUES ($1, $2, $3, $4, 0)",
        variant,
        env.catalog.merchant_id,
        location,
        on_hand,
    )


async def test_each_crm_location_reaches_its_mapped_warehouse(mapped: SyncEnv) -> None:
    env = mapped
    assert (await env.run("product_sync"))["status"] == "completed"
    env.sandbox.set_warehouses(env.shop.sb_shop, LOCATIONS)  # type: ignore[attr-defined]
    variant = env.catalog.variant_ids[2]
    on_hand, reserved = await env.stock(variant)
    await _add_location_stock(env, variant, "hcm", 5)
    await _add_location_stock(env, variant, "unmapped", 50)  # not offered on this shop
    task = await env.run("inventory_sync")
    assert task["status"] == "completed" and task["result"]["changed"] == 1, task["result"]
    held = env.sandbox.location_stock(env.shop.sb_shop, env.sandbox_variant(env.catalog.skus[variant]))  # type: ignore[attr-defined]
    assert held == {"VNZ": int(on_hand - reserved), "VNN": 5}
    diffs, _ = await reconcile_shop(await env.session())
    assert [d for d in diffs if d.kind == "stock"] == []  # right total and right warehouses
    await env.pool.execute(
        'UPDATE "StockLevel" SET "onHand" = "onHand" + 2 WHERE "variantId" = $1 AND "locationId" = \'hcm\'', variant
    )
    diffs, _ = await reconcile_shop(await env.session())
    assert [(d.kind, d.entity_id) for d in diffs if d.kind == "stock"] == [("stock", variant)]


async def test_several_warehouses_without_a_map_fail_only_the_items(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "shopee", variants=6) as env:
        assert (await env.run("product_sync"))["status"] == "completed"
        env.sandbox.set_warehouses(env.shop.sb_shop, LOCATIONS)  # type: ignore[attr-defined]
        await env.pool.execute('UPDATE "StockLevel" SET "onHand" = "onHand" + 1')
        task = await env.run("inventory_sync", filters={"force": True})
        failed = await env.pool.fetch(
            "SELECT error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"]
        )
        assert len(failed) == len(env.catalog.variant_ids), task["result"]
        assert all("config.inventory.warehouses" in row["error_message"] for row in failed)
