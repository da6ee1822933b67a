"""Combos, kits and add-ons end to end (workers/bundles.py): the real database, a sandbox shop over HTTP, the worker
and the scheduler. A combo's stock on the shop follows its components; orders move components and add-ons, never
the combo's own row; malformed bundles fail their item and nothing oversells; another merchant's variants are never
reached."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nfsync.connectors.base.models import Order, OrderLine
from nfsync.workers import crm
from nfsync.workers.config import Settings
from nfsync.workers.engine.scheduler import Scheduler
from nfsync.workers.lab.demo_data import add_addon, add_combo, seed_catalog
from nfsync.workers.sync.cli import plan
from nfsync.workers.sync.item_log import ItemLog
from nfsync.workers.sync.orders import OrderStore
from tests.engine.conftest import wait_until
from tests.sync.conftest import PLATFORMS, SyncEnv, sync_env

# platform status -> (open, shipped, cancelled), as the sandboxes name them
STATUSES = {
    "shopee": ("READY_TO_SHIP", "SHIPPED", "CANCELLED"),
    "lazada": ("pending", "shipped", "canceled"),
    "tiktok": ("AWAITING_SHIPMENT", "IN_TRANSIT", "CANCELLED"),
    "woocommerce": ("processing", "completed", "cancelled"),
}


@dataclass
class Bundled:
    env: SyncEnv
    shirt: str  # component, 2 per combo A
    cap: str  # component of A and B
    socks: str  # component of B
    gift: str  # add-on of host
    host: str
    combo_a: str
    combo_b: str


async def _set_stock(env: SyncEnv, variant: str, on_hand: int, reserved: int = 0) -> None:
    await env.pool.execute(
        'UPDATE "StockLevel" SET "onHand" = $2, reserved = $3 WHERE "variantId" = $1', variant, on_hand, reserved
    )


async def _bundled(env: SyncEnv) -> Bundled:
    ids = env.catalog.variant_ids
    shirt, cap, socks, gift, host = ids[0], ids[1], ids[2], ids[3], ids[4]
    for variant, units in ((shirt, 41), (cap, 30), (socks, 7), (gift, 50), (host, 50)):
        await _set_stock(env, variant, units)
    async with env.pool.acquire() as conn:
        combo_a = await add_combo(
            conn,
            env.catalog,
            [(shirt, Decimal(2)), (cap, Decimal(1))],
            name="two shirts and a cap",
            price=Decimal(399000),
            own_stock=Decimal(999),
        )
        combo_b = await add_combo(
            conn, env.catalog, [(cap, Decimal(1)), (socks, Decimal(1))], name="cap and socks", price=Decimal(199000)
        )
        await add_addon(conn, host, gift, Decimal(1))
    pushed = await env.run("product_sync")
    assert pushed["status"] == "completed", pushed["error_message"]
    return Bundled(env, shirt, cap, socks, gift, host, combo_a, combo_b)


def _shop_stock(env: SyncEnv, variant: str) -> int:
    return int(env.sandbox_variant(env.catalog.skus[variant]).stock)


@pytest.fixture(params=PLATFORMS)
async def bundled(request: pytest.FixtureRequest, sync_settings: Settings) -> AsyncIterator[Bundled]:
    async with sync_env(sync_settings, request.param, variants=12) as made:
        yield await _bundled(made)


async def test_combo_stock_follows_its_components_on_the_shop(bundled: Bundled) -> None:
    b, env = bundled, bundled.env
    assert _shop_stock(env, b.combo_a) == 20  # min(41 // 2, 30): its own 999 is not read
    assert _shop_stock(env, b.combo_b) == 7
    async with Scheduler(env.settings, env.pool, env.rt.service).running():
        await _set_stock(env, b.cap, 5)  # limits both combos

        async def followed() -> bool:
            return _shop_stock(env, b.combo_a) == 5 and _shop_stock(env, b.combo_b) == 5

        await wait_until(followed, 30, "both combos at the cap's new stock")
        await env.pool.execute("UPDATE \"ProductVariant\" SET status = 'DEACTIVATED' WHERE id = $1", b.socks)

        async def gone() -> bool:
            return _shop_stock(env, b.combo_b) == 0 and _shop_stock(env, b.combo_a) == 5

        await wait_until(gone, 30, "combo B at 0 once its socks are deactivated")
    own = await env.stock(b.combo_a)
    assert own == (Decimal(999), Decimal(0))


@pytest.fixture(params=["lazada", "woocommerce"])  # the stock moves are the platforms' own; two status vocabularies
async def two(request: pytest.FixtureRequest, sync_settings: Settings) -> AsyncIterator[Bundled]:
    async with sync_env(sync_settings, request.param, variants=12) as made:
        yield await _bundled(made)


async def test_orders_move_components_and_add_ons_never_the_combo_row(two: Bundled) -> None:
    b, env = two, two.env
    opened, shipped, cancelled = STATUSES[env.shop.platform]
    session = await env.session("order_sync", "marketplace_to_crm")
    store = OrderStore(session, ItemLog(session.ctx, env.pool, env.shop.shop_id), env.catalog.merchant_id)
    before = {v: await env.stock(v) for v in (b.shirt, b.cap, b.gift, b.host, b.combo_a)}
    now = datetime.now(UTC).replace(microsecond=0)
    order = Order(
        platform_order_id="COMBO-1",
        status=opened,
        created_at=now,
        updated_at=now,
        currency="VND",
        total=Decimal(1000000),
        lines=[
            OrderLine(platform_line_id="1", sku=env.catalog.skus[b.combo_a], quantity=3, unit_price=Decimal(399000)),
            OrderLine(platform_line_id="2", sku=env.catalog.skus[b.host], quantity=2, unit_price=Decimal(100000)),
        ],
    )
    await store.save(order)
    assert await env.stock(b.shirt) == (before[b.shirt][0], before[b.shirt][1] + 6)
    assert await env.stock(b.cap) == (before[b.cap][0], before[b.cap][1] + 3)
    assert await env.stock(b.host) == (before[b.host][0], before[b.host][1] + 2)
    assert await env.stock(b.gift) == (before[b.gift][0], before[b.gift][1] + 2)
    assert await env.stock(b.combo_a) == before[b.combo_a]
    await store.save(order.model_copy(update={"status": shipped, "updated_at": now + timedelta(minutes=1)}))
    assert await env.stock(b.shirt) == (before[b.shirt][0] - 6, before[b.shirt][1])
    assert await env.stock(b.gift) == (before[b.gift][0] - 2, before[b.gift][1])
    assert await env.stock(b.combo_a) == before[b.combo_a]
    second = order.model_copy(update={"platform_order_id": "COMBO-2"})
    await store.save(second)
    await store.save(second.model_copy(update={"status": cancelled, "updated_at": now + timedelta(minutes=1)}))
    assert await env.stock(b.shirt) == (before[b.shirt][0] - 6, before[b.shirt][1])  # reserved, then released
    assert await env.stock(b.cap) == (before[b.cap][0] - 3, before[b.cap][1])
    assert store.items.counts["failed"] == 0


@pytest.fixture
async def shopee(sync_settings: Settings) -> AsyncIterator[Bundled]:
    async with sync_env(sync_settings, "shopee", variants=12) as made:
        yield await _bundled(made)


async def test_a_bundle_cycle_fails_its_item_and_the_rest_goes_on(shopee: Bundled) -> None:
    b, env = shopee, shopee.env
    async with env.pool.acquire() as conn:  # B now also contains A, and A contains B: a cycle through two combos
        await conn.execute(
            'INSERT INTO "ProductBundler" (type, "leadVariantId", "relatedVariantId", quantity) '
            "VALUES ('000_COMBO', $1, $2, 1), ('000_COMBO', $2, $1, 1)",
            b.combo_b,
            b.combo_a,
        )
    await _set_stock(env, b.host, 33)
    task = await env.run("inventory_sync")
    assert task["status"] == "completed", task["error_message"]
    failed = await env.pool.fetch(
        "SELECT entity_id, error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"]
    )
    assert {r["entity_id"] for r in failed} == {b.combo_a, b.combo_b}
    assert all("bundle cycle" in r["error_message"] for r in failed)
    assert _shop_stock(env, b.combo_a) == 0 and _shop_stock(env, b.combo_b) == 0  # nothing oversells
    assert _shop_stock(env, b.host) == 33  # the rest of the sync went on
    session = await env.session("order_sync", "marketplace_to_crm")
    store = OrderStore(session, ItemLog(session.ctx, env.pool, env.shop.shop_id), env.catalog.merchant_id)
    now = datetime.now(UTC).replace(microsecond=0)
    cap_before = await env.stock(b.cap)
    await store.save(
        Order(
            platform_order_id="CYCLE-1",
            status=STATUSES["shopee"][0],
            created_at=now,
            updated_at=now,
            currency="VND",
            total=Decimal(1),
            lines=[OrderLine(platform_line_id="1", sku=env.catalog.skus[b.combo_a], quantity=1, unit_price=Decimal(1))],
        )
    )
    assert await env.pool.fetchval('SELECT count(*) FROM "SalesOrder" WHERE "externalOrderId" = \'CYCLE-1\'') == 1
    assert await env.stock(b.cap) == cap_before
    assert store.items.counts["failed"] == 1


async def test_plan_shows_each_combo_and_the_component_that_limits_it(shopee: Bundled) -> None:
    b, env = shopee, shopee.env
    await _set_stock(env, b.shirt, 9)
    result = await plan(await env.session("inventory_sync"), "inventory_sync")
    items = {item["variant_id"]: item for item in result["items"]}
    assert items[b.combo_a]["combo_makes"] == "4" and items[b.combo_a]["action"] == "update"
    assert items[b.combo_a]["limited_by"] == env.catalog.skus[b.shirt]
    assert items[b.combo_b]["combo_makes"] == "7" and items[b.combo_b]["action"] == "skip"
    assert items[b.combo_b]["limited_by"] == env.catalog.skus[b.socks]


async def test_another_merchants_variant_in_a_combo_is_never_reached(shopee: Bundled) -> None:
    b, env = shopee, shopee.env
    other_org = await env.pool.fetchval("INSERT INTO organizations (name) VALUES ('Other org') RETURNING id")
    async with env.pool.acquire() as conn:
        other = await seed_catalog(conn, organization_id=other_org, variants=2, name="Other shop")
        foreign = other.variant_ids[0]
        await conn.execute(
            'INSERT INTO "ProductBundler" (type, "leadVariantId", "relatedVariantId", quantity) '
            "VALUES ('000_COMBO', $1, $2, 1), ('100_ADDON', $3, $2, 1)",
            b.combo_b,
            foreign,
            b.host,
        )
    foreign_before = await env.stock(foreign)
    session = await env.session("order_sync", "marketplace_to_crm")
    store = OrderStore(session, ItemLog(session.ctx, env.pool, env.shop.shop_id), env.catalog.merchant_id)
    now = datetime.now(UTC).replace(microsecond=0)
    lines = [
        OrderLine(platform_line_id="1", sku=env.catalog.skus[b.combo_b], quantity=2, unit_price=Decimal(1)),
        OrderLine(platform_line_id="2", sku=env.catalog.skus[b.host], quantity=2, unit_price=Decimal(1)),
    ]
    await store.save(
        Order(
            platform_order_id="X-1",
            status="READY_TO_SHIP",
            created_at=now,
            updated_at=now,
            currency="VND",
            total=Decimal(2),
            lines=lines,
        )
    )
    assert await env.stock(foreign) == foreign_before
    values = await crm.variant_values(env.pool, env.shop.shop_id, [b.combo_b], "VND")
    assert values[0].bundle is not None and values[0].bundle.limited_by in (b.cap, b.socks)


async def test_database_offers_match_the_model_on_random_catalogs(shopee: Bundled) -> None:
    """Random combos (nested, shared components) and stock in PostgreSQL: every offer read through the CRM queries is
    the most the components can make, taking parts one combo at a time."""
    env = shopee.env
    plain = shopee.env.catalog.variant_ids[:8]
    rng = random.Random(18)
    for _round in range(6):
        stock = {v: rng.randrange(0, 40) for v in plain}
        for variant, units in stock.items():
            await _set_stock(env, variant, units + 3, 3)
        combos: list[str] = []
        parts: dict[str, list[tuple[str, int]]] = {}
        async with env.pool.acquire() as conn:
            for index in range(4):
                chosen = rng.sample(plain + combos, k=min(3, len(plain + combos)))
                parts_of = [(v, rng.randrange(1, 4)) for v in chosen]
                combo = await add_combo(
                    conn, env.catalog, [(v, Decimal(q)) for v, q in parts_of], name=f"r{index}", price=Decimal(1)
                )
                parts[combo] = parts_of
                combos.append(combo)
            products = await crm.channel_products(
                conn,
                sale_channel_id=env.catalog.sale_channel_id,
                shop_id=env.shop.shop_id,
                filters=crm.CatalogFilter(product_ids=[env.catalog.product_of[c] for c in combos]),
                currency="VND",
                locale="en",
            )
        offers = {v.variant_id: v.available for p in products for v in p.variants}
        for combo in combos:
            assert _makes(parts, combo, offers[combo], stock), (combo, offers[combo], parts, stock)
            assert not _makes(parts, combo, offers[combo] + 1, stock), (combo, offers[combo], parts, stock)


def _makes(parts: dict[str, list[tuple[str, int]]], combo: str, count: int, stock: dict[str, int]) -> bool:
    left = dict(stock)

    def take(variant: str, units: int) -> None:
        if variant not in parts:
            left[variant] -= units
            return
        for part, quantity in parts[variant]:
            take(part, units * quantity)

    take(combo, count)
    return all(units >= 0 for units in left.values())
