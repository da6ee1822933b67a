"""inventory_sync and price_sync: the CRM's current values of mapped variants, pushed only where they differ from
what was last pushed (``filter_criteria.force`` pushes them all).

Stock is the absolute available quantity (on hand - reserved) after the shop's rules (config.inventory: safety
buffer, allocation percentage, zero-below threshold); a variant no longer active on the channel is pushed 0. Prices
are the merchant-currency ``"VariantPrice"``, two decimals; each connector writes them in its platform's format
(Shopee integers where the region has no decimals, Lazada and TikTok strings, WooCommerce ``regular_price``).

A combo or kit is offered what its components can make (workers/bundles.py); a malformed one is offered 0 and its
item fails with the reason.
"""

from __future__ import annotations

from typing import Any

from nfsync.connectors.base.errors import PermanentError
from nfsync.workers import crm
from nfsync.workers.engine.filters import InventorySyncFilter, PriceSyncFilter
from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.sync.catalog import ValueChange
from nfsync.workers.sync.common import run_shop_task
from nfsync.workers.sync.item_log import ItemLog, ValueEntity
from nfsync.workers.sync.rules import StockRules, money
from nfsync.workers.sync.session import ShopSession
from nfsync.workers.sync.values import push_values, units


async def inventory_sync(ctx: TaskContext) -> dict[str, Any]:
    return await run_shop_task(ctx, _inventory)


async def price_sync(ctx: TaskContext) -> dict[str, Any]:
    return await run_shop_task(ctx, _prices)


async def _values(shop: ShopSession, *, per_location: bool = False) -> list[crm.VariantValue]:
    channel = shop.row["sale_channel_id"]
    if not channel:
        raise PermanentError(f"shop {shop.row['shop_name']} has no sale channel: set sale_channel_id")
    variant_ids = shop.ctx.task.filters(InventorySyncFilter).variant_ids or None
    async with shop.pool.acquire() as conn:
        _, currency = await crm.channel_merchant(conn, channel, shop.row["organization_id"])
        return await crm.variant_values(conn, shop.shop_id, variant_ids, currency, per_location=per_location)


def stock_changes(values: list[crm.VariantValue], rules: StockRules, *, force: bool) -> list[ValueChange]:
    changes = []
    for v in values:
        quantity, split = rules.offer(v.available, v.by_location) if v.active else (0, rules.nothing())
        if force or quantity != v.last_pushed_stock:
            changes.append(
                ValueChange(
                    v.variant_id,
                    v.platform_item_id,
                    v.platform_variant_id,
                    v.platform_sku or v.variant_id,
                    stock=quantity,
                    status="active" if v.active else "delisted",
                    warehouses=split,
                )
            )
    return changes


def price_changes(values: list[crm.VariantValue], *, force: bool) -> list[ValueChange]:
    return [
        ValueChange(
            v.variant_id,
            v.platform_item_id,
            v.platform_variant_id,
            v.platform_sku or v.variant_id,
            price=money(v.price),
        )
        for v in values
        if v.price is not None and (force or money(v.price) != money(v.last_pushed_price))
    ]


async def _inventory(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    rules = StockRules.parse(shop.rules("inventory"))
    values = await _values(shop, per_location=bool(rules.warehouses))
    force = shop.ctx.task.filters(InventorySyncFilter).force
    changes = stock_changes(values, rules, force=force)
    for v in values:
        if v.bundle is not None and v.bundle.error:
            await items.add(
                "inventory",
                "update",
                "failed",
                entity_id=v.variant_id,
                platform_entity_id=v.platform_variant_id or v.platform_item_id,
                error_message=f"{v.bundle.error}; the shop is offered 0 until it is fixed",
            )
    return await _push(shop, items, values, changes, "inventory")


async def _prices(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    values = await _values(shop)
    force = shop.ctx.task.filters(PriceSyncFilter).force
    for v in values:
        if v.price is None:
            await items.add(
                "price", "update", "failed", entity_id=v.variant_id, error_message="missing required fields: price"
            )
    return await _push(shop, items, values, price_changes(values, force=force), "price")


async def _push(
    shop: ShopSession, items: ItemLog, values: list[crm.VariantValue], changes: list[ValueChange], entity: ValueEntity
) -> dict[str, Any]:
    unchanged = len(values) - len(changes)
    shop.ctx.report(total=units(changes) + unchanged)
    changed = {c.variant_id for c in changes}
    for v in values:
        if v.variant_id not in changed and (entity != "price" or v.price is not None):
            await items.add(
                entity,
                "skip",
                "skipped",
                entity_id=v.variant_id,
                platform_entity_id=v.platform_variant_id or v.platform_item_id,
                error_message="unchanged since the last push",
            )
    await push_values(shop, items, changes)
    return {"changed": len(changes), "unchanged": unchanged}
