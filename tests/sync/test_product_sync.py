"""product_sync end to end against each platform's sandbox over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nfsync.workers.config import Settings
from tests.sync.conftest import PLATFORMS, SyncEnv, sync_env


async def test_full_push_then_unchanged_resync_writes_nothing(env: SyncEnv) -> None:
    task = await env.run("product_sync")
    assert task["status"] == "completed", task["error_message"]
    assert task["error_message"] is None
    skus = {v.sku for listing in env.listings() for v in listing.variants}
    assert skus == set(env.catalog.skus.values())
    assert env.sandbox.duplicate_listings() == 0
    mapped = await env.pool.fetchval("SELECT count(*) FROM product_mappings WHERE shop_id = $1", env.shop.shop_id)
    assert mapped == len(env.catalog.variant_ids)
    variant = env.catalog.variant_ids[5]
    crm_price = await env.pool.fetchval('SELECT amount FROM "VariantPrice" WHERE "variantId" = $1', variant)
    assert env.sandbox_variant(env.catalog.skus[variant]).price == crm_price

    writes, requests = env.write_calls(), env.sandbox.counters.requests
    again = await env.run("product_sync")
    assert again["status"] == "completed"
    assert env.write_calls() == writes, "an unchanged re-sync wrote to the platform"
    assert env.sandbox.counters.requests == requests, "an unchanged re-sync called the platform"
    assert again["result"]["actions"] == {"skip": len(env.catalog.product_ids)}


async def test_changed_price_and_stock_reach_the_sandbox(env: SyncEnv) -> None:
    assert (await env.run("product_sync"))["status"] == "completed"
    variant = env.catalog.variant_ids[3]
    sku = env.catalog.skus[variant]
    await env.pool.execute('UPDATE "VariantPrice" SET amount = 123000 WHERE "variantId" = $1', variant)
    await env.pool.execute('UPDATE "StockLevel" SET "onHand" = 42, reserved = 2 WHERE "variantId" = $1', variant)
    price = await env.run("price_sync")
    stock = await env.run("inventory_sync")
    assert price["status"] == stock["status"] == "completed"
    assert price["result"]["changed"] == 1 and stock["result"]["changed"] == 1
    assert env.sandbox_variant(sku).price == Decimal("123000")
    assert env.sandbox_variant(sku).stock == 40


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_full_push_of_2000_variants(sync_settings: Settings, platform: str) -> None:
    async with sync_env(sync_settings, platform, variants=2000) as env:
        task = await env.run("product_sync", seconds=300)
        assert task["status"] == "completed", task["error_message"]
        assert task["successful_items"] == len(env.catalog.product_ids) and task["failed_items"] == 0
        listed = sorted(v.sku for listing in env.listings() for v in listing.variants)
        assert listed == sorted(env.catalog.skus.values())
        writes = env.write_calls()
        again = await env.run("product_sync", seconds=120)
        assert again["status"] == "completed" and env.write_calls() == writes
