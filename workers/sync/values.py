"""Price and stock writes of mapped variants, batched to the platform's cap by the connector, with per-item results
recorded on the mappings and in sync_logs. Shared by product_sync (after content), inventory_sync and price_sync."""

from __future__ import annotations

from collections.abc import Sequence

from nfsync.connectors.base.models import ItemResult, PriceUpdate, StockUpdate
from nfsync.workers.sync.catalog import ValueChange
from nfsync.workers.sync.common import chunks
from nfsync.workers.sync.item_log import ItemLog, ValueEntity
from nfsync.workers.sync.mappings import record_failed, record_pushed
from nfsync.workers.sync.session import ShopSession

BATCH = 500  # variants per round: progress, checkpoints and mapping writes between rounds


def units(changes: Sequence[ValueChange]) -> int:
    """Item outcomes these changes produce (one per price write and per stock write)."""
    return sum((c.price is not None) + (c.stock is not None) for c in changes)


async def push_values(shop: ShopSession, items: ItemLog, changes: Sequence[ValueChange]) -> None:
    stock = [c for c in changes if c.stock is not None]
    prices = [c for c in changes if c.price is not None]
    for batch in chunks(stock, BATCH):
        await shop.ctx.checkpoint()
        updates = [
            StockUpdate(
                platform_item_id=c.platform_item_id,
                platform_variant_id=c.platform_variant_id,
                sku=c.sku,
                quantity=int(c.stock or 0),
                warehouses=c.warehouses,
            )
            for c in batch
        ]
        results = await _write(shop, "stock", updates)
        await _record(shop, items, batch, results, "inventory")
    for batch in chunks(prices, BATCH):
        await shop.ctx.checkpoint()
        price_updates = [
            PriceUpdate(
                platform_item_id=c.platform_item_id, platform_variant_id=c.platform_variant_id, sku=c.sku, price=c.price
            )
            for c in batch
            if c.price is not None
        ]
        results = await _write(shop, "price", price_updates)
        await _record(shop, items, batch, results, "price")


async def _write(
    shop: ShopSession, kind: str, updates: Sequence[StockUpdate] | Sequence[PriceUpdate]
) -> list[ItemResult]:
    if kind == "stock":
        return await shop.client.update_stock(updates)  # type: ignore[arg-type]
    return await shop.client.update_prices(updates)  # type: ignore[arg-type]


async def _record(
    shop: ShopSession, items: ItemLog, batch: list[ValueChange], results: list[ItemResult], entity: ValueEntity
) -> None:
    by_sku = {r.sku: r for r in results}
    pushed: list[tuple[str, object, object, str | None]] = []
    failed: list[tuple[str, str]] = []
    for change in batch:
        result = by_sku.get(change.sku)
        value = change.stock if entity == "inventory" else change.price
        if result is not None and result.ok:
            pushed.append(
                (
                    change.variant_id,
                    change.price if entity == "price" else None,
                    change.stock if entity == "inventory" else None,
                    change.status,
                )
            )
            await items.add(
                entity,
                "update",
                "success",
                entity_id=change.variant_id,
                platform_entity_id=change.platform_variant_id or change.platform_item_id,
                details={"value": str(value), "status": change.status},
            )
            continue
        message = (result.error_message if result else None) or "the platform returned no result for this SKU"
        failed.append((change.variant_id, message))
        await items.add(
            entity,
            "update",
            "failed",
            entity_id=change.variant_id,
            platform_entity_id=change.platform_variant_id or change.platform_item_id,
            error_code=result.error_code if result else None,
            error_message=message,
            details={"value": str(value)},
        )
    await record_pushed(shop.pool, shop, pushed)  # type: ignore[arg-type]
    await record_failed(shop.pool, shop, failed)
