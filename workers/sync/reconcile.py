"""Reconciliation: compare the CRM with what a shop really shows, through the connector (read calls only).

Differences: a CRM variant on the channel with no listing (``missing_listing``); a mapped listing the platform no
longer has (``listing_gone``); a price or a stock level that differs from what the CRM says the shop should show
(``price``, ``stock``); a listing whose SKU belongs to an unmapped CRM variant (``unmapped_listing``); an order
updated recently on the platform that the CRM lacks (``order_missing``) or holds in another status
(``order_status``). ``fix`` enqueues the syncs that close them (forced pushes for price and stock).

Run by ``nfsync reconcile --shop ID [--fix]``, and periodically per integration by the scheduler when
``config.reconcile_interval`` (minutes) is set: it enqueues a ``product_sync`` with ``{"reconcile": true}`` whose
handler reconciles and fixes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nfsync.connectors.base.models import Listing
from nfsync.workers import crm
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.service import TaskService
from nfsync.workers.sync.catalog import decide
from nfsync.workers.sync.item_log import EntityType, ItemLog
from nfsync.workers.sync.mappings import load_mappings
from nfsync.workers.sync.rules import CatalogRules, StockRules, money
from nfsync.workers.sync.session import ShopSession

ORDER_DAYS = 3


@dataclass(frozen=True)
class Difference:
    kind: str
    entity_id: str | None  # CRM variant or product id, CRM order id
    platform_id: str | None  # listing / order id on the platform
    crm_value: str | None = None
    platform_value: str | None = None

    def row(self) -> dict[str, Any]:
        return asdict(self)


async def _platform_listings(shop: ShopSession) -> list[Listing]:
    return [listing async for listing in shop.client.iter_listings()]


async def reconcile_shop(shop: ShopSession, *, order_days: int = ORDER_DAYS) -> tuple[list[Difference], dict[str, int]]:
    """The differences, and counts of what was compared."""
    channel = shop.row["sale_channel_id"]
    catalog, rules = CatalogRules.parse(shop.rules("catalog")), StockRules.parse(shop.rules("inventory"))
    async with shop.pool.acquire() as conn:
        merchant, currency = await crm.channel_merchant(conn, channel, shop.row["organization_id"])
        products = await crm.channel_products(
            conn,
            sale_channel_id=channel,
            shop_id=shop.shop_id,
            filters=crm.CatalogFilter(),
            currency=currency,
            locale=catalog.locale,
            per_location=bool(rules.warehouses),
        )
        values = await crm.variant_values(conn, shop.shop_id, None, currency, per_location=bool(rules.warehouses))
    mappings = await load_mappings(shop)
    listings = await _platform_listings(shop)
    diffs = _catalog_diffs(products, mappings, catalog, rules)
    diffs += _value_diffs(values, listings, rules)
    foreign, unmapped = await _unmapped(shop, merchant, listings, mappings)
    diffs += unmapped
    order_diffs, orders = await _order_diffs(shop, order_days)
    diffs += order_diffs
    counts = {
        "variants": sum(len(p.variants) for p in products),
        "mappings": len(mappings),
        "listings": len(listings),
        "orders": orders,
        "foreign_listings": foreign,
    }
    return diffs, counts


def _catalog_diffs(
    products: list[crm.CrmProduct], mappings: dict[str, Any], catalog: CatalogRules, rules: StockRules
) -> list[Difference]:
    diffs = []
    for product in products:
        decision = decide(product, mappings, catalog, rules)
        if decision.action != "create":
            continue
        for variant in product.variants:
            if variant.active and variant.sku:
                diffs.append(Difference("missing_listing", variant.variant_id, None, variant.sku, None))
    return diffs


def _misplaced(split: dict[str, int], held: dict[str, int]) -> bool:
    """The right total in the wrong warehouses (only where the platform reports stock per warehouse)."""
    return bool(split and held) and any(held.get(warehouse, 0) != units for warehouse, units in split.items())


def _value_diffs(values: list[crm.VariantValue], listings: list[Listing], rules: StockRules) -> list[Difference]:
    found = {(listing.platform_item_id, v.platform_variant_id): v for listing in listings for v in listing.variants}
    items = {listing.platform_item_id: listing for listing in listings}
    diffs = []
    for value in values:
        variant = found.get((value.platform_item_id, value.platform_variant_id))
        if variant is None and value.platform_item_id in items and len(items[value.platform_item_id].variants) == 1:
            variant = items[value.platform_item_id].variants[0]
        if variant is None:
            diffs.append(Difference("listing_gone", value.variant_id, value.platform_item_id))
            continue
        quantity, split = rules.offer(value.available, value.by_location) if value.active else (0, rules.nothing())
        if variant.stock != quantity or _misplaced(split, variant.warehouses):
            diffs.append(
                Difference("stock", value.variant_id, value.platform_item_id, str(quantity), str(variant.stock))
            )
        if value.active and value.price is not None and money(variant.price) != money(value.price):
            diffs.append(
                Difference(
                    "price",
                    value.variant_id,
                    value.platform_item_id,
                    str(money(value.price)),
                    str(money(variant.price)),
                )
            )
    return diffs


async def _unmapped(
    shop: ShopSession, merchant: str, listings: list[Listing], mappings: dict[str, Any]
) -> tuple[int, list[Difference]]:
    mapped = {(m.platform_item_id, m.platform_variant_id) for m in mappings.values()}
    mapped_items = {m.platform_item_id for m in mappings.values()}
    loose = [
        (listing, v)
        for listing in listings
        for v in listing.variants
        if (listing.platform_item_id, v.platform_variant_id) not in mapped
        and not (len(listing.variants) == 1 and listing.platform_item_id in mapped_items)
    ]
    async with shop.pool.acquire() as conn:
        known = await crm.variants_by_sku(conn, merchant, [v.sku for _, v in loose])
    diffs = [
        Difference("unmapped_listing", known[v.sku][0], listing.platform_item_id, v.sku, v.sku)
        for listing, v in loose
        if v.sku in known
    ]
    return len(loose) - len(diffs), diffs


async def _order_diffs(shop: ShopSession, days: int) -> tuple[list[Difference], int]:
    end = datetime.now(UTC)
    rows = await shop.pool.fetch(QUERIES["reconcile_order_mappings"], shop.shop_id)
    known = {r["platform_order_id"]: r for r in rows}
    diffs, seen = [], 0
    async for order in shop.client.iter_orders(end - timedelta(days=days), end):
        seen += 1
        row = known.get(order.platform_order_id)
        if row is None:
            diffs.append(Difference("order_missing", None, order.platform_order_id, None, order.status))
        elif row["platform_status"] != order.status[:50]:
            diffs.append(
                Difference(
                    "order_status", row["crm_order_id"], order.platform_order_id, row["platform_status"], order.status
                )
            )
    return diffs, seen


def fix_requests(shop: ShopSession, diffs: Iterable[Difference]) -> list[EnqueueRequest]:
    """The syncs that close the differences (one per task type)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def add(task_type: str, direction: str, key: str, value: str | None, **flags: Any) -> None:
        criteria = groups.setdefault((task_type, direction), {key: [], **flags})
        if value is not None and value not in criteria[key]:
            criteria[key].append(value)

    for d in diffs:
        if d.kind in ("missing_listing", "listing_gone"):
            add("product_sync", "crm_to_marketplace", "variant_ids", d.entity_id)
        elif d.kind == "stock":
            add("inventory_sync", "crm_to_marketplace", "variant_ids", d.entity_id, force=True)
        elif d.kind == "price":
            add("price_sync", "crm_to_marketplace", "variant_ids", d.entity_id, force=True)
        elif d.kind == "unmapped_listing":
            add("product_sync", "marketplace_to_crm", "product_ids", d.platform_id)
        elif d.kind in ("order_missing", "order_status"):
            add("order_sync", "marketplace_to_crm", "order_ids", d.platform_id)
    row = shop.row
    return [
        EnqueueRequest(
            organization_id=row["organization_id"],
            integration_id=row["id"],
            shop_id=shop.shop_id,
            task_type=task_type,
            direction=direction,
            priority=6,
            filter_criteria=criteria,
        )
        for (task_type, direction), criteria in groups.items()
    ]


async def apply_fixes(shop: ShopSession, service: TaskService, diffs: list[Difference]) -> list[uuid.UUID]:
    gone = [d.platform_id for d in diffs if d.kind == "listing_gone" and d.platform_id]
    if gone:  # a push must create these again, not update a listing that is no longer there
        await shop.pool.execute(QUERIES["sync_mappings_mark_deleted"], shop.shop_id, gone)
    return [(await service.enqueue(request)).task_id for request in fix_requests(shop, diffs)]


async def reconcile_task(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    """The periodic form: reconcile, log each difference, enqueue the fixes."""
    diffs, counts = await reconcile_shop(shop)
    shop.ctx.report(total=len(diffs))
    for d in diffs:
        await items.add(
            _entity(d.kind),
            "check",
            "skipped",
            entity_id=d.entity_id,
            platform_entity_id=d.platform_id,
            error_message=f"{d.kind}: CRM {d.crm_value} / platform {d.platform_value}",
        )
    fixes = await apply_fixes(shop, TaskService(shop.pool, None), diffs)
    return {"differences": len(diffs), "compared": counts, "fix_tasks": [str(t) for t in fixes]}


_ENTITIES: dict[str, EntityType] = {
    "stock": "inventory",
    "price": "price",
    "order_missing": "order",
    "order_status": "order",
}


def _entity(kind: str) -> EntityType:
    return _ENTITIES.get(kind, "variant")
