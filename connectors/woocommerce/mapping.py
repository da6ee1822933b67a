"""WooCommerce REST API v3 payloads <-> the shared models (reference section 5.3; WC-DOC products, variations, orders).

Ids are integers on the wire and strings in the models; money is a decimal string on products (``regular_price``)
and orders (``total``), a JSON number on order lines (``price``); times are ``date_*_gmt`` strings without an
offset (``2024-05-01T10:00:00``), UTC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.listing import Package
from nfsync.connectors.base.models import (
    Buyer,
    ItemResult,
    Listing,
    ListingDraft,
    ListingVariant,
    Order,
    OrderLine,
    VariantDraft,
    barcode_of,
)

_STATUSES = {"publish": "active", "trash": "deleted"}  # draft, pending, private, future: not for sale
PARENT_SKU_SUFFIX = "-parent"
"""A variable product's own SKU is its first variation's plus this: the handle to find a parent whose create
response was lost (WooCommerce has no idempotency key, and the parent has no variation yet)."""


# ---------------------------------------------------------------------------------------------- scalars


def gmt(value: Any) -> datetime | None:
    """A ``date_*_gmt`` value as an aware UTC datetime (None when absent or malformed)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def wc_time(value: datetime) -> str:
    """A query date for ``dates_are_gmt=true``: UTC, whole seconds, no offset."""
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def whole_seconds(value: datetime) -> datetime:
    """WooCommerce stores modification times in whole seconds: compare at that precision."""
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(math.floor(moment.timestamp()), UTC)


def money(value: Any) -> Decimal:
    """A price or total; an unset price (``""``/null) is zero."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def wc_money(value: Decimal) -> str:
    """A price as WooCommerce takes it: a plain decimal string, never an exponent."""
    return format(value, "f")


def wc_id(value: str) -> int | str:
    """An id for a request body: an integer when it is one (WooCommerce casts anything else to 0, "Invalid ID")."""
    return int(value) if value.isdigit() else value


def _id(value: Any) -> str | None:
    return str(value) if value not in (None, "", 0, "0") else None


def _stock(value: Any) -> int:
    try:
        return int(value) if value is not None else 0  # null: stock not managed
    except (TypeError, ValueError):
        return 0


# ---------------------------------------------------------------------------------------------- listings


def is_variable(draft: ListingDraft) -> bool:
    """One variant without options is a simple product; anything else is a variable product with variations."""
    return len(draft.variants) > 1 or bool(draft.variants[0].options)


GTIN_FIELD = "global_unique_id"
"""A product's or variation's GTIN, UPC, EAN or ISBN: a string in ``view`` and ``edit`` context, added to the v3
products and variations endpoints in WooCommerce 9.2 (woocommerce/woocommerce PR #47364; the v3 products schema in
``plugins/woocommerce/includes/rest-api/Controllers/Version3/class-wc-rest-products-controller.php`` @010784f;
docs: woocommerce/woocommerce-rest-api-docs PR #261, products and variations). Older stores send no such field, and
an unset one comes as "": both read None. A simple product's is its own; a variation's is the variation's (whether a
variation without one shows its parent's is UNCONFIRMED: never taken from the parent here)."""


def listing_of(product: Mapping[str, Any], variations: Sequence[Mapping[str, Any]]) -> Listing:
    """A product (and, for a variable product, its variations) as a Listing."""
    if product.get("type") == "variable":
        variants = [variant_of(v, variation=True) for v in variations]
    else:
        variants = [variant_of(product, variation=False)]
    categories = product.get("categories") or []
    return Listing(
        platform_item_id=str(product["id"]),
        name=str(product.get("name") or ""),
        description=str(product.get("description") or ""),
        status=_STATUSES.get(str(product.get("status")), "inactive"),
        category_id=_id(categories[0].get("id")) if categories and isinstance(categories[0], dict) else None,
        variants=variants,
        updated_at=gmt(product.get("date_modified_gmt")),
    )


def variant_of(payload: Mapping[str, Any], *, variation: bool) -> ListingVariant:
    """A variation, or a simple product's own sku/price/stock (``platform_variant_id`` None)."""
    options = {str(a.get("name")): str(a.get("option")) for a in payload.get("attributes") or [] if variation}
    return ListingVariant(
        platform_variant_id=str(payload["id"]) if variation else None,
        sku=str(payload.get("sku") or ""),
        price=money(payload.get("regular_price") or payload.get("price")),
        stock=_stock(payload.get("stock_quantity")),
        options=options,
        status=_STATUSES.get(str(payload.get("status")), "inactive"),
        barcode=barcode_of(payload.get(GTIN_FIELD)),
    )


# WooCommerce's measurement options (plugins/woocommerce/includes/admin/settings/class-wc-settings-products.php:
# woocommerce_weight_unit kg, g, lbs, oz; woocommerce_dimension_unit m, cm, mm, in, yd): a listing profile's kg and
# cm in the store's own units (international avoirdupois pound and ounce, inch and yard).
PER_KG = {"kg": Decimal(1), "g": Decimal(1000), "lbs": 1 / Decimal("0.45359237"), "oz": 1 / Decimal("0.028349523125")}
PER_CM = {
    "cm": Decimal(1),
    "m": Decimal("0.01"),
    "mm": Decimal(10),
    "in": 1 / Decimal("2.54"),
    "yd": 1 / Decimal("91.44"),
}


@dataclass(frozen=True)
class StoreUnits:
    weight: str = "kg"
    dimension: str = "cm"


def _in_units(value: Decimal, factor: Decimal) -> str:
    """At most 3 decimals, no trailing zeros: what the product form shows."""
    text = format((value * factor).quantize(Decimal("0.001")).normalize(), "f")
    return text


def package_body(package: Package | None, units: StoreUnits) -> dict[str, Any]:
    """``weight`` and ``dimensions`` (strings, in the store's units) of what the profile's package sets."""
    if package is None:
        return {}
    if units.weight not in PER_KG or units.dimension not in PER_CM:
        raise PermanentError(
            f"woocommerce: the store measures in {units.weight!r} and {units.dimension!r}, units nfsync does not know: "
            "the package is not sent"
        )
    body: dict[str, Any] = {}
    if package.weight_kg is not None:
        body["weight"] = _in_units(package.weight_kg, PER_KG[units.weight])
    sizes = {"length": package.length_cm, "width": package.width_cm, "height": package.height_cm}
    given = {k: _in_units(v, PER_CM[units.dimension]) for k, v in sizes.items() if v is not None}
    if given:
        body["dimensions"] = given
    return body


def product_body(draft: ListingDraft) -> dict[str, Any]:
    """The fields of a product create or full update (type, sku, price and stock included)."""
    body: dict[str, Any] = {"name": draft.name, "description": draft.description, "status": "publish"}
    if draft.category_id and draft.category_id.isdigit():
        body["categories"] = [{"id": int(draft.category_id)}]
    if draft.images:
        body["images"] = [{"src": url} for url in draft.images]
    if not is_variable(draft):
        return {**body, "type": "simple", **stock_price_body(draft.variants[0])}
    return {**body, "type": "variable", "sku": parent_sku(draft), "attributes": parent_attributes(draft)}


def parent_sku(draft: ListingDraft) -> str:
    return draft.variants[0].sku + PARENT_SKU_SUFFIX


def parent_attributes(draft: ListingDraft) -> list[dict[str, Any]]:
    names: dict[str, list[str]] = {}
    for variant in draft.variants:
        for name, option in variant.options.items():
            values = names.setdefault(name, [])
            if option not in values:
                values.append(option)
    return [
        {"name": name, "position": i, "visible": True, "variation": True, "options": options}
        for i, (name, options) in enumerate(names.items())
    ]


def stock_price_body(variant: VariantDraft) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "regular_price": wc_money(variant.price),
        "manage_stock": True,
        "stock_quantity": variant.stock,
    }


def variation_body(variant: VariantDraft) -> dict[str, Any]:
    attributes = [{"name": name, "option": option} for name, option in variant.options.items()]
    return {**stock_price_body(variant), "attributes": attributes}


# ---------------------------------------------------------------------------------------------- batches


def item_result(sku: str, answer: Any) -> ItemResult:
    """One entry of a batch answer: the updated object, or ``{"id", "error": {code, message, data}}``."""
    if not isinstance(answer, dict):
        return ItemResult(sku=sku, ok=False, error_code="missing", error_message="no answer for this item")
    error = answer.get("error")
    if isinstance(error, dict):
        return ItemResult(
            sku=sku,
            ok=False,
            error_code=str(error.get("code") or "error"),
            error_message=str(error.get("message") or "rejected"),
        )
    return ItemResult(sku=sku, ok=True)


# ---------------------------------------------------------------------------------------------- orders


def order_of(payload: Mapping[str, Any]) -> Order:
    created = gmt(payload.get("date_created_gmt")) or datetime.fromtimestamp(0, UTC)
    items = [item for item in payload.get("line_items") or [] if isinstance(item, dict)]
    return Order(
        platform_order_id=str(payload["id"]),
        status=str(payload.get("status") or ""),
        created_at=created,
        updated_at=gmt(payload.get("date_modified_gmt")) or created,
        currency=str(payload.get("currency") or ""),
        subtotal=sum((money(item.get("subtotal")) for item in items), Decimal(0)),
        shipping_fee=money(payload.get("shipping_total")),
        total=money(payload.get("total")),
        buyer=buyer_of(payload),
        lines=[line_of(item) for item in items],
        customer=customer_of(payload),
    )


def customer_of(payload: Mapping[str, Any]) -> Buyer | None:
    """An order's (or a customers-API entry's) buyer: ``customer_id`` 0 is a guest (WC-DOCS orders: "0 for
    guests"); name, e-mail and phone from ``billing``, the address from its address lines."""
    billing = payload.get("billing")
    billing = billing if isinstance(billing, dict) else {}
    customer_id = payload.get("customer_id", payload.get("id"))
    name = " ".join(str(billing.get(k) or payload.get(k) or "") for k in ("first_name", "last_name")).strip()
    lines = ("address_1", "address_2", "city", "state", "postcode", "country")
    return Buyer.seen(
        _id(customer_id),
        name=name,
        email=billing.get("email") or payload.get("email"),
        phone=billing.get("phone"),
        address=", ".join(str(billing[k]) for k in lines if billing.get(k)),
    )


def line_of(item: Mapping[str, Any]) -> OrderLine:
    return OrderLine(
        platform_line_id=str(item["id"]),
        platform_item_id=_id(item.get("product_id")),
        platform_variant_id=_id(item.get("variation_id")),  # 0 for a simple product
        sku=str(item["sku"]) if item.get("sku") else None,
        name=str(item.get("name") or ""),
        quantity=int(item.get("quantity") or 0),
        unit_price=money(item.get("price")),
    )


def buyer_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    billing = payload.get("billing")
    billing = billing if isinstance(billing, dict) else {}
    name = " ".join(str(billing.get(k) or "") for k in ("first_name", "last_name")).strip()
    buyer = {"customer_id": _id(payload.get("customer_id")), "name": name}
    buyer.update({k: billing[k] for k in ("email", "phone", "country") if billing.get(k)})
    return buyer
