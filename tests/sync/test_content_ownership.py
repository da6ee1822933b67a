"""Linked listings are never damaged (issue #14): listings that existed on the platform before nfsync - matched on a
pull or adopted by SKU on a push - get stock and price only. Their title, description, category, status, options
and the variations the CRM does not have stay exactly as the merchant made them; an unchanged re-sync makes no call.
``config.catalog.content = "crm"`` hands the content to the CRM (the positive control: the same push then rewrites).

Before: the first push after a pull rewrote every matched listing (its mapping had no pushed content hash)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from nfsync.workers.config import Settings
from nfsync.workers.engine.filters import ProductSyncFilter
from nfsync.workers.sync.products import plan_catalog
from tests.sync.conftest import PLATFORMS, SyncEnv, sync_env

Snapshot = dict[str, tuple[Any, ...]]


def seed_merchant_listings(env: SyncEnv) -> int:
    """One listing per CRM product, made by the merchant before nfsync: other titles, copy and category, option
    names the CRM does not use, stale prices and stock, one marketplace-only variation each, every fourth one
    inactive. Returns how many listings were made."""
    by_product: dict[str, list[str]] = defaultdict(list)
    for variant in env.catalog.variant_ids:
        by_product[env.catalog.product_of[variant]].append(variant)
    for number, variants in enumerate(by_product.values()):
        rows = [
            {"sku": env.catalog.skus[v], "price": "1111", "stock": 7, "options": {"Style": f"merchant-{k}"}}
            for k, v in enumerate(variants)
        ]
        rows.append({"sku": f"MKT-ONLY-{number}", "price": "5000", "stock": 3, "options": {"Style": "extra"}})
        status = "inactive" if number % 4 == 0 else "active"
        env.sandbox.add_listing(
            env.shop.sb_shop,
            f"Merchant title {number}",
            rows,
            description=f"merchant copy {number}",
            category_id="100",
            status=status,
        )
    return len(by_product)


def content(env: SyncEnv) -> Snapshot:
    """Everything of the shop's listings except stock and price."""
    return {
        listing.item_id: (
            listing.name,
            listing.description,
            listing.status,
            listing.category_id,
            tuple((v.variant_id, v.sku, tuple(sorted(v.options.items()))) for v in listing.variants),
        )
        for listing in env.listings()
    }


def refused_skus(env: SyncEnv) -> set[str]:
    """TikTok Shop refuses price writes to a product that is not live (PRODUCT_STATUS_INVALID, see
    connectors/tiktok/sandbox/checks.py): those variants fail, reported, and keep the merchant's values."""
    if env.shop.platform != "tiktok":
        return set()
    return {v.sku for listing in env.listings() if listing.status != "active" for v in listing.variants}


async def assert_values_are_the_crms(env: SyncEnv) -> None:
    rows = await env.pool.fetch(
        "SELECT m.platform_sku, m.last_pushed_stock, p.amount FROM product_mappings m "
        'JOIN "VariantPrice" p ON p."variantId" = m.variant_id WHERE m.shop_id = $1',
        env.shop.shop_id,
    )
    assert len(rows) == len(env.catalog.variant_ids)
    for row in rows:
        if row["platform_sku"] in refused_skus(env):
            continue
        variant = env.sandbox_variant(row["platform_sku"])
        assert (variant.price, variant.stock) == (Decimal(row["amount"]), row["last_pushed_stock"]), row
    extras = [env.sandbox_variant(f"MKT-ONLY-{n}") for n in range(2)]
    assert [(v.price, v.stock) for v in extras] == [(Decimal(5000), 3)] * 2, "a marketplace-only variation changed"


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_pulled_listings_keep_their_content(sync_settings: Settings, platform: str) -> None:
    async with sync_env(sync_settings, platform, variants=1250) as env:
        listings = seed_merchant_listings(env)
        before = content(env)
        pulled = await env.run("product_sync", direction="marketplace_to_crm", seconds=300)
        assert pulled["status"] == "completed", pulled["error_message"]
        pushed = await env.run("product_sync", seconds=300)
        assert pushed["status"] == "completed", pushed["error_message"]
        assert pushed["failed_items"] == len(refused_skus(env) - {f"MKT-ONLY-{n}" for n in range(listings)})
        assert content(env) == before, "the push changed a linked listing's content"
        assert len(before) == listings >= 500 and env.sandbox.duplicate_listings() == 0
        await assert_values_are_the_crms(env)

        requests, writes = env.sandbox.counters.requests, dict(env.sandbox.counters.writes_per_sku)
        again = await env.run("product_sync", seconds=300)
        assert again["status"] == "completed", again["error_message"]
        rewritten = {sku for sku, n in env.sandbox.counters.writes_per_sku.items() if n != writes.get(sku)}
        assert rewritten <= refused_skus(env), "a re-sync wrote more than the refused values again"
        if not refused_skus(env):
            assert env.sandbox.counters.requests == requests, "an unchanged re-sync called the platform"
        origins = await env.pool.fetch(
            "SELECT DISTINCT origin FROM product_mappings WHERE shop_id = $1", env.shop.shop_id
        )
        assert [r["origin"] for r in origins] == ["pulled"]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_listings_adopted_by_sku_keep_their_content(sync_settings: Settings, platform: str) -> None:
    async with sync_env(sync_settings, platform, variants=60) as env:
        seed_merchant_listings(env)
        before = content(env)
        pushed = await env.run("product_sync")
        assert pushed["status"] == "completed", pushed["error_message"]
        assert pushed["failed_items"] == len(refused_skus(env) - {f"MKT-ONLY-{n}" for n in range(60)})
        assert content(env) == before and env.sandbox.duplicate_listings() == 0
        await assert_values_are_the_crms(env)
        plan = await env.session()
        decisions = await plan_catalog(plan, ProductSyncFilter())
        assert {d.describe()["action"] for d in decisions} == {"skip"}
        assert {d.describe()["content"] for d in decisions} == {"link"}


@pytest.mark.parametrize("platform", ["shopee"])
async def test_content_crm_hands_the_listing_to_the_crm(sync_settings: Settings, platform: str) -> None:
    async with sync_env(
        sync_settings, platform, variants=12, config={"catalog": {"content": "crm", "default_category_id": "100"}}
    ) as env:
        seed_merchant_listings(env)
        assert (await env.run("product_sync", direction="marketplace_to_crm"))["status"] == "completed"
        session = await env.session()
        decisions = [d.describe() for d in await plan_catalog(session, ProductSyncFilter())]
        assert {d["action"] for d in decisions} == {"update"} and {d["content"] for d in decisions} == {"crm"}
        assert all({"name", "description"} <= set(d["fields"]) for d in decisions), decisions[0]
        names = {listing.name for listing in env.listings()}
        assert (await env.run("product_sync"))["status"] == "completed"
        assert {listing.name for listing in env.listings()}.isdisjoint(names), "the CRM's titles were not written"
