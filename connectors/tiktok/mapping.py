"""TikTok Shop payloads to and from the shared models.

Field names follow the API reference copies in TTS-DOC ``raw/tiktok/api-reference/{products,orders,authorization}``
(Search Products 202502, Get Product 202309, Create Product 202309, Get Order List 202309, Get Order Detail 202507,
Get Authorized Shops 202309) and the Get Access Token response in ``authorization-overview-202407.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from nfsync.connectors.base.categories import AttributeCondition, AttributeOption, AttributeRule, CategoryRequirements
from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import (
    Buyer,
    Listing,
    ListingDraft,
    ListingVariant,
    Order,
    OrderLine,
    ShopInfo,
    TokenPair,
    VariantDraft,
    barcode_of,
)
from nfsync.connectors.base.secret import Secret

REGION_CURRENCY = {
    "VN": "VND",
    "TH": "THB",
    "MY": "MYR",
    "PH": "PHP",
    "SG": "SGD",
    "ID": "IDR",
    "US": "USD",
    "GB": "GBP",
    "MX": "MXN",
    "BR": "BRL",
    "JP": "JPY",
    "DE": "EUR",
    "FR": "EUR",
    "IT": "EUR",
    "ES": "EUR",
    "IE": "EUR",
}

PRODUCT_STATUS = {
    "ACTIVATE": "active",
    "SELLER_DEACTIVATED": "inactive",
    "PLATFORM_DEACTIVATED": "inactive",
    "FREEZE": "inactive",
    "DELETED": "deleted",
    "DRAFT": "draft",
    "PENDING": "pending",
    "FAILED": "failed",
}


def utc(timestamp: Any) -> datetime | None:
    """An aware UTC datetime from Unix seconds (int or numeric string); None when absent or zero."""
    try:
        seconds = int(timestamp)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def amount(value: Decimal) -> str:
    """A price as TikTok wants it: a plain decimal string, never exponent notation."""
    return format(value, "f")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------- auth and shops


def token_pair(data: Mapping[str, Any]) -> TokenPair:
    refresh = data.get("refresh_token")
    return TokenPair(
        access_token=Secret(str(data.get("access_token") or "")),
        refresh_token=Secret(str(refresh)) if refresh else None,
        access_expires_at=utc(data.get("access_token_expire_in")),
        refresh_expires_at=utc(data.get("refresh_token_expire_in")),
        platform_account_id=str(data["open_id"]) if data.get("open_id") else None,
        extra={
            key: data[key]
            for key in ("seller_name", "seller_base_region", "user_type", "granted_scopes")
            if key in data
        },
    )


def shop_info(shop: Mapping[str, Any]) -> ShopInfo:
    return ShopInfo(
        platform_shop_id=str(shop.get("id") or ""),
        name=str(shop.get("name") or ""),
        region=str(shop["region"]) if shop.get("region") else None,
        data={key: shop[key] for key in ("cipher", "code", "seller_type") if key in shop},
    )


# ------------------------------------------------------------------------------------------------- products


def sku_price(sku: Mapping[str, Any]) -> Decimal:
    """The price we write as ``amount`` reads back as ``tax_exclusive_price`` (Get Product); fall back to the
    sale price, then to ``amount``."""
    price = as_dict(sku.get("price"))
    for key in ("tax_exclusive_price", "sale_price", "amount"):
        if price.get(key) not in (None, ""):
            return money(price[key])
    return Decimal(0)


def quantity(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def sku_stock(sku: Mapping[str, Any]) -> int:
    return sum(quantity(row.get("quantity")) for row in as_list(sku.get("inventory")) if isinstance(row, dict))


def sku_warehouses(sku: Mapping[str, Any]) -> dict[str, int]:
    """Quantity per warehouse id (Get Product / Search Products ``skus[].inventory[]``, one row per warehouse the
    SKU is stocked in); rows without a warehouse id count in ``stock`` only."""
    stock: dict[str, int] = {}
    for row in map(as_dict, as_list(sku.get("inventory"))):
        warehouse = str(row.get("warehouse_id") or "")
        if warehouse:
            stock[warehouse] = stock.get(warehouse, 0) + quantity(row.get("quantity"))
    return stock


IDENTIFIER_TYPES = frozenset({"GTIN", "EAN", "UPC", "ISBN", "JAN"})
"""``skus[].identifier_code.type`` values Get Product 202309 documents (lazykern/ecommerce-api-docs@eba059e
``data/raw/tiktok/api-reference/products/get-product.spec.json``, ``data.skus[].identifier_code{code, type}``, both
optional strings)."""


def sku_barcode(sku: Mapping[str, Any]) -> str | None:
    """``identifier_code.code`` of a Get Product SKU, as text; a code whose ``type`` is present but none of the
    documented ones is not taken as a barcode (stricter reading), an absent type is. Search Products 202502
    documents no ``identifier_code`` (``search-products.spec.json``): its SKUs read None. ``extra_identifier_codes``
    (further codes of a virtual-bundle SKU, EU only) is not taken."""
    identifier = as_dict(sku.get("identifier_code"))
    kind = identifier.get("type")
    if kind not in (None, "") and str(kind).upper() not in IDENTIFIER_TYPES:
        return None
    return barcode_of(identifier.get("code"))


def variant(sku: Mapping[str, Any]) -> ListingVariant:
    options = {
        str(attr.get("name") or attr.get("id") or ""): str(attr.get("value_name") or attr.get("value_id") or "")
        for attr in as_list(sku.get("sales_attributes"))
        if isinstance(attr, dict)
    }
    status = as_dict(sku.get("status_info")).get("status")
    return ListingVariant(
        platform_variant_id=str(sku["id"]) if sku.get("id") else None,
        sku=str(sku.get("seller_sku") or ""),
        price=sku_price(sku),
        stock=sku_stock(sku),
        options=options,
        warehouses=sku_warehouses(sku),
        status="inactive" if status == "DEACTIVATED" else "active",
        barcode=sku_barcode(sku),
    )


def listing(product: Mapping[str, Any]) -> Listing:
    chains = [c for c in as_list(product.get("category_chains")) if isinstance(c, dict)]
    leaf = next((c for c in chains if c.get("is_leaf")), chains[-1] if chains else None)
    status = str(product.get("status") or "")
    return Listing(
        platform_item_id=str(product.get("id") or ""),
        name=str(product.get("title") or ""),
        description=str(product.get("description") or ""),
        status=PRODUCT_STATUS.get(status, status.lower() or "active"),
        category_id=str(leaf["id"]) if leaf and leaf.get("id") else None,
        variants=[variant(sku) for sku in as_list(product.get("skus")) if isinstance(sku, dict)],
        updated_at=utc(product.get("update_time")),
    )


def sku_payload(draft: VariantDraft, warehouse_id: str, currency: str) -> dict[str, Any]:
    return {
        "seller_sku": draft.sku,
        "price": {"amount": amount(draft.price), "currency": currency},
        "inventory": [{"warehouse_id": warehouse_id, "quantity": draft.stock}],
        "sales_attributes": sales_attributes(draft),
    }


def sales_attributes(draft: VariantDraft) -> list[dict[str, str]]:
    """Custom sales attributes by name (ids come back in the answer): the profile's sale properties, else the CRM
    options."""
    return [{"name": name, "value_name": value} for name, value in (draft.sale_properties or draft.options).items()]


def content_fields(draft: ListingDraft) -> dict[str, Any]:
    """The listing profile's part of Create / Edit Product (only what the draft sets): ``brand_id``,
    ``product_attributes`` (a value that is a number is a value id, other text a custom value name),
    ``package_weight`` in KILOGRAM and ``package_dimensions`` in whole CENTIMETER (the SEA units,
    docs/platforms/listings/tiktok.md), ``main_images`` (uris Upload Product Image issued)."""
    out: dict[str, Any] = {}
    if draft.images:
        out["main_images"] = [{"uri": uri} for uri in draft.images]
    if draft.brand is not None and draft.brand.id:
        out["brand_id"] = draft.brand.id
    if draft.attributes:
        out["product_attributes"] = [
            {"id": a.id, "values": [{"id": v} if v.isdigit() else {"name": v} for v in a.values]}
            for a in draft.attributes
        ]
    package = draft.package
    if package is not None and package.weight_kg is not None:
        out["package_weight"] = {"value": format(package.weight_kg.normalize(), "f"), "unit": "KILOGRAM"}
    if package is not None and None not in (package.length_cm, package.width_cm, package.height_cm):
        out["package_dimensions"] = {
            "length": _whole(package.length_cm),
            "width": _whole(package.width_cm),
            "height": _whole(package.height_cm),
            "unit": "CENTIMETER",
        }
    return out


def _whole(value: Decimal | None) -> str:
    """Dimensions are positive whole numbers (as strings): rounded up, never 0."""
    assert value is not None
    return str(max(1, int(value.to_integral_value(rounding="ROUND_CEILING"))))


def product_payload(
    draft: ListingDraft, warehouse_id: str, currency: str, package_weight: Mapping[str, str]
) -> dict[str, Any]:
    """Create Product body. ``description`` is required by TikTok, so the title stands in for an empty one;
    images must be URIs returned by TikTok's image upload (passed through as given)."""
    return {
        "save_mode": "LISTING",
        "title": draft.name,
        "description": draft.description or draft.name,
        "category_id": draft.category_id or "",
        "main_images": [{"uri": uri} for uri in draft.images],
        **({"package_weight": dict(package_weight)} if package_weight else {}),
        "skus": [sku_payload(v, warehouse_id, currency) for v in draft.variants],
    } | content_fields(draft)


def created_listing(draft: ListingDraft, item_id: str, skus: list[Any], status: str = "active") -> Listing:
    """The listing a Create Product answer describes (it returns ids, not the whole product)."""
    ids = {str(s.get("seller_sku")): str(s.get("id")) for s in skus if isinstance(s, dict) and s.get("id")}
    return Listing(
        platform_item_id=item_id,
        name=draft.name,
        description=draft.description,
        status=status,
        category_id=draft.category_id,
        variants=[
            ListingVariant(
                platform_variant_id=ids.get(v.sku), sku=v.sku, price=v.price, stock=v.stock, options=dict(v.options)
            )
            for v in draft.variants
        ],
        updated_at=datetime.now(UTC),
    )


# --------------------------------------------------------------------------------------------------- orders


def order_lines(items: list[Any]) -> list[OrderLine]:
    """TikTok returns one line item per unit (no quantity field): units of the same SKU at the same price become
    one line, identified by the first unit's line id."""
    grouped: dict[tuple[str, str, str], tuple[dict[str, Any], int]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        key = (str(item.get("sku_id") or ""), str(item.get("seller_sku") or ""), str(item.get("sale_price") or ""))
        first, count = grouped.get(key, (item, 0))
        grouped[key] = (first, count + 1)
    return [
        OrderLine(
            platform_line_id=str(item.get("id") or ""),
            platform_item_id=str(item["product_id"]) if item.get("product_id") else None,
            platform_variant_id=str(item["sku_id"]) if item.get("sku_id") else None,
            sku=str(item["seller_sku"]) if item.get("seller_sku") else None,
            name=str(item.get("product_name") or ""),
            quantity=count,
            unit_price=money(item.get("sale_price")),
        )
        for item, count in grouped.values()
    ]


def buyer(order: Mapping[str, Any]) -> dict[str, Any]:
    address = as_dict(order.get("recipient_address"))
    found = {
        "user_id": order.get("user_id"),
        "email": order.get("buyer_email"),
        "name": address.get("name"),
        "phone": address.get("phone_number"),
        "address": address.get("full_address"),
        "region": address.get("region_code"),
        "message": order.get("buyer_message"),
    }
    return {key: value for key, value in found.items() if value not in (None, "")}


def order(payload: Mapping[str, Any]) -> Order:
    payment = as_dict(payload.get("payment"))
    created = utc(payload.get("create_time")) or datetime.fromtimestamp(0, UTC)
    return Order(
        platform_order_id=str(payload.get("id") or ""),
        status=str(payload.get("status") or ""),
        created_at=created,
        updated_at=utc(payload.get("update_time")) or created,
        currency=str(payment.get("currency") or ""),
        subtotal=money(payment.get("sub_total")),
        shipping_fee=money(payment.get("shipping_fee")),
        total=money(payment.get("total_amount")),
        buyer=buyer(payload),
        lines=order_lines(as_list(payload.get("line_items"))),
        customer=customer(payload),
    )


def customer(order: Mapping[str, Any]) -> Buyer | None:
    """``user_id`` is the buyer; ``buyer_email`` is always an anonymised relay address, and the recipient's name and
    phone are desensitised when the order ships with platform logistics (TTS-RAW orders/get-order-detail.spec.json)."""
    address = as_dict(order.get("recipient_address"))
    return Buyer.seen(
        order.get("user_id"),
        anonymised=("email",),
        name=address.get("name"),
        email=order.get("buyer_email"),
        phone=address.get("phone_number"),
        address=address.get("full_address"),
    )


def category_requirements(
    category_id: str,
    attributes: Mapping[str, Any],
    rules: Mapping[str, Any],
    brand_pages: list[dict[str, Any]] | None = None,
) -> CategoryRequirements:
    """Get Attributes ``data.attributes[]``, Get Category Rules ``data`` and Get Brands pages
    (docs/platforms/listings/tiktok.md). An attribute with ``requirement_conditions`` is required when another
    attribute holds one of the values named. The brands are held when the last page read has no next one."""
    complete = bool(brand_pages) and not (brand_pages or [{}])[-1].get("next_page_token")
    brands = [as_dict(b) for page in brand_pages or [] for b in as_list(page.get("brands"))]
    return CategoryRequirements(
        category_id=category_id,
        attributes=[_attribute_rule(as_dict(a)) for a in as_list(attributes.get("attributes"))],
        package_dimensions_required=bool(as_dict(rules.get("package_dimension")).get("is_required")),
        brands=[AttributeOption(id=str(b.get("id")), name=str(b.get("name") or "")) for b in brands if usable(b)]
        if complete
        else None,
    )


def usable(brand: Mapping[str, Any]) -> bool:
    """Authorised and available, or unauthorised and not a T1 brand (Get Brands; the doc spells the unauthorised
    value "UNAUTHORIEZD", so anything but AUTHORIZED counts as unauthorised)."""
    if brand.get("authorized_status") == "AUTHORIZED":
        return bool(brand.get("brand_status", "AVAILABLE") == "AVAILABLE")
    return not brand.get("is_t1_brand")


def _attribute_rule(attribute: Mapping[str, Any]) -> AttributeRule:
    values = [as_dict(v) for v in as_list(attribute.get("values"))]
    return AttributeRule(
        id=str(attribute.get("id") or ""),
        name=str(attribute.get("name") or attribute.get("id") or ""),
        required=bool(attribute.get("is_requried") or attribute.get("is_required")),  # the reference's spelling
        multiple=bool(attribute.get("is_multiple_selection")),
        custom=bool(attribute.get("is_customizable")) or not values,
        sale_property=attribute.get("type") == "SALES_PROPERTY",
        values=[AttributeOption(id=str(v.get("id") or ""), name=str(v.get("name") or "")) for v in values],
        required_if=[_condition(c) for c in map(as_dict, as_list(attribute.get("requirement_conditions")))],
    )


def _condition(condition: Mapping[str, Any]) -> AttributeCondition:
    """``{condition_type: VALUE_ID_MATCH, attribute_id, attribute_value_id}``, the one documented type."""
    return AttributeCondition(
        attribute_id=str(condition.get("attribute_id") or ""), value_id=str(condition.get("attribute_value_id") or "")
    )


def image_uri(data: Mapping[str, Any]) -> str:
    """Upload Product Image ``data.uri``: what ``main_images`` takes (``url`` is for descriptions)."""
    uri = str(data.get("uri") or "")
    if not uri:
        raise PermanentError("tiktok: the image upload answered no uri")
    return uri
