"""Every route that names an object, called by organization B with organization A's ids (issue #13): never a 2xx,
never a change to A's rows, and B's answers never carry A's data. Routes are taken from the API itself, so a new
route is swept without editing this test (it fails when a route names a parameter it cannot fill)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from nfsync.workers.api.app import all_routes
from nfsync.workers.engine.service import init_connection
from nfsync.workers.lab.demo_data import seed_catalog
from tests.api.conftest import LiveApi

A_TABLES = (
    "marketplace_integrations",
    "marketplace_accounts",
    "marketplace_shops",
    "sync_tasks",
    "marketplace_webhooks",
    "api_tokens",
    "product_mappings",
    "order_mappings",
    "listing_profiles",
    "event_subscriptions",
    "event_deliveries",
    "customer_erasures",
)
# A valid body for each route that takes one: validation must not be what stops B.
BODIES: dict[str, dict[str, Any]] = {
    "IntegrationPatch": {"name": "taken over"},
    "AccountIn": {"name": "x", "platform_account_id": "999"},
    "AccountPatch": {"name": "taken over"},
    "ShopIn": {"shop_id": "990099", "shop_name": "planted"},
    "ShopPatch": {"shop_name": "taken over"},
    "ListingProfile": {"category_id": "100017", "brand": {"name": "No brand"}},
    "SubscriptionPatch": {"url": "https://8.8.8.8/taken-over", "status": "disabled"},
    "ReplayRequest": {"since": "2020-01-01T00:00:00Z", "statuses": ["delivered", "failed"]},
}
PUBLIC = {"/oauth/callback/{platform}", "/webhooks/{platform}/{integration_id}", "/ops/static/{name}"}


async def _a_objects(live_api: LiveApi) -> dict[str, str]:
    _, task = await live_api.call(
        "POST",
        "/v1/sync-tasks",
        live_api.a.token,
        json={
            "integration_id": str(live_api.a.integration),
            "shop_id": str(live_api.a.shops[0]),
            "task_type": "order_sync",
            "direction": "marketplace_to_crm",
        },
    )
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        account = await conn.fetchval("SELECT account_id FROM marketplace_shops WHERE id = $1", live_api.a.shops[0])
        token = await conn.fetchval("SELECT id FROM api_tokens WHERE organization_id = $1", live_api.a.org)
        await init_connection(conn)
        catalog = await seed_catalog(conn, organization_id=live_api.a.org, variants=2, name="A")
        product = catalog.product_ids[0]
        mapping = await conn.fetchval(
            "INSERT INTO product_mappings (organization_id, integration_id, shop_id, platform, product_id, variant_id,"
            " platform_item_id) VALUES ($1, $2, $3, 'shopee', $4, $5, '7001') RETURNING id",
            live_api.a.org,
            live_api.a.integration,
            live_api.a.shops[0],
            product,
            catalog.variant_ids[0],
        )
        subscription = await conn.fetchval(
            "INSERT INTO event_subscriptions (organization_id, url, event_types, secret)"
            " VALUES ($1, 'https://8.8.8.8/a', '{*}', 'sealed') RETURNING id",
            live_api.a.org,
        )
        await conn.execute(  # one event of A's, so A's subscription has a delivery
            "INSERT INTO event_outbox (organization_id, type, subject, data) VALUES ($1, 'shop.stale', 's', '{}')",
            live_api.a.org,
        )
        await conn.execute(
            "INSERT INTO listing_profiles (organization_id, integration_id, product_id, profile)"
            ' VALUES ($1, $2, $3, \'{"category_id": "1"}\')',
            live_api.a.org,
            live_api.a.integration,
            product,
        )
        customer = await conn.fetchval(
            'INSERT INTO "Customer" ("merchantId", "sourcePlatform", "platformBuyerId") VALUES ($1, \'shopee\','
            " '9193214') RETURNING id",
            catalog.merchant_id,
        )
        webhook = await conn.fetchval(
            "INSERT INTO marketplace_webhooks (organization_id, integration_id, platform, event_type, dedupe_key,"
            " payload) VALUES ($1, $2, 'shopee', 'order_status_changed', 'x', '{}') RETURNING id",
            live_api.a.org,
            live_api.a.integration,
        )
    finally:
        await conn.close()
    return {
        "integration_id": str(live_api.a.integration),
        "account_id": str(account),
        "shop_id": str(live_api.a.shops[0]),
        "task_id": task["task_id"],
        "token_id": str(token),
        "webhook_id": str(webhook),
        "product_id": product,
        "category_id": "100017",
        "mapping_id": str(mapping),
        "subscription_id": str(subscription),
        "customer_id": customer,
    }


async def _snapshot(live_api: LiveApi) -> dict[str, list[str]]:
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        return {
            table: sorted(
                r[0]
                for r in await conn.fetch(
                    f"SELECT to_jsonb(t)::text FROM {table} t WHERE organization_id = $1", live_api.a.org
                )
            )
            for table in A_TABLES
        } | {
            "Customer": sorted(  # CRM rows belong to the organization through its merchants
                r[0]
                for r in await conn.fetch(
                    'SELECT to_jsonb(c)::text FROM "Customer" c JOIN organization_merchants om'
                    ' ON om.merchant_id = c."merchantId" WHERE om.organization_id = $1',
                    live_api.a.org,
                )
            )
        }
    finally:
        await conn.close()


@pytest.mark.slow
async def test_organization_b_reaches_nothing_of_organization_a(live_api: LiveApi) -> None:
    ids = await _a_objects(live_api)
    before = await _snapshot(live_api)
    secrets_of_a = set(ids.values())
    reached = []
    for route in all_routes():
        if "{" not in route.path or route.path in PUBLIC:
            continue
        path = route.path.format(**ids)
        body = BODIES.get(route.body.__name__) if route.body else None
        query = "?redirect_uri=" + live_api.url if path.endswith("/authorize-url") else ""
        status, answer = await live_api.call(route.method, path + query, live_api.b.token, json=body)
        leaked = [value for value in secrets_of_a if value in json.dumps(answer) and value not in path]  # not an echo
        if status < 400 or leaked or status >= 500:
            reached.append((route.method, route.path, status, leaked))
    assert reached == [], "B reached A's objects"
    assert await _snapshot(live_api) == before, "none of A's rows changed"
