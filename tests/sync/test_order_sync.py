"""order_sync end to end: webhooks through the live API, polls, exactly-once import, status order, stock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from nfsync.connectors.base.models import Order, OrderLine
from nfsync.workers.sync.item_log import ItemLog
from nfsync.workers.sync.orders import OrderStore
from tests.engine.conftest import wait_until
from tests.sync.conftest import SyncEnv


async def _orders(env: SyncEnv, external_id: str) -> int:
    return int(await env.pool.fetchval('SELECT count(*) FROM "SalesOrder" WHERE "externalOrderId" = $1', external_id))


async def _settled(env: SyncEnv) -> bool:
    busy = await env.pool.fetchval(
        "SELECT count(*) FROM sync_tasks WHERE task_type = 'order_sync' AND status IN ('pending', 'processing')"
    )
    return int(busy) == 0


async def test_order_arrives_once_despite_three_webhooks_and_a_poll(hooked: SyncEnv) -> None:
    env = hooked
    assert (await env.run("product_sync"))["status"] == "completed"
    variant = env.catalog.variant_ids[0]
    _, reserved_before = await env.stock(variant)
    order = env.sandbox.add_order(
        env.shop.sb_shop, [{"sku": env.catalog.skus[variant], "quantity": 2}], status=env.sandbox.initial_order_status()
    )
    for _ in range(3):
        env.sandbox.push(env.shop.sb_shop, {"kind": "order_status_changed", "order": order})
    await env.sandbox.drain_pushes()

    async def imported() -> bool:
        return await _orders(env, order.order_id) == 1 and await _settled(env)

    await wait_until(imported, 60, "the pushed order in the CRM")
    order.updated_at -= 2  # a poll runs after the second the order changed in (platforms count whole seconds)
    poll = await env.run("order_sync")
    assert poll["status"] == "completed", poll["error_message"]
    assert await _orders(env, order.order_id) == 1
    mapping = await env.pool.fetchrow("SELECT * FROM order_mappings WHERE platform_order_id = $1", order.order_id)
    assert mapping["sync_count"] >= 2  # the push and the poll both saw it
    lines = await env.pool.fetch(
        'SELECT l.* FROM "SalesOrderLine" l JOIN "SalesOrder" o ON o.id = l."orderId" WHERE o."externalOrderId" = $1',
        order.order_id,
    )
    assert {line["variantId"] for line in lines} == {variant}
    assert sum(line["quantity"] for line in lines) == 2  # Lazada lists one order item per unit
    _, reserved = await env.stock(variant)
    assert reserved == reserved_before + 2


async def test_cancelled_order_releases_its_reservation(env: SyncEnv) -> None:
    assert (await env.run("product_sync"))["status"] == "completed"
    variant = env.catalog.variant_ids[1]
    on_hand, reserved = await env.stock(variant)
    order = env.sandbox.add_order(
        env.shop.sb_shop, [{"sku": env.catalog.skus[variant], "quantity": 1}], status=env.sandbox.initial_order_status()
    )
    first = await env.run("order_sync", filters={"order_ids": [order.order_id]})
    assert first["status"] == "completed", first["error_message"]
    assert first["result"]["items"] == {"import:success": 1, "success": 1}, first["result"]
    assert await env.stock(variant) == (on_hand, reserved + 1)
    cancelled = {
        "shopee": "CANCELLED",
        "lazada": "canceled",
        "tiktok": "CANCELLED",
        "woocommerce": "cancelled",
        "shopify": "cancelled",
    }
    order.status = cancelled[env.shop.platform]
    order.updated_at += 5
    again = await env.run("order_sync", filters={"order_ids": [order.order_id]})
    assert again["status"] == "completed", again["error_message"]
    status = await env.pool.fetchval('SELECT status FROM "SalesOrder" WHERE "externalOrderId" = $1', order.order_id)
    assert status == "CANCELLED"
    assert await env.stock(variant) == (on_hand, reserved)


async def test_out_of_order_updates_never_move_an_order_back(env: SyncEnv) -> None:
    assert (await env.run("product_sync"))["status"] == "completed"
    session = await env.session("order_sync", "marketplace_to_crm")
    merchant = env.catalog.merchant_id
    store = OrderStore(session, ItemLog(session.ctx, env.pool, env.shop.shop_id), merchant)
    sku = env.catalog.skus[env.catalog.variant_ids[2]]
    base = Order(
        platform_order_id="OOO-1",
        status="x",
        created_at=_now(),
        updated_at=_now(),
        currency="VND",
        total=Decimal(100000),
        lines=[OrderLine(platform_line_id="1", sku=sku, quantity=1, unit_price=Decimal(100000))],
    )
    statuses = {
        "shopee": ("UNPAID", "SHIPPED"),
        "lazada": ("unpaid", "shipped"),
        "tiktok": ("UNPAID", "IN_TRANSIT"),
        "woocommerce": ("pending", "completed"),
        "shopify": ("pending", "fulfilled"),
    }[env.shop.platform]
    newer = base.model_copy(update={"status": statuses[1], "updated_at": base.updated_at + timedelta(minutes=5)})
    older = base.model_copy(update={"status": statuses[0]})
    await store.save(newer)
    await store.save(older)  # delivered late
    later_but_lower = base.model_copy(
        update={"status": statuses[0], "updated_at": base.updated_at + timedelta(hours=1)}
    )
    await store.save(later_but_lower)
    row = await env.pool.fetchrow('SELECT status FROM "SalesOrder" WHERE "externalOrderId" = $1', "OOO-1")
    assert row["status"] in ("SHIPPED", "COMPLETED")
    assert await _orders(env, "OOO-1") == 1
    assert store.items.counts["skip:skipped"] == 2


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0)


async def test_concurrent_order_pushes_for_one_shop_all_arrive(hooked: SyncEnv) -> None:
    """Ten pushes at once race on the shop's pending order_sync; none may be stored without its task."""
    env = hooked
    assert (await env.run("product_sync"))["status"] == "completed"
    sku = env.catalog.skus[env.catalog.variant_ids[0]]
    orders = [
        env.sandbox.add_order(
            env.shop.sb_shop, [{"sku": sku, "quantity": 1}], status=env.sandbox.initial_order_status()
        )
        for _ in range(10)
    ]
    for order in orders:
        env.sandbox.push(env.shop.sb_shop, {"kind": "order_status_changed", "order": order})
    await env.sandbox.drain_pushes()

    async def all_imported() -> bool:
        ids = [o.order_id for o in orders]
        count = await env.pool.fetchval('SELECT count(*) FROM "SalesOrder" WHERE "externalOrderId" = ANY($1)', ids)
        return int(count) == len(orders) and await _settled(env)

    await wait_until(all_imported, 60, "every pushed order in the CRM")
    orphans = await env.pool.fetchval(
        "SELECT count(*) FROM marketplace_webhooks WHERE event_type = 'order_status_changed' AND task_id IS NULL"
    )
    assert orphans == 0
