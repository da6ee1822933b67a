"""How the Shopify sandbox shows its objects: GraphQL nodes with exactly the fields the shared documents select
(``connectors/shopify/operations.py``), the bulk JSONL rows, and the REST-style bodies its webhooks carry.

Order status: Shopify has two display axes plus ``cancelledAt`` (docs/platforms/shopify.md "Order statuses"); a
sandbox order's ``SbOrder.status`` holds them as ``FINANCIAL/FULFILLMENT`` (``PAID/UNFULFILLED``), with a third
part ``CANCELLED`` for a cancelled order (``VOIDED/UNFULFILLED/CANCELLED``). nfsync's derived keys (contract
order_statuses.values: ``pending``, ``fulfilled``, ``cancelled``...) are accepted too and stand for the pair listed
in ``DERIVED`` (the pair is the sandbox's choice; the derivation rule itself is the doc's)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from nfsync.connectors.base.sandbox import SbListing, SbOrder, SbOrderLine, SbShop, SbVariant
from nfsync.connectors.shopify import operations as ops
from nfsync.connectors.shopify.operations import gid
from nfsync.connectors.shopify.sandbox.gql import iso, page
from nfsync.connectors.shopify.sandbox.store import Store

Json = dict[str, Any]

FINANCIAL = ("AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "PENDING", "REFUNDED", "VOIDED")
FULFILLMENT = (
    "FULFILLED",
    "FULFILLMENT_NOT_REQUIRED",
    "IN_PROGRESS",
    "ON_HOLD",
    "OPEN",
    "PARTIALLY_FULFILLED",
    "PENDING_FULFILLMENT",
    "REQUEST_DECLINED",
    "RESTOCKED",
    "SCHEDULED",
    "UNFULFILLED",
)  # contract order_statuses.financial / .fulfillment (SD-REF)
CANCELLED = "CANCELLED"
DERIVED = {
    "cancelled": "VOIDED/UNFULFILLED/CANCELLED",
    "refunded": "REFUNDED/UNFULFILLED",
    "voided": "VOIDED/UNFULFILLED",
    "expired": "EXPIRED/UNFULFILLED",
    "pending": "PENDING/UNFULFILLED",
    "authorized": "AUTHORIZED/UNFULFILLED",
    "partially_paid": "PARTIALLY_PAID/UNFULFILLED",
    "fulfilled": "PAID/FULFILLED",
    "partially_fulfilled": "PAID/PARTIALLY_FULFILLED",
    "in_progress": "PAID/IN_PROGRESS",
    "pending_fulfillment": "PAID/PENDING_FULFILLMENT",
    "on_hold": "PAID/ON_HOLD",
    "scheduled": "PAID/SCHEDULED",
    "request_declined": "PAID/REQUEST_DECLINED",
    "unfulfilled": "PAID/UNFULFILLED",
    "open": "PAID/OPEN",
    "restocked": "PAID/RESTOCKED",
    "fulfillment_not_required": "PAID/FULFILLMENT_NOT_REQUIRED",
}
ORDER_FLOW = ("PENDING/UNFULFILLED", "PAID/UNFULFILLED", "PAID/IN_PROGRESS", "PAID/FULFILLED")
"""``order_statuses``: a new order is pending payment, then paid, in progress, fulfilled (the demo's progression)."""


def display_status(status: str) -> tuple[str, str, bool]:
    """(displayFinancialStatus, displayFulfillmentStatus, cancelled) of a sandbox order status."""
    parts = DERIVED.get(status, status).split("/")
    financial = parts[0] if parts[0] in FINANCIAL else "PENDING"
    fulfillment = parts[1] if len(parts) > 1 and parts[1] in FULFILLMENT else "UNFULFILLED"
    return financial, fulfillment, len(parts) > 2 and parts[2] == CANCELLED


def status_name(status: str) -> str:
    """A status in its canonical ``FINANCIAL/FULFILLMENT[/CANCELLED]`` spelling."""
    financial, fulfillment, cancelled = display_status(status)
    return f"{financial}/{fulfillment}" + (f"/{CANCELLED}" if cancelled else "")


def _money(amount: Decimal, currency: str) -> Json:
    return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}


def _status(listing: SbListing) -> str:
    return {"active": "ACTIVE", "draft": "DRAFT", "archived": "ARCHIVED"}.get(listing.status.lower(), "ACTIVE")


# ---------------------------------------------------------------------------------------------- GraphQL nodes


def variant_node(store: Store, listing: SbListing, variant: SbVariant, *, extra: bool = False) -> Json:
    """A ProductVariant as the Products/CreateProduct documents select it; ``extra`` adds Variants' ``updatedAt``
    and ``product`` (a variant's updatedAt is its product's: per-variant times are not kept, UNCONFIRMED)."""
    node: Json = {
        "id": gid("ProductVariant", variant.variant_id),
        "sku": variant.sku or None,
        "price": str(variant.price),
        "barcode": variant.barcode,
        "inventoryQuantity": variant.stock,
    }
    if extra:
        node["updatedAt"] = iso(listing.updated_at)
        node["product"] = {"id": gid("Product", listing.item_id)}
    node["inventoryItem"] = {"id": gid("InventoryItem", store.item_id(variant))}
    node["selectedOptions"] = selected_options(variant)
    return node


def selected_options(variant: SbVariant) -> list[Json]:
    if not variant.options:
        return [{"name": "Title", "value": "Default Title"}]  # Shopify's single-variant option (UNCONFIRMED here)
    return [{"name": name, "value": value} for name, value in variant.options.items()]


def product_node(store: Store, listing: SbListing, variants_page: int = ops.PRODUCT_VARIANTS_PAGE) -> Json:
    return {
        "id": gid("Product", listing.item_id),
        "title": listing.name,
        "handle": store.handle(listing.item_id, listing.name),
        "status": _status(listing),
        "updatedAt": iso(listing.updated_at),
        "variants": {"nodes": [variant_node(store, listing, v) for v in listing.variants[:variants_page]]},
    }


def full_product_node(store: Store, listing: SbListing) -> Json:
    """A Product as the Product document selects it: description and option names besides product_node's."""
    names = list(dict.fromkeys(name for v in listing.variants for name in v.options)) or ["Title"]
    return {
        **product_node(store, listing),
        "descriptionHtml": listing.description,
        "options": [{"name": n} for n in names],
    }


def location_node(location: Any) -> Json:
    return {"id": gid("Location", location.location_id), "name": location.name, "isActive": location.is_active}


def order_node(store: Store, shop: SbShop, order: SbOrder, *, protected_data: bool) -> Json:
    """An Order as the Orders/Order documents select it. Customer name, email and phone are protected customer
    data: null unless the app is approved for them (``protected_data``; doc: null vs. refusal UNCONFIRMED, the
    sandbox returns null, the stricter for parsing)."""
    financial, fulfillment, cancelled = display_status(order.status)
    currency = order.currency
    subtotal = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    buyer = order.buyer or {}
    customer = None
    if buyer:
        first, _, last = str(buyer.get("name") or "").partition(" ")
        customer = {
            "id": gid("Customer", str(buyer.get("id") or order.order_id)),
            "email": buyer.get("email") if protected_data else None,
            "phone": buyer.get("phone") if protected_data else None,
            "firstName": (buyer.get("first_name") or first or None) if protected_data else None,
            "lastName": (buyer.get("last_name") or last or None) if protected_data else None,
        }
    return {
        "id": gid("Order", order.order_id),
        "name": store.order_name(shop, order.order_id),
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "cancelledAt": iso(order.updated_at) if cancelled else None,
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": fulfillment,
        "currencyCode": currency,
        "totalPriceSet": _money(order.total, currency),
        "subtotalPriceSet": _money(subtotal, currency),
        "totalShippingPriceSet": _money(order.shipping_fee, currency),
        "customer": customer,
        "lineItems": line_items(order, None, ops.ORDER_LINES_PAGE),
    }


def line_items(order: SbOrder, after: str | None, size: int) -> Json:
    """A page of the order's ``lineItems`` connection, in the order's line order, after the cursor."""
    chunk = page(list(enumerate(order.lines)), lambda row: (row[0],), after, size)
    chunk["nodes"] = [_line_node(line, order.currency) for _, line in chunk["nodes"]]
    return chunk


def _line_node(line: SbOrderLine, currency: str) -> Json:
    return {
        "id": gid("LineItem", line.line_id),
        "sku": line.sku or None,
        "quantity": line.quantity,
        "name": line.name,
        "originalUnitPriceSet": _money(line.unit_price, currency),
        "variant": {"id": gid("ProductVariant", line.variant_id)} if line.variant_id else None,
        "product": {"id": gid("Product", line.item_id)} if line.item_id else None,
    }


# ---------------------------------------------------------------------------------------------- bulk JSONL


def bulk_rows(store: Store, shop: SbShop) -> tuple[list[Json], int]:
    """The JSONL objects of ``operations.BULK_PRODUCTS_QUERY``: each product (its scalar fields), then its variants
    on their own lines with ``__parentId`` (SD-REF BulkOperation; contract jsonl_sample). Returns (rows, products)."""
    rows: list[Json] = []
    listings = sorted(shop.listings.values(), key=lambda item: int(item.item_id))
    for listing in listings:
        node = product_node(store, listing)
        del node["variants"]
        rows.append(node)
        for variant in listing.variants:
            row = variant_node(store, listing, variant)
            row["__parentId"] = node["id"]
            rows.append(row)
    return rows, len(listings)


def jsonl(rows: list[Json]) -> bytes:
    return b"".join(json.dumps(row, separators=(",", ":")).encode() + b"\n" for row in rows)


# ---------------------------------------------------------------------------------------------- webhook bodies


def _rest_time(moment: float | None) -> str | None:
    return iso(moment)


def order_rest(store: Store, shop: SbShop, order: SbOrder) -> Json:
    """The REST Order resource a ``orders/*`` webhook carries (SD-WH-DELIVERY: body = the REST resource of the
    topic): numeric ``id`` and ``admin_graphql_api_id`` (the GID nfsync keys on). Field subset; UNCONFIRMED beyond
    ``id``/``admin_graphql_api_id``."""
    financial, fulfillment, cancelled = display_status(order.status)
    subtotal = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    return {
        "id": int(order.order_id),
        "admin_graphql_api_id": gid("Order", order.order_id),
        "name": store.order_name(shop, order.order_id),
        "created_at": _rest_time(order.created_at),
        "updated_at": _rest_time(order.updated_at),
        "cancelled_at": _rest_time(order.updated_at) if cancelled else None,
        "financial_status": financial.lower(),
        "fulfillment_status": {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(fulfillment),
        "currency": order.currency,
        "subtotal_price": str(subtotal),
        "total_price": str(order.total),
        "line_items": [
            {
                "id": int(line.line_id),
                "admin_graphql_api_id": gid("LineItem", line.line_id),
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "price": str(line.unit_price),
                "product_id": int(line.item_id) if line.item_id else None,
                "variant_id": int(line.variant_id) if line.variant_id else None,
            }
            for line in order.lines
        ],
    }


def product_rest(store: Store, listing: SbListing) -> Json:
    """The REST Product resource of ``products/update`` (contract sample: SD-WH-DELIVERY example payload)."""
    return {
        "id": int(listing.item_id),
        "admin_graphql_api_id": gid("Product", listing.item_id),
        "title": listing.name,
        "handle": store.handle(listing.item_id, listing.name),
        "status": _status(listing).lower(),
        "updated_at": _rest_time(listing.updated_at),
        "variants": [
            {
                "id": int(v.variant_id),
                "admin_graphql_api_id": gid("ProductVariant", v.variant_id),
                "product_id": int(listing.item_id),
                "sku": v.sku,
                "price": str(v.price),
                "barcode": v.barcode,
                "inventory_item_id": int(store.item_id(v)),
                "inventory_quantity": v.stock,
            }
            for v in listing.variants
        ],
    }


def shop_rest(shop: SbShop, domain: str, currency: str) -> Json:
    """The REST Shop resource of ``app/uninstalled`` (field subset, UNCONFIRMED)."""
    number = int(shop.extra.get("shop_number", "0") or 0)
    return {
        "id": number,
        "admin_graphql_api_id": gid("Shop", number),
        "name": shop.name,
        "domain": domain,
        "myshopify_domain": domain,
        "currency": currency,
    }


def event_of(event: Mapping[str, Any]) -> str:
    """The webhook topic (``orders/create``...) of a sandbox event."""
    kind = event["kind"]
    if kind == "order_status_changed":
        order: SbOrder = event["order"]
        if display_status(order.status)[2]:
            return "orders/cancelled"
        return "orders/create" if order.updated_at == order.created_at else "orders/updated"
    if kind in ("product_changed", "product_created"):
        return "products/update"  # products/create is not a topic nfsync subscribes to
    if kind == "shop_deauthorized":
        return "app/uninstalled"
    raise ValueError(f"the Shopify sandbox does not push {kind!r} events")
