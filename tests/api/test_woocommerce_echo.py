"""Echoes of nfsync's own writes are not work (issue #14).

WooCommerce fires ``product.updated`` for every product and variation an API write touched, nfsync's stock and price
writes included (woocommerce/woocommerce includes/class-wc-webhook.php topic hooks). The sandbox does the same once
webhooks are registered. Here a real write goes through the client, the store's echo is captured, and the intake
(workers/api/webhooks.py, over the test database, no broker) stores it without a task; a merchant's own change to
the same product still becomes a product import."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from nfsync.connectors.base.auth import LocalRateLimiter
from nfsync.connectors.base.client import AppCredentials, ClientSettings
from nfsync.connectors.base.models import PriceUpdate, StockUpdate
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.woocommerce import PLATFORM, webhooks
from nfsync.connectors.woocommerce.client import Client
from nfsync.connectors.woocommerce.sandbox import SANDBOX, Sandbox, shop_ref
from nfsync.workers.api.auth import create_organization
from nfsync.workers.api.webhooks import ECHO, Verified, WebhookIntake
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.connect import create_pool
from nfsync.workers.engine.service import TaskService, init_connection
from nfsync.workers.lab.demo_data import seed_catalog
from nfsync.workers.lab.sandbox_shops import ConnectedShop, connect_shop, create_integration
from tests.api.conftest import KEY_ENTRY

APP = dict(SANDBOX.sample_app)


@dataclass
class Env:
    pool: asyncpg.Pool
    sandbox: Sandbox
    shop: ConnectedShop
    client: Client
    intake: WebhookIntake
    pushes: list[tuple[dict[str, str], bytes]]
    items: dict[str, str]  # SKU -> platform item id

    async def integration(self) -> asyncpg.Record:
        row = await self.pool.fetchrow("SELECT * FROM marketplace_integrations WHERE id = $1", self.shop.integration_id)
        assert row is not None
        return row

    async def deliver(self, headers: dict[str, str], body: bytes) -> list[uuid.UUID]:
        """What receive() does after verifying: parse, store, translate."""
        events = webhooks.parse(headers, body)
        return await self.intake.store(Verified(await self.integration(), PLATFORM, events), headers, body)

    async def recorded(self, sku: str, stock: int, price: Decimal) -> None:
        """What the sync records once the store accepted its write (workers/sql/sync.sql sync_mappings_pushed)."""
        await self.pool.execute(
            "UPDATE product_mappings SET last_pushed_stock = $2, last_pushed_price = $3, stock_pushed_at = now(), "
            "price_pushed_at = now() WHERE shop_id = $1 AND platform_sku = $4",
            self.shop.shop_id,
            stock,
            price,
            sku,
        )

    async def webhook_rows(self) -> list[asyncpg.Record]:
        query = "SELECT * FROM marketplace_webhooks WHERE integration_id = $1 ORDER BY received_at"
        return await self.pool.fetch(query, self.shop.integration_id)


@pytest.fixture
async def env(database: Settings) -> AsyncIterator[Env]:
    keyring = Keyring.parse(KEY_ENTRY)
    pushes: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        pushes.append((dict(request.headers), await request.read()))
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    sandbox = Sandbox(APP, seed=4)
    pool = await create_pool(database, min_size=1, max_size=4, init=init_connection)
    try:
        async with sandbox.running(), aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
            yield await _env(pool, keyring, sandbox, session, pushes=pushes, hook_url=url)
    finally:
        await pool.close()
        await runner.cleanup()


async def _env(
    pool: asyncpg.Pool,
    keyring: Keyring,
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    *,
    pushes: list[tuple[dict[str, str], bytes]],
    hook_url: str,
) -> Env:
    org = await create_organization(pool, "Echo org")
    async with pool.acquire() as conn:
        catalog = await seed_catalog(conn, organization_id=org, variants=2)
        integration = await create_integration(conn, keyring, org, sandbox, name="woo echo")
    shop = await connect_shop(
        pool, keyring, org, integration, sandbox, platform_shop_id="woo-echo", channel_id=catalog.sale_channel_id
    )
    items = {}
    for variant_id, sku in catalog.skus.items():
        item = sandbox.add_listing(shop.sb_shop, sku, [{"sku": sku, "price": "100000", "stock": 5}]).item_id
        items[sku] = item
        await pool.execute(
            "INSERT INTO product_mappings (organization_id, integration_id, shop_id, platform, product_id, variant_id, "
            "platform_item_id, platform_sku, last_pushed_price, last_pushed_stock, price_pushed_at, stock_pushed_at) "
            "VALUES ($1, $2, $3, 'woocommerce', $4, $5, $6, $7, 100000, 5, now(), now())",
            org,
            integration,
            shop.shop_id,
            catalog.product_of[variant_id],
            variant_id,
            item,
            sku,
        )
    settings = ClientSettings(base_url=sandbox.base_url, backoff_base=0.01, backoff_cap=0.3, read_timeout=3.0)
    client = Client(
        settings,
        AppCredentials(APP),
        shop_ref(shop.sb_shop, sandbox.base_url),
        session=session,
        tokens=None,
        limiter=LocalRateLimiter(),
    )
    await client.register_webhooks(hook_url, Secret(sandbox.webhook_secret or ""), topics=["product.updated"])
    intake = WebhookIntake(pool, TaskService(pool, None), keyring, "http://127.0.0.1")
    return Env(pool, sandbox, shop, client, intake, pushes, items)


async def signed_pushes(env: Env, count: int) -> list[tuple[dict[str, str], bytes]]:
    await env.sandbox.drain_pushes(5)
    found = [(h, b) for h, b in env.pushes if "X-WC-Webhook-Signature" in h]
    assert len(found) == count, found
    env.pushes.clear()
    return found


async def test_the_echo_of_our_own_stock_write_enqueues_nothing(env: Env) -> None:
    """Before: every product.updated became a product import, the echoes of nfsync's own writes included."""
    sku = next(iter(env.items))
    update = StockUpdate(platform_item_id=env.items[sku], platform_variant_id=None, sku=sku, quantity=7)
    assert (await env.client.update_stock([update]))[0].ok
    await env.recorded(sku, 7, Decimal(100000))
    ((headers, body),) = await signed_pushes(env, 1)
    assert webhooks.parse(headers, body)[0].raw["stock_quantity"] == 7
    assert await env.deliver(headers, body) == []
    rows = await env.webhook_rows()
    assert [(r["status"], r["error_message"], r["task_id"]) for r in rows] == [("ignored", ECHO, None)]
    assert await env.pool.fetchval("SELECT count(*) FROM sync_tasks WHERE shop_id = $1", env.shop.shop_id) == 0


async def test_a_merchant_change_still_becomes_work(env: Env) -> None:
    sku, other = list(env.items)
    price = PriceUpdate(platform_item_id=env.items[sku], platform_variant_id=None, sku=sku, price=Decimal(90000))
    assert (await env.client.update_prices([price]))[0].ok
    await env.recorded(sku, 5, Decimal(90000))
    ((echo_headers, echo_body),) = await signed_pushes(env, 1)
    merchant = await env.client.call(
        "PUT", f"/wp-json/wc/v3/products/{env.items[other]}", json_body={"stock_quantity": 2}
    )  # the merchant's own edit (admin or an app)
    assert merchant["stock_quantity"] == 2
    ((headers, body),) = await signed_pushes(env, 1)
    assert await env.deliver(echo_headers, echo_body) == []
    tasks = await env.deliver(headers, body)
    assert len(tasks) == 1
    task = await env.pool.fetchrow("SELECT * FROM sync_tasks WHERE id = $1", tasks[0])
    assert task["task_type"] == "product_sync" and task["filter_criteria"] == {"product_ids": [env.items[other]]}
    later = await env.deliver(*await _saved_an_hour_later(env, sku))
    assert len(later) == 1  # nfsync's values, but not around nfsync's write: the merchant's save, work


async def _saved_an_hour_later(env: Env, sku: str) -> tuple[dict[str, str], bytes]:
    """The merchant saves the product an hour after nfsync's write (a status or content edit): stock and price are
    still the ones nfsync pushed, the modification time is not."""
    env.shop.sb_shop.listings[env.items[sku]].updated_at = time.time() + 3600  # the store's clock, an hour on
    await env.client.call("PUT", f"/wp-json/wc/v3/products/{env.items[sku]}", json_body={"name": "Edited"})
    ((headers, body),) = await signed_pushes(env, 1)
    return headers, body
