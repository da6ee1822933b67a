"""Shopify GraphQL nodes <-> the shared models (docs/platforms/shopify.md; shapes of tests/contracts/shopify.json).

Platform ids are stored as the numeric tail of Shopify's GIDs (``123`` for ``gid://shopify/Product/123``): the
same value a webhook body's ``id`` carries; the client turns them back into GIDs for every call (doc "Global IDs").
Money on the wire is a decimal string: ``ProductVariant.price`` and ``MoneyBag.shopMoney.amount`` (the shop's
currency); times are ISO 8601 with ``Z``. A field the contract's samples leave out (``inventoryQuantity``,
``barcode``, ``selectedOptions``) is read as absent, never assumed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from nfsync.connectors.base.models import (
    Buyer,
    Listing,
    ListingDraft,
    ListingVariant,
    Order,
    OrderLine,
    VariantDraft,
    barcode_of,
)
from nfsync.connectors.shopify.operations import gid, gid_number

PRODUCT_STATUS = {"ACTIVE": "active", "DRAFT": "inactive", "ARCHIVED": "inactive"}  # ProductStatus (SD-REF)
_NOT_STARTED = frozenset({"UNFULFILLED", "OPEN", "ON_HOLD", "SCHEDULED"})  # fulfillment not started (doc proposal)
DEFAULT_OPTION = ("Title", "Default Title")
"""The option a product without variant options carries (UNCONFIRMED: Shopify's own default, not in a stored page)."""


# ---------------------------------------------------------------------------------------------- scalars


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def nodes(connection: Any) -> list[dict[str, Any]]:
    """``{nodes: [...]}`` (the documents' shape) or ``{edges: [{node}]}`` (a bulk query's)."""
    data = as_dict(connection)
    if "nodes" in data:
        return [as_dict(n) for n in as_list(data["nodes"])]
    return [as_dict(as_dict(e).get("node")) for e in as_list(data.get("edges"))]


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None and str(value).strip() else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def shop_money(bag: Any) -> tuple[Decimal, str | None]:
    """(amount, currency) of a ``MoneyBag``'s ``shopMoney``."""
    data = as_dict(as_dict(bag).get("shopMoney"))
    return money(data.get("amount")), (str(data["currencyCode"]) if data.get("currencyCode") else None)


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def query_time(value: datetime) -> str:
    """A search-syntax time: UTC, whole seconds, ``Z`` (``updated_at:>='2026-05-01T00:00:00Z'``, doc row orders)."""
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_string(value: Decimal) -> str:
    """``Money`` input: a decimal string in the shop's currency (SD-REF), exactly the CRM's value."""
    return format(value, "f")


def number(value: Any) -> str:
    """The numeric tail of a GID (what nfsync stores as a platform id: it is also a webhook body's ``id``); "" for
    none. Calls turn it back into the GID (``as_gid``)."""
    return gid_number(str(value)) if value else ""


def as_gid(kind: str, value: str) -> str:
    """A GID as given, or the GID of a bare number (a webhook's numeric ``id``)."""
    return value if value.startswith("gid://") else gid(kind, value)


# ---------------------------------------------------------------------------------------------- listings


def variant_of(node: Mapping[str, Any]) -> ListingVariant:
    options = {
        str(o.get("name")): str(o.get("value"))
        for o in map(as_dict, as_list(node.get("selectedOptions")))
        if o.get("name") and (str(o.get("name")), str(o.get("value"))) != DEFAULT_OPTION
    }
    quantity = node.get("inventoryQuantity")
    return ListingVariant(
        platform_variant_id=number(node["id"]),
        sku=str(node.get("sku") or ""),
        price=money(node.get("price")),
        stock=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0,
        options=options,
        barcode=barcode_of(node.get("barcode")),
    )


def listing_of(product: Mapping[str, Any], variants: Sequence[Mapping[str, Any]] | None = None) -> Listing:
    """A product node; ``variants`` replaces its first page of variants when the product had more (completed by
    VARIANTS ``product_id:``) or when they came as bulk JSONL children."""
    found = nodes(product.get("variants")) if variants is None else list(variants)
    status = str(product.get("status") or "")
    return Listing(
        platform_item_id=number(product["id"]),
        name=str(product.get("title") or ""),
        description=str(product.get("descriptionHtml") or ""),
        status=PRODUCT_STATUS.get(status, status.lower() or "active"),
        variants=[variant_of(v) for v in found],
        updated_at=timestamp(product.get("updatedAt")),
    )


def inventory_items(variants: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Variant GID -> its InventoryItem GID (what ``inventorySetQuantities`` takes)."""
    pairs = ((str(v.get("id") or ""), str(as_dict(v.get("inventoryItem")).get("id") or "")) for v in variants)
    return {variant: item for variant, item in pairs if variant and item}


def product_set_input(draft: ListingDraft, location_id: str | None) -> dict[str, Any]:
    """``ProductSetInput`` for a **new** product (doc row ``mutation productSet``): title, status, productOptions and
    variants with optionValues, sku, price, ``inventoryItem {sku, tracked}`` and, when a location is known, their
    ``available`` quantity there. Only for creation: productSet replaces list fields (variants) wholesale.
    The description goes as ``descriptionHtml`` (SD-REF ProductSetInput/ProductUpdateInput); images are not sent
    (media are uploaded by Shopify from a public URL; not emulated, see docs/platforms/shopify.md)."""
    names = list(dict.fromkeys(name for v in draft.variants for name in v.options))
    if not names:
        options = [{"name": DEFAULT_OPTION[0], "values": [{"name": DEFAULT_OPTION[1]}]}]
    else:
        options = [
            {"name": n, "values": [{"name": o} for o in dict.fromkeys(v.options[n] for v in draft.variants)]}
            for n in names
        ]
    variants = []
    for v in draft.variants:
        values = (
            [{"optionName": n, "name": v.options[n]} for n in names]
            if names
            else [{"optionName": DEFAULT_OPTION[0], "name": DEFAULT_OPTION[1]}]
        )
        variant: dict[str, Any] = {
            "optionValues": values,
            "sku": v.sku,
            "price": decimal_string(v.price),
            "inventoryItem": {"sku": v.sku, "tracked": True},
        }
        if location_id is not None:
            variant["inventoryQuantities"] = [{"locationId": location_id, "name": "available", "quantity": v.stock}]
        variants.append(variant)
    product: dict[str, Any] = {"title": draft.name, "status": "ACTIVE", "productOptions": options, "variants": variants}
    if draft.description:
        product["descriptionHtml"] = draft.description
    return product


def product_changes(product: Mapping[str, Any], draft: ListingDraft) -> dict[str, Any]:
    """``ProductUpdateInput`` fields whose value differs from the product's (title, descriptionHtml); {} when none.
    Status, options, vendor, tags and the rest stay as the merchant set them (read-modify-write)."""
    changes: dict[str, Any] = {}
    if draft.name != (product.get("title") or ""):
        changes["title"] = draft.name
    if draft.description != (product.get("descriptionHtml") or ""):
        changes["descriptionHtml"] = draft.description
    return changes


def new_variant_input(variant: VariantDraft, option_names: Sequence[str], location_id: str | None) -> dict[str, Any]:
    """``ProductVariantsBulkInput`` for productVariantsBulkCreate (SD-REF): one value for each of the product's
    options, the SKU on ``inventoryItem`` (tracked), the price as a decimal string, and ``available`` at the default
    location when there is one (``inventoryQuantities: [{locationId, availableQuantity}]``)."""
    item: dict[str, Any] = {
        "optionValues": [{"optionName": n, "name": variant.options[n]} for n in option_names],
        "price": decimal_string(variant.price),
        "inventoryItem": {"sku": variant.sku, "tracked": True},
    }
    if location_id is not None:
        item["inventoryQuantities"] = [{"locationId": location_id, "availableQuantity": variant.stock}]
    return item


def option_mismatch(variant: VariantDraft, option_names: Sequence[str]) -> str | None:
    """Why a new variant cannot be added to a product with these options, or None: Shopify wants one value for each
    of the product's options and no other (NEED_TO_ADD_OPTION_VALUES, OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS,
    SD-REF ProductVariantsBulkCreateUserErrorCode); nfsync does not add options to a merchant's product."""
    names = [n for n in option_names if n != DEFAULT_OPTION[0]]
    if not names:
        return "the product has no variant options (a single-variant product): it takes no new variants"
    if set(variant.options) != set(names):
        return f"its options {sorted(variant.options)} are not the product's options {names}"
    return None


# ---------------------------------------------------------------------------------------------- orders


def order_status(cancelled_at: Any, financial: Any, fulfillment: Any) -> str:
    """One status key from Shopify's two axes (docs/platforms/shopify.md "Order statuses", first match wins):
    cancelled, then the financial states that settle the order (refunded, voided, expired), then unpaid ones
    (pending, authorized, partially_paid) while fulfillment has not started, then the fulfillment state."""
    if cancelled_at:
        return "cancelled"
    money_state = str(financial or "").upper()
    shipping = str(fulfillment or "UNFULFILLED").upper()
    if money_state in ("REFUNDED", "VOIDED", "EXPIRED"):
        return money_state.lower()
    if money_state in ("PENDING", "AUTHORIZED", "PARTIALLY_PAID") and shipping in _NOT_STARTED:
        return money_state.lower()
    return shipping.lower()


def customer_of(node: Any) -> Buyer | None:
    """The order's ``customer`` (its GID is the platform buyer id); name, e-mail and phone are protected customer
    data and come back null without approval (SD-REF): then only the id is known."""
    customer = as_dict(node)
    if not customer:
        return None
    name = " ".join(str(customer.get(k) or "") for k in ("firstName", "lastName")).strip()
    return Buyer.seen(
        number(customer.get("id")) or None, name=name, email=customer.get("email"), phone=customer.get("phone")
    )


def line_of(node: Mapping[str, Any]) -> OrderLine:
    price, _ = shop_money(node.get("originalUnitPriceSet"))
    return OrderLine(
        platform_line_id=number(node["id"]),
        platform_item_id=number(as_dict(node.get("product")).get("id")) or None,
        platform_variant_id=number(as_dict(node.get("variant")).get("id")) or None,
        sku=str(node["sku"]) if node.get("sku") else None,
        name=str(node.get("name") or ""),
        quantity=int(node.get("quantity") or 0),
        unit_price=price,
    )


def order_of(node: Mapping[str, Any]) -> Order:
    total, total_currency = shop_money(node.get("totalPriceSet"))
    subtotal, _ = shop_money(node.get("subtotalPriceSet"))
    shipping, _ = shop_money(node.get("totalShippingPriceSet"))
    created = timestamp(node.get("createdAt"))
    updated = timestamp(node.get("updatedAt")) or created
    if created is None or updated is None:
        raise ValueError(f"shopify order {node.get('id')} has no createdAt")
    customer = customer_of(node.get("customer"))
    buyer: dict[str, Any] = {}
    if customer is not None:
        buyer = {"customer_id": customer.platform_buyer_id, "name": customer.name or ""}
        buyer.update({k: v for k, v in (("email", customer.email), ("phone", customer.phone)) if v})
    return Order(
        platform_order_id=number(node["id"]),
        status=order_status(
            node.get("cancelledAt"), node.get("displayFinancialStatus"), node.get("displayFulfillmentStatus")
        ),
        created_at=created,
        updated_at=updated,
        currency=str(node.get("currencyCode") or total_currency or ""),
        subtotal=subtotal,
        shipping_fee=shipping,
        total=total,
        buyer=buyer,
        lines=[line_of(n) for n in nodes(node.get("lineItems"))],
        customer=customer,
    )


def more_lines(node: Mapping[str, Any]) -> bool:
    """Whether the order has line items past the first page (ORDER_LINES_PAGE)."""
    return bool(as_dict(as_dict(node.get("lineItems")).get("pageInfo")).get("hasNextPage"))
