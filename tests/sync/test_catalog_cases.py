"""product_sync cases: lost create responses, filters, soft-deleted variants, per-item failures, the pull."""

from __future__ import annotations

from tests.sync.conftest import SyncEnv


async def test_lost_create_responses_never_duplicate(env: SyncEnv) -> None:
    env.sandbox.faults.lost_write_rate = 0.3
    task = await env.run("product_sync")
    env.sandbox.faults.lost_write_rate = 0.0
    assert task["status"] == "completed", task["error_message"]
    assert env.sandbox.counters.lost_writes > 0
    assert env.sandbox.duplicate_listings() == 0
    skus = [v.sku for listing in env.listings() for v in listing.variants]
    assert sorted(skus) == sorted(env.catalog.skus.values())


async def test_filters_limit_the_push(env: SyncEnv) -> None:
    category = env.catalog.category_ids[1]
    task = await env.run("product_sync", filters={"categories": [category]})
    assert task["status"] == "completed", task["error_message"]
    expected = await env.pool.fetch(
        'SELECT i.identifier FROM "ProductIdentifier" i JOIN "ProductVariant" v ON v.id = i."principalId" '
        'JOIN "Product" p ON p.id = v."productId" WHERE p."categoryId" = $1',
        category,
    )
    listed = {v.sku for listing in env.listings() for v in listing.variants}
    assert listed == {r["identifier"] for r in expected} and listed
    one = env.catalog.product_ids[-1]
    task = await env.run("product_sync", filters={"product_ids": [one]})
    assert task["result"]["actions"] == {"create": 1}


async def test_soft_deleted_and_deactivated_variants_go_to_zero_stock(env: SyncEnv) -> None:
    assert (await env.run("product_sync"))["status"] == "completed"
    deleted, deactivated = env.catalog.variant_ids[1], env.catalog.variant_ids[6]
    await env.pool.execute('UPDATE "ProductVariant" SET "deletedAt" = now() WHERE id = $1', deleted)
    await env.pool.execute("UPDATE \"ProductVariant\" SET status = 'DEACTIVATED' WHERE id = $1", deactivated)
    task = await env.run("product_sync")
    assert task["status"] == "completed", task["error_message"]
    for variant in (deleted, deactivated):
        assert env.sandbox_variant(env.catalog.skus[variant]).stock == 0
        status = await env.pool.fetchval("SELECT status FROM product_mappings WHERE variant_id = $1", variant)
        assert status == "delisted"
    again = await env.run("inventory_sync")
    assert again["result"]["changed"] == 0  # zero stays zero


async def test_item_failures_are_logged_and_the_task_completes(env: SyncEnv) -> None:
    simple = next(p for p in env.catalog.product_ids if sum(1 for v in env.catalog.product_of.values() if v == p) == 1)
    variant = next(v for v, p in env.catalog.product_of.items() if p == simple)
    await env.pool.execute('DELETE FROM "VariantPrice" WHERE "variantId" = $1', variant)
    task = await env.run("product_sync")
    assert task["status"] == "completed"
    assert task["error_message"] == "1 variant could not be synced: missing required fields: price"
    assert task["failed_items"] == 1 and task["successful_items"] > 0
    logged = await env.pool.fetchrow("SELECT * FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"])
    assert logged["entity_id"] == variant and logged["error_message"] == "missing required fields: price"


async def test_pull_maps_listings_by_sku_and_reports_the_unmatched(env: SyncEnv) -> None:
    known = list(env.catalog.skus.values())[:3]
    for sku in known:
        env.sandbox.add_listing(env.shop.sb_shop, f"Listed {sku}", [{"sku": sku, "price": "99000", "stock": 1}])
    env.sandbox.add_listing(env.shop.sb_shop, "Foreign", [{"sku": "NOT-IN-CRM-1", "price": "99000", "stock": 1}])
    products_before = await env.pool.fetchval('SELECT count(*) FROM "Product"')
    task = await env.run("product_sync", direction="marketplace_to_crm")
    assert task["status"] == "completed", task["error_message"]
    assert task["result"]["unmatched_skus"] == ["NOT-IN-CRM-1"]
    mapped = await env.pool.fetch("SELECT platform_sku FROM product_mappings WHERE shop_id = $1", env.shop.shop_id)
    assert sorted(r["platform_sku"] for r in mapped) == sorted(known)
    assert await env.pool.fetchval('SELECT count(*) FROM "Product"') == products_before
