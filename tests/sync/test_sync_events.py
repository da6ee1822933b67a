"""Order and listing events (issue #17): written by the change's own transaction, exactly once per change, whoever
makes it; each a valid CloudEvent of its documented schema."""

from __future__ import annotations

from collections import Counter
from typing import Any

import jsonschema_rs

from nfsync.workers.config import Settings
from nfsync.workers.engine.events import cloud_event, event_schema
from tests.sync.conftest import SyncEnv, sync_env
from tests.sync.test_content_ownership import seed_merchant_listings

CANCELLED = {
    "shopee": "CANCELLED",
    "lazada": "canceled",
    "tiktok": "CANCELLED",
    "woocommerce": "cancelled",
    "shopify": "cancelled",
}


async def _events(env: SyncEnv, prefix: str) -> list[dict[str, Any]]:
    """The outbox's events of these types, as published (validated against their documented schema)."""
    rows = await env.pool.fetch(
        "SELECT * FROM event_outbox WHERE type LIKE $1 || '%' AND organization_id = $2 ORDER BY seq", prefix, env.org
    )
    events = [cloud_event(row).model_dump(mode="json") for row in rows]
    for event in events:
        jsonschema_rs.validator_for(event_schema(event["type"])).validate(event)
    return events


async def test_a_push_announces_each_created_listing_once(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "shopee", variants=12) as env:
        pushed = await env.run("product_sync")
        assert pushed["status"] == "completed", pushed["error_message"]
        mappings = await env.pool.fetch(
            "SELECT variant_id, platform_item_id, platform_variant_id FROM product_mappings WHERE shop_id = $1",
            env.shop.shop_id,
        )
        events = await _events(env, "listing.")
        assert {e["type"] for e in events} == {"listing.created"}
        items = Counter(e["data"]["platform_item_id"] for e in events)
        assert set(items) == {m["platform_item_id"] for m in mappings} and set(items.values()) == {1}
        announced = {(v["variant_id"], v["platform_variant_id"]) for e in events for v in e["data"]["variants"]}
        assert announced == {(m["variant_id"], m["platform_variant_id"]) for m in mappings}
        first = events[0]
        assert first["subject"] == f"shops/{env.shop.shop_id}/listings/{first['data']['platform_item_id']}"
        assert first["data"]["origin"] == "created" and first["data"]["shop_id"] == str(env.shop.shop_id)

        again = await env.run("product_sync")
        assert again["status"] == "completed", again["error_message"]
        assert len(await _events(env, "listing.")) == len(events), "a re-sync links nothing anew"


async def test_adopted_listings_are_announced_as_linked(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "lazada", variants=12) as env:
        seed_merchant_listings(env)
        pushed = await env.run("product_sync")
        assert pushed["status"] == "completed", pushed["error_message"]
        events = await _events(env, "listing.")
        linked = [e for e in events if e["type"] == "listing.linked"]
        adopted = await env.pool.fetch(
            "SELECT DISTINCT platform_item_id FROM product_mappings WHERE shop_id = $1 AND origin = 'adopted'",
            env.shop.shop_id,
        )
        assert adopted and sorted(e["data"]["platform_item_id"] for e in linked) == sorted(
            r["platform_item_id"] for r in adopted
        )
        assert {e["data"]["origin"] for e in linked} == {"adopted"}


async def test_an_order_is_announced_when_imported_and_when_it_changes(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "tiktok", variants=12) as env:
        assert (await env.run("product_sync"))["status"] == "completed"
        sku = env.catalog.skus[env.catalog.variant_ids[0]]
        order = env.sandbox.add_order(env.shop.sb_shop, [{"sku": sku, "quantity": 1}], status="AWAITING_SHIPMENT")
        only = {"order_ids": [order.order_id]}
        assert (await env.run("order_sync", filters=only))["status"] == "completed"
        assert (await env.run("order_sync", filters=only))["status"] == "completed"  # seen again, unchanged
        imported = await _events(env, "order.")
        assert [e["type"] for e in imported] == ["order.imported"], "an unchanged order is not announced again"
        data = imported[0]["data"]
        assert data["platform_order_id"] == order.order_id and data["previous_platform_status"] is None
        assert imported[0]["subject"] == f"shops/{env.shop.shop_id}/orders/{order.order_id}"
        crm_order = await env.pool.fetchval('SELECT id FROM "SalesOrder" WHERE "externalOrderId" = $1', order.order_id)
        assert data["crm_order_id"] == crm_order

        order.status = CANCELLED["tiktok"]
        order.updated_at += 5
        assert (await env.run("order_sync", filters=only))["status"] == "completed"
        events = await _events(env, "order.")
        assert [e["type"] for e in events] == ["order.imported", "order.updated"]
        updated = events[1]["data"]
        assert (updated["previous_platform_status"], updated["platform_status"]) == ("AWAITING_SHIPMENT", "CANCELLED")
        assert updated["crm_status"] == "CANCELLED" and updated["previous_crm_status"] != "CANCELLED"
