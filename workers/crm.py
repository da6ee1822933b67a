"""The one module through which nfsync reads and writes the CRM: the ``@nx/core`` catalog, and the stand-ins for
prices (``"VariantPrice"``), stock (``"StockLevel"``) and orders (``"SalesOrder"``, ``"SalesOrderLine"``).

Pointing nfsync at the real pricing, inventory and sales modules later changes this module and ``crm.sql`` only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from nfsync.connectors.base.errors import NotFound, PermanentError, ValidationFailed
from nfsync.workers.bundles import BUNDLE_TYPES, BundleOffer, BundleRow, Bundles, Stocked
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES

# The CRM order statuses and their order: an update never moves an order to a lower rank. Cancelled and
# returned end an order's life (rank above every open status).
ORDER_STATUS_RANK = {
    "PENDING": 0,
    "CONFIRMED": 1,
    "PROCESSING": 2,
    "SHIPPED": 3,
    "DELIVERED": 4,
    "COMPLETED": 5,
    "CANCELLED": 6,
    "RETURNED": 7,
}
OPEN_STATUSES = frozenset({"PENDING", "CONFIRMED", "PROCESSING"})  # stock is reserved
GONE_STATUSES = frozenset({"SHIPPED", "DELIVERED", "COMPLETED"})  # stock has left the warehouse


@dataclass(frozen=True)
class CatalogFilter:
    """Which part of a sale channel a product sync covers (``filter_criteria``); None = no restriction."""

    product_ids: list[str] | None = None
    variant_ids: list[str] | None = None
    category_ids: list[str] | None = None
    updated_after: datetime | None = None
    statuses: list[str] | None = None


@dataclass(slots=True)
class CrmVariant:
    variant_id: str
    sku: str | None
    price: Decimal | None
    on_hand: Decimal
    reserved: Decimal
    options: dict[str, str]
    active: bool
    by_location: dict[str, int] = field(default_factory=dict)  # available per stock location, when asked for
    bundle: BundleOffer | None = None  # a combo or kit: what its components make (its own stock row is not read)

    @property
    def available(self) -> int:
        """On hand minus reserved, never below zero, whole units; a bundle's offer."""
        if self.bundle is not None:
            return self.bundle.available
        return max(0, int(self.on_hand - self.reserved))


@dataclass(slots=True)
class CrmProduct:
    product_id: str
    name: str
    description: str
    category_id: str | None
    active: bool
    variants: list[CrmVariant] = field(default_factory=list)


@dataclass(frozen=True)
class VariantValue:
    """A mapped variant's current CRM values beside what was last pushed (inventory_sync, price_sync)."""

    variant_id: str
    product_id: str
    platform_item_id: str
    platform_variant_id: str | None
    platform_sku: str | None
    active: bool
    price: Decimal | None
    available: int
    last_pushed_price: Decimal | None
    last_pushed_stock: int | None
    by_location: dict[str, int] = field(default_factory=dict)  # available per stock location, when asked for
    bundle: BundleOffer | None = None  # a combo or kit: its offer (``available`` and ``by_location`` are its)


@dataclass(frozen=True)
class OrderLineRow:
    line_no: int
    variant_id: str | None
    sku: str | None
    name: str
    quantity: Decimal
    unit_price: Decimal
    line_id: str


async def link_merchant(conn: DbConn, organization_id: Any, merchant_id: str) -> None:
    """Make the organization the owner of a CRM merchant (operators only: it opens the merchant's catalog, prices,
    stock and orders to the organization's shops). A no-op when it already is; refused when another one is."""
    try:
        owner = await conn.fetchval(QUERIES["crm_merchant_link"], merchant_id, organization_id)
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"merchant {merchant_id} or organization {organization_id} not found") from None
    if str(owner) != str(organization_id):
        raise ValidationFailed(f"merchant {merchant_id} belongs to another organization; unlink it there first")


async def unlink_merchant(conn: DbConn, merchant_id: str) -> None:
    shops = await conn.fetchval(QUERIES["crm_merchant_shops"], merchant_id)
    if shops:
        raise ValidationFailed(f"{shops} shop(s) still sell merchant {merchant_id}'s sale channels; repoint them first")
    if await conn.fetchval(QUERIES["crm_merchant_unlink"], merchant_id) is None:
        raise NotFound(f"merchant {merchant_id} is linked to no organization")


async def organization_merchants(conn: DbConn, organization_id: Any) -> list[tuple[str, str]]:
    """(merchant id, slug) of the merchants an organization owns."""
    rows = await conn.fetch(QUERIES["crm_merchants_of_organization"], organization_id)
    return [(r["merchant_id"], r["slug"]) for r in rows]


async def channel_merchant(conn: DbConn, sale_channel_id: str, organization_id: Any) -> tuple[str, str]:
    """(merchant id, merchant currency) of a sale channel of the organization's merchants - the tenant check every
    handler makes before it reads or writes the CRM through that channel."""
    row = await conn.fetchrow(QUERIES["crm_channel_merchant"], sale_channel_id, organization_id)
    if row is None:
        raise PermanentError(
            f"sale channel {sale_channel_id} is not a live channel of this organization's merchants (an operator "
            "links a merchant with `nfsync orgs link-merchant`)"
        )
    return row["merchant_id"], row["currency"]


async def channel_products(
    conn: DbConn,
    *,
    sale_channel_id: str,
    shop_id: Any,
    filters: CatalogFilter,
    currency: str,
    locale: str,
    per_location: bool = False,
) -> list[CrmProduct]:
    """The channel's products (and those still mapped in this shop), each with its variants."""
    rows = await conn.fetch(
        QUERIES["crm_channel_variants"],
        sale_channel_id,
        filters.product_ids,
        filters.variant_ids,
        filters.category_ids,
        filters.updated_after,
        filters.statuses,
        currency,
        locale,
        shop_id,
        per_location,
    )
    products: dict[str, CrmProduct] = {}
    for row in rows:
        product = products.get(row["product_id"])
        if product is None:
            product = products[row["product_id"]] = CrmProduct(
                row["product_id"],
                row["product_name"],
                row["product_description"],
                row["category_id"],
                row["product_active"],
            )
        product.variants.append(
            CrmVariant(
                row["variant_id"],
                row["sku"],
                row["price"],
                row["on_hand"],
                row["reserved"],
                options_of(row["option_names"], row["option_values"]),
                bool(row["variant_active"]) and product.active,
                _locations(row["by_location"]),
            )
        )
    variants = [v for p in products.values() for v in p.variants]
    found = await bundles_around(conn, [v.variant_id for v in variants], per_location=per_location)
    for variant in variants:
        if found.is_bundle(variant.variant_id):
            variant.bundle = found.offer(variant.variant_id, per_location=per_location)
            variant.by_location = variant.bundle.by_location
    return list(products.values())


async def variant_values(
    conn: DbConn, shop_id: Any, variant_ids: Sequence[str] | None, currency: str, *, per_location: bool = False
) -> list[VariantValue]:
    rows = await conn.fetch(
        QUERIES["crm_variant_values"], list(variant_ids) if variant_ids else None, shop_id, currency, per_location
    )
    values = [
        VariantValue(
            r["variant_id"],
            r["product_id"],
            r["platform_item_id"],
            r["platform_variant_id"],
            r["platform_sku"],
            bool(r["active"]),
            r["price"],
            max(0, int(r["on_hand"] - r["reserved"])),
            r["last_pushed_price"],
            r["last_pushed_stock"],
            _locations(r["by_location"]),
        )
        for r in rows
    ]
    found = await bundles_around(conn, [v.variant_id for v in values], per_location=per_location)
    return [_with_bundle(v, found, per_location) if found.is_bundle(v.variant_id) else v for v in values]


def _with_bundle(value: VariantValue, found: Bundles, per_location: bool) -> VariantValue:
    offer = found.offer(value.variant_id, per_location=per_location)
    return replace(value, available=offer.available, by_location=offer.by_location, bundle=offer)


async def bundles_around(
    conn: DbConn, variant_ids: Sequence[str], *, addons: bool = False, per_location: bool = False
) -> Bundles:
    """The bundle rows below the variants (combo rows; add-on rows of the variants themselves when ``addons``) and
    the stock of every variant they reach (workers/bundles.py does the arithmetic)."""
    if not variant_ids:
        return Bundles()
    kinds = ["000_COMBO", "100_ADDON"] if addons else ["000_COMBO"]
    rows = await conn.fetch(QUERIES["crm_bundle_rows"], list(dict.fromkeys(variant_ids)), kinds)
    if not rows:
        return Bundles()
    typed = {r["lead"] for r in rows if r["kind"] == "typed"}
    edges = [BundleRow(r["kind"], r["lead"], r["related"], r["quantity"]) for r in rows if r["kind"] != "typed"]
    reached = {e.related for e in edges} | {e.lead for e in edges} | typed
    stock = await conn.fetch(QUERIES["crm_bundle_stock"], sorted(reached), per_location)
    typed |= {r["variant_id"] for r in stock if r["type"] in BUNDLE_TYPES}
    return Bundles(edges, typed, {r["variant_id"]: _stocked(r) for r in stock})


def _stocked(row: Any) -> Stocked:
    by_location = row["by_location"]
    if isinstance(by_location, str):
        by_location = json.loads(by_location)
    return Stocked(
        row["variant_id"],
        row["sku"],
        Decimal(row["available"]),
        bool(row["active"]),
        {str(k): Decimal(str(v)) for k, v in (by_location or {}).items()},
    )


def options_of(names: Sequence[str] | None, values: Sequence[str | None] | None) -> dict[str, str]:
    """A variant's options from the two arrays of ``crm_channel_variants``, as ``jsonb_object_agg`` over the same
    rows gave them before: a repeated name keeps its last value, and the names are ordered as jsonb orders object
    keys (shorter UTF-8 first, then bytewise). The connectors see this order (e.g. Shopify's product options)."""
    if not names:
        return {}
    if len(names) == 1:
        return {str(names[0]): str((values or [None])[0])}
    pairs = dict(zip(names, values or [], strict=True))
    return {str(k): str(pairs[k]) for k in sorted(pairs, key=_jsonb_key_order)}


def _jsonb_key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return len(raw), raw


def _locations(value: Any) -> dict[str, int]:
    """Available units per stock location (a jsonb object, or None when not asked for), whole units."""
    if isinstance(value, str):
        value = json.loads(value)
    return {str(k): int(Decimal(str(v))) for k, v in (value or {}).items()}


async def variants_by_sku(conn: DbConn, merchant_id: str, skus: Sequence[str]) -> dict[str, tuple[str, str]]:
    """SKU -> (variant id, product id) among the merchant's live variants."""
    if not skus:
        return {}
    rows = await conn.fetch(QUERIES["crm_variants_by_sku"], merchant_id, list(set(skus)))
    return {r["sku"]: (r["variant_id"], r["product_id"]) for r in rows}


async def find_order(conn: DbConn, platform: str, shop: str, external_id: str) -> tuple[str, str] | None:
    row = await conn.fetchrow(QUERIES["crm_order_by_source"], platform, shop, external_id)
    return None if row is None else (row["id"], row["status"])


async def insert_order(conn: DbConn, values: dict[str, Any]) -> str | None:
    """The new CRM order's id, or None when it already exists."""
    order_id: str | None = await conn.fetchval(
        QUERIES["crm_order_insert"],
        values["merchant_id"],
        values["sale_channel_id"],
        values["platform"],
        values["shop"],
        values["external_id"],
        values["status"],
        values["currency"],
        values["subtotal"],
        values["shipping_fee"],
        values["total"],
        values["buyer"],
        values["placed_at"],
    )
    return order_id


async def update_order(conn: DbConn, order_id: str, values: dict[str, Any]) -> None:
    await conn.execute(
        QUERIES["crm_order_update"],
        order_id,
        values["status"],
        values["subtotal"],
        values["shipping_fee"],
        values["total"],
        values["buyer"],
    )


async def replace_lines(conn: DbConn, order_id: str, lines: Sequence[OrderLineRow]) -> None:
    await conn.execute(QUERIES["crm_order_lines_delete"], order_id)
    await conn.execute(
        QUERIES["crm_order_lines_insert"],
        order_id,
        [ln.line_no for ln in lines],
        [ln.variant_id for ln in lines],
        [ln.sku for ln in lines],
        [ln.name for ln in lines],
        [ln.quantity for ln in lines],
        [ln.unit_price for ln in lines],
        [ln.line_id for ln in lines],
    )


async def adjust_stock(conn: DbConn, merchant_id: str, deltas: Sequence[tuple[str, Decimal, Decimal]]) -> None:
    """Apply (variant id, reserved delta, on-hand delta) at the default location."""
    if not deltas:
        return
    await conn.execute(
        QUERIES["crm_stock_adjust"], [d[0] for d in deltas], [d[1] for d in deltas], [d[2] for d in deltas], merchant_id
    )


def stock_effect(status: str) -> str:
    """What an order in a CRM status does to stock: ``reserved``, ``consumed`` or ``none``."""
    if status in OPEN_STATUSES:
        return "reserved"
    if status in GONE_STATUSES:
        return "consumed"
    return "none"


def stock_transition(
    before: Sequence[tuple[str, Decimal]], effect_before: str, after: Sequence[tuple[str, Decimal]], effect_after: str
) -> list[tuple[str, Decimal, Decimal]]:
    """(variant, reserved delta, on-hand delta) moving an order's matched lines from one stock effect to another.

    The old reservation is released and the new effect applied with the current lines: reserved while open,
    taken off hand once shipped. Once consumed, nothing changes any more: a returned order does not put goods
    back on hand (returns are inspected in the CRM first)."""
    if effect_before == "consumed" or (effect_before == effect_after and list(before) == list(after)):
        return []
    deltas: list[tuple[str, Decimal, Decimal]] = []
    if effect_before == "reserved":
        deltas += [(variant, -quantity, Decimal(0)) for variant, quantity in before]
    if effect_after == "reserved":
        deltas += [(variant, quantity, Decimal(0)) for variant, quantity in after]
    elif effect_after == "consumed":
        deltas += [(variant, Decimal(0), -quantity) for variant, quantity in after]
    return deltas


async def listing_metadata(conn: DbConn, product_ids: Sequence[str], platform: str) -> dict[str, object]:
    """Each product's ``metadata.marketplace.<platform>`` where it has one (a listing profile layer, unvalidated)."""
    rows = await conn.fetch(QUERIES["crm_product_listing_metadata"], list(product_ids), platform)
    return {row["product_id"]: row["profile"] for row in rows}
