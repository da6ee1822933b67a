"""order_sync (marketplace_to_crm): marketplace orders into the CRM, exactly once.

Which orders: those named by the pushes that asked for this task (``marketplace_webhooks.task_id``) and by
``filter_criteria.order_ids``; plus, unless the task asks only for specific orders, every order updated since the
shop's cursor (``order_cursor_at`` minus an overlap), read in one-day windows that the connector pages as its
platform requires. The cursor advances to a window's end only once the whole window is stored.

Each order is stored in one transaction under the lock of its ``order_mappings`` row (unique per shop and platform
order id): the first sight inserts the ``"SalesOrder"``, its lines and the mapping; later sights update them only
when the platform's update time is newer and the CRM status does not move back (see ``ORDER_STATUS_RANK``). Stock
follows the order: reserved while it is open, taken off hand when it ships, released when it is cancelled.
A combo or kit line moves its components' stock (never the combo's own row), and a host variant's line its add-ons'
stock too (workers/bundles.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import Order
from nfsync.workers import crm, crm_customers
from nfsync.workers.bundles import BundleInvalid, Bundles
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import OrderSyncFilter
from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.engine.models import to_utc_naive
from nfsync.workers.sync.common import chunks, run_shop_task
from nfsync.workers.sync.item_log import ItemAction, ItemLog, ItemStatus
from nfsync.workers.sync.rules import order_window
from nfsync.workers.sync.session import ShopSession

# Platform order status (lower case) -> CRM "SalesOrder".status. Documented in docs/sync.md.
STATUS_MAP: dict[str, dict[str, str]] = {
    "shopee": {
        "unpaid": "PENDING",
        "ready_to_ship": "CONFIRMED",
        "processed": "PROCESSING",
        "retry_ship": "PROCESSING",
        "in_cancel": "PROCESSING",
        "shipped": "SHIPPED",
        "to_confirm_receive": "DELIVERED",
        "completed": "COMPLETED",
        "cancelled": "CANCELLED",
        "to_return": "RETURNED",
    },
    "lazada": {
        "unpaid": "PENDING",
        "pending": "CONFIRMED",
        "topack": "CONFIRMED",
        "packed": "PROCESSING",
        "repacked": "PROCESSING",
        "ready_to_ship": "PROCESSING",
        "ready_to_ship_pending": "PROCESSING",
        "toship": "PROCESSING",
        "shipping": "SHIPPED",
        "shipped": "SHIPPED",
        "delivered": "DELIVERED",
        "confirmed": "COMPLETED",
        "canceled": "CANCELLED",
        "cancelled": "CANCELLED",
        "returned": "RETURNED",
        "failed": "RETURNED",
        "failed_delivery": "RETURNED",
        "shipped_back": "RETURNED",
        "shipped_back_success": "RETURNED",
        "shipped_back_failed": "RETURNED",
        "lost": "CANCELLED",
        "lost_by_3pl": "CANCELLED",
        "damaged_by_3pl": "CANCELLED",
        "package_scrapped": "CANCELLED",
    },
    "tiktok": {
        "unpaid": "PENDING",
        "on_hold": "PENDING",
        "awaiting_shipment": "CONFIRMED",
        "partially_shipping": "PROCESSING",
        "awaiting_collection": "PROCESSING",
        "in_transit": "SHIPPED",
        "delivered": "DELIVERED",
        "completed": "COMPLETED",
        "cancelled": "CANCELLED",
    },
    # A status key the client derives from cancelledAt, displayFinancialStatus and displayFulfillmentStatus
    # (connectors/shopify/mapping.py order_status); the doc's proposed mapping (docs/platforms/shopify.md "Order
    # statuses", a product decision): no delivered or completed state exists in Shopify's display enums.
    "shopify": {
        "cancelled": "CANCELLED",
        "refunded": "RETURNED",
        "voided": "CANCELLED",
        "expired": "CANCELLED",
        "pending": "PENDING",
        "authorized": "PENDING",
        "partially_paid": "PENDING",
        "fulfilled": "SHIPPED",
        "partially_fulfilled": "PROCESSING",
        "in_progress": "PROCESSING",
        "pending_fulfillment": "PROCESSING",
        "on_hold": "CONFIRMED",
        "scheduled": "CONFIRMED",
        "request_declined": "CONFIRMED",
        "unfulfilled": "CONFIRMED",
        "open": "CONFIRMED",
        "restocked": "CONFIRMED",
        "fulfillment_not_required": "CONFIRMED",
    },
    "woocommerce": {
        "pending": "PENDING",
        "on-hold": "PENDING",
        "checkout-draft": "PENDING",
        "processing": "CONFIRMED",
        "completed": "COMPLETED",
        "cancelled": "CANCELLED",
        "refunded": "RETURNED",
        "failed": "CANCELLED",
    },
}
WINDOW = timedelta(days=1)
GET_BATCH = 50


def crm_status(platform: str, status: str) -> str | None:
    """The CRM status of a platform status; None when unknown (the order keeps its status)."""
    return STATUS_MAP.get(platform, {}).get(status.strip().lower())


async def order_sync(ctx: TaskContext) -> dict[str, Any]:
    return await run_shop_task(ctx, _order_sync)


async def _order_sync(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    filters = shop.ctx.task.filters(OrderSyncFilter)
    channel = shop.row["sale_channel_id"]
    if not channel:
        raise PermanentError(f"shop {shop.row['shop_name']} has no sale channel: set sale_channel_id")
    async with shop.pool.acquire() as conn:
        merchant, _ = await crm.channel_merchant(conn, channel, shop.row["organization_id"])
    store = OrderStore(shop, items, merchant)
    wanted = await _named_orders(shop, store, filters.order_ids or [])
    windows = 0
    if not filters.named_only:
        windows = await _incremental(shop, store, filters)
    return {"orders_named": len(wanted), "windows": windows}


async def _named_orders(shop: ShopSession, store: OrderStore, order_ids: list[str]) -> list[str]:
    """The orders the filter and this task's pushes name; pushes attached while it ran are read again."""
    done: set[str] = set()
    wanted = list(order_ids)
    while True:
        pushed = [r["entity_id"] for r in await shop.pool.fetch(QUERIES["sync_webhook_orders"], shop.ctx.task.id)]
        batch = [o for o in dict.fromkeys([*wanted, *pushed]) if o not in done]
        if not batch:
            return sorted(done)
        shop.ctx.report(total=len(done) + len(batch))
        for chunk in chunks(batch, GET_BATCH):
            await shop.ctx.checkpoint()
            await _fetch_and_save(shop, store, chunk)
        done.update(batch)
        wanted = []


async def _fetch_and_save(shop: ShopSession, store: OrderStore, chunk: list[str]) -> None:
    found = await shop.client.get_orders(chunk)
    for order in found:
        await store.save(order)
    for missing in sorted(set(chunk) - {o.platform_order_id for o in found}):
        await store.items.add(
            "order",
            "import",
            "failed",
            platform_entity_id=missing,
            error_message="the platform does not return this order",
        )


async def _incremental(shop: ShopSession, store: OrderStore, filters: OrderSyncFilter) -> int:
    """Orders updated in [start, end), one window at a time; the cursor advances after each stored window."""
    start, end = order_window(filters)
    explicit = start is not None
    rules = shop.rules("orders")
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # windows end on whole seconds, as platforms count
    end = min(end or now, now)
    if start is None:
        cursor = shop.row["order_cursor_at"]
        overlap = timedelta(seconds=int(rules.get("overlap_seconds", 300)))
        start = cursor - overlap if cursor else now - timedelta(days=int(rules.get("initial_days", 7)))
    windows = 0
    while start < end:
        await shop.ctx.checkpoint()
        stop = min(start + WINDOW, end)
        async for order in shop.client.iter_orders(start.replace(tzinfo=UTC), stop.replace(tzinfo=UTC)):
            await store.save(order)
        if not explicit:
            await shop.pool.execute(QUERIES["sync_order_cursor_advance"], shop.shop_id, stop)
        start, windows = stop, windows + 1
    return windows


class OrderStore:
    """Saves orders into the CRM exactly once per (shop, platform order id)."""

    def __init__(self, shop: ShopSession, items: ItemLog, merchant: str) -> None:
        self.shop, self.items, self.merchant = shop, items, merchant

    async def save(self, order: Order) -> None:
        status = crm_status(self.shop.platform, order.status)
        async with self.shop.pool.acquire() as conn, conn.transaction():
            mapping = await conn.fetchrow(
                QUERIES["sync_order_mapping_for_update"], self.shop.shop_id, order.platform_order_id
            )
            lines = await self._lines(conn, order)
            bundles = await crm.bundles_around(conn, [ln.variant_id for ln in lines if ln.variant_id], addons=True)
            stocked, refused = _stocked(lines, bundles)
            if mapping is None:
                outcome = await self._create(conn, order, status or "PENDING", lines, stocked)
            else:
                outcome = await self._update(conn, mapping, order, status, lines, stocked=stocked)
        action, result, message = outcome
        for reason in refused if result == "success" else []:
            await self.items.add(
                "order",
                action,
                "failed",
                platform_entity_id=order.platform_order_id,
                error_message=f"{reason}; the line's stock is not reserved until the bundle is fixed",
            )
        await self.items.add(
            "order",
            action,
            result,
            entity_id=None,
            platform_entity_id=order.platform_order_id,
            error_message=message,
            details={"platform_status": order.status, "crm_status": status},
        )

    async def _lines(self, conn: Any, order: Order) -> list[crm.OrderLineRow]:
        skus = [ln.sku for ln in order.lines if ln.sku]
        items = [ln.platform_item_id for ln in order.lines if ln.platform_item_id]
        mapped = await conn.fetch(QUERIES["sync_variants_of_mappings"], self.shop.shop_id, skus, items)
        by_variant = {(r["platform_item_id"], r["platform_variant_id"]): r["variant_id"] for r in mapped}
        by_sku = {r["platform_sku"]: r["variant_id"] for r in mapped if r["platform_sku"]}
        missing = [s for s in skus if s not in by_sku]
        crm_skus = await crm.variants_by_sku(conn, self.merchant, missing)
        rows = []
        for number, line in enumerate(order.lines, start=1):
            variant = (
                by_variant.get((line.platform_item_id, line.platform_variant_id))
                or by_sku.get(line.sku or "")
                or (crm_skus.get(line.sku or "") or (None, None))[0]
            )
            rows.append(
                crm.OrderLineRow(
                    number,
                    variant,
                    line.sku,
                    line.name or line.sku or "item",
                    Decimal(line.quantity),
                    line.unit_price,
                    line.platform_line_id,
                )
            )
        return rows

    def _values(self, order: Order, status: str) -> dict[str, Any]:
        return {
            "merchant_id": self.merchant,
            "sale_channel_id": self.shop.row["sale_channel_id"],
            "platform": self.shop.platform,
            "shop": str(self.shop.row["platform_shop_id"]),
            "external_id": order.platform_order_id,
            "status": status,
            "currency": order.currency or "VND",
            "subtotal": order.subtotal,
            "shipping_fee": order.shipping_fee,
            "total": order.total,
            "buyer": None,  # sealed by crm_customers.attach_to_order (personal data, issue #18)
            "placed_at": order.created_at,
        }

    async def _attach_customer(self, conn: Any, crm_id: str, order: Order) -> None:
        """The order's buyer as a CRM customer and its buyer data sealed, in the order's transaction."""
        source = crm_customers.BuyerSource(
            self.merchant,
            self.shop.platform,
            str(self.shop.row["platform_shop_id"]),
            order.updated_at,
            order.created_at,
        )
        await crm_customers.attach_to_order(
            conn, self.shop.res.keyring, crm_id, raw=order.buyer, buyer=order.customer, source=source
        )

    async def _create(
        self, conn: Any, order: Order, status: str, lines: list[crm.OrderLineRow], stocked: list[tuple[str, Decimal]]
    ) -> tuple[ItemAction, ItemStatus, str | None]:
        values = self._values(order, status)
        crm_id = await crm.insert_order(conn, values)
        if crm_id is None:  # imported before without a mapping (should not happen): adopt it
            found = await crm.find_order(conn, values["platform"], values["shop"], order.platform_order_id)
            assert found is not None
            crm_id = found[0]
        await crm.replace_lines(conn, crm_id, lines)
        await self._attach_customer(conn, crm_id, order)
        effect = crm.stock_effect(status)
        await crm.adjust_stock(conn, self.merchant, crm.stock_transition([], "none", stocked, effect))
        row = self.shop.row
        await conn.execute(
            QUERIES["sync_order_mapping_insert"],
            row["organization_id"],
            row["id"],
            self.shop.shop_id,
            self.shop.platform,
            order.platform_order_id,
            crm_id,
            order.status[:50],
            status,
            to_utc_naive(order.updated_at),
            _meta(effect, stocked),
        )
        return "import", "success", None

    async def _update(
        self,
        conn: Any,
        mapping: asyncpg.Record,
        order: Order,
        status: str | None,
        lines: list[crm.OrderLineRow],
        *,
        stocked: list[tuple[str, Decimal]],
    ) -> tuple[ItemAction, ItemStatus, str | None]:
        updated_at = to_utc_naive(order.updated_at)
        if updated_at <= mapping["platform_updated_at"]:
            await conn.execute(QUERIES["sync_order_mapping_seen"], mapping["id"])
            older = updated_at < mapping["platform_updated_at"]
            return "skip", "skipped", "an older update of this order" if older else "already up to date"
        old_status = mapping["crm_status"]
        new_status = status or old_status
        if crm.ORDER_STATUS_RANK.get(new_status, 0) < crm.ORDER_STATUS_RANK.get(old_status, 0):
            await conn.execute(QUERIES["sync_order_mapping_seen"], mapping["id"])
            return "skip", "skipped", f"would move the order back from {old_status} to {new_status}"
        meta = mapping["metadata"] if isinstance(mapping["metadata"], dict) else {}
        before = [(str(v), Decimal(q)) for v, q in meta.get("stocked", [])]
        effect = crm.stock_effect(new_status)
        await crm.update_order(conn, mapping["crm_order_id"], self._values(order, new_status))
        await crm.replace_lines(conn, mapping["crm_order_id"], lines)
        await self._attach_customer(conn, mapping["crm_order_id"], order)
        deltas = crm.stock_transition(before, str(meta.get("stock_effect", "none")), stocked, effect)
        await crm.adjust_stock(conn, self.merchant, deltas)
        kept = effect if meta.get("stock_effect") != "consumed" else "consumed"
        await conn.execute(
            QUERIES["sync_order_mapping_update"],
            mapping["id"],
            order.status[:50],
            new_status,
            updated_at,
            _meta(kept, stocked),
        )
        return "update", "success", None


def _stocked(lines: list[crm.OrderLineRow], bundles: Bundles) -> tuple[list[tuple[str, Decimal]], list[str]]:
    """The stocked variants the matched lines reserve and then deduct (a combo's components, never its own row; a
    host's add-ons), and why a line takes nothing (a malformed bundle)."""
    stocked: list[tuple[str, Decimal]] = []
    refused = []
    for line in lines:
        if not line.variant_id:
            continue
        try:
            stocked += bundles.consumption(line.variant_id, line.quantity)
        except BundleInvalid as exc:
            refused.append(f"line {line.line_no}: {exc}")
    return stocked, refused


def _meta(effect: str, stocked: list[tuple[str, Decimal]]) -> dict[str, Any]:
    return {"stock_effect": effect, "stocked": json.loads(json.dumps([[v, str(q)] for v, q in stocked]))}
