"""Shopee payloads to the shared models, and the shared models to Shopee request bodies.

Field names follow the API reference pages summarised in the references cited in tests/contracts
(``get_item_base_info``, ``get_model_list``, ``get_order_detail``, ``add_item``, ``init_tier_variation``,
``update_price``, ``update_stock``) and section 2.1 for the token responses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from nfsync.connectors.base.categories import AttributeOption, AttributeRule, CategoryRequirements
from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.listing import LogisticsChannel
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

ACCESS_TTL = timedelta(hours=4)
REFRESH_TTL = timedelta(days=30)
MAX_TIERS = 2
MAX_MODELS = 20  # init_tier_variation: "at most 50" in the text, "under 20" in error_model_count_over_limit (stricter)
MAX_TIER_OPTIONS = 20
DEFAULT_TIER = "Variation"  # the tier name used when a multi-variant draft has no option names
_EPOCH_THRESHOLD = 10**9  # an ``expire_in`` this large is an absolute Unix time (one docs sample), not seconds

ITEM_STATUS = {
    "NORMAL": "active",
    "UNLIST": "inactive",
    "BANNED": "banned",
    "REVIEWING": "reviewing",
    "SELLER_DELETE": "deleted",
    "SHOPEE_DELETE": "deleted",
}
MODEL_STATUS = {"MODEL_NORMAL": "active", "MODEL_UNAVAILABLE": "inactive"}
NO_GTIN = frozenset({"00"})
"""The ``gtin_code`` value Shopee documents as marking an item declared to have no GTIN (lazykern/ecommerce-api-docs
@eba059e ``data/raw/shopee/apis/product/v2.product.get_item_base_info.json``, response ``item_list.gtin_code``).
Documented on the item-level field; treated as "no code" on models too (UNCONFIRMED, stricter reading)."""

T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def price_number(price: Decimal) -> int | float:
    """A price as Shopee takes it: an integer, or two decimals in the regions that allow them."""
    if price == price.to_integral_value():
        return int(price)
    return float(round(price, 2))


def utc(seconds: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(seconds), UTC) if seconds else None
    except (TypeError, ValueError, OverflowError):
        return None


# ---------------------------------------------------------------------------------------------------- tokens


def token_pair(body: Mapping[str, Any], owner_id: str, now: datetime | None = None) -> TokenPair:
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not access or not refresh:
        raise PermanentError("shopee answered a token request without tokens")
    now = now or datetime.now(UTC)
    expire_in = int(body.get("expire_in") or ACCESS_TTL.total_seconds())
    expires = utc(expire_in) if expire_in > _EPOCH_THRESHOLD else now + timedelta(seconds=expire_in)
    shops = [str(s) for s in body.get("shop_id_list") or []] or [str(body.get("shop_id") or owner_id)]
    extra = {name: body[name] for name in ("merchant_id_list", "main_account_id") if body.get(name)}
    return TokenPair(
        access_token=Secret(str(access)),
        refresh_token=Secret(str(refresh)),
        access_expires_at=expires,
        refresh_expires_at=now + REFRESH_TTL,  # documented lifetime; the response does not carry it
        platform_account_id=owner_id,
        shop_ids=shops,
        extra=extra,
    )


def shop_info(body: Mapping[str, Any], shop_id: str) -> ShopInfo:
    """``get_shop_info`` answers at the top level (no ``response`` wrapper)."""
    status = str(body.get("status") or "NORMAL")
    return ShopInfo(
        platform_shop_id=shop_id,
        name=str(body.get("shop_name") or ""),
        status="active" if status == "NORMAL" else status.lower(),
        region=body.get("region") or None,
        created_at=utc(body.get("auth_time")),
        data={key: body[key] for key in ("auth_time", "expire_time", "is_cb", "is_sip") if key in body},
    )


# ---------------------------------------------------------------------------------------------------- listings


def listing(item: Mapping[str, Any], models: Mapping[str, Any] | None) -> Listing:
    """One listing from ``get_item_base_info`` (+ ``get_model_list`` when the item has models)."""
    variants = _model_variants(models) if models is not None and item.get("has_model") else [_item_variant(item)]
    category = item.get("category_id")
    return Listing(
        platform_item_id=str(item["item_id"]),
        name=str(item.get("item_name") or ""),
        description=str(item.get("description") or ""),
        status=ITEM_STATUS.get(str(item.get("item_status")), str(item.get("item_status") or "").lower()),
        category_id=str(category) if category else None,
        variants=variants,
        updated_at=utc(item.get("update_time")),
    )


def _item_variant(item: Mapping[str, Any]) -> ListingVariant:
    return ListingVariant(
        platform_variant_id=None,  # Shopee's model_id 0: the item has no models
        sku=str(item.get("item_sku") or ""),
        price=_original_price(item.get("price_info")),
        stock=_seller_stock(item.get("stock_info_v2")),
        warehouses=_locations(item.get("stock_info_v2")),
        # get_item_base_info ``item_list[].gtin_code`` (string, optional; documented for BR, on items with a default
        # model only): v2.product.get_item_base_info.json, same commit as NO_GTIN.
        barcode=barcode_of(item.get("gtin_code"), placeholders=NO_GTIN),
    )


def _model_variants(models: Mapping[str, Any]) -> list[ListingVariant]:
    tiers = models.get("tier_variation") or []
    return [
        ListingVariant(
            platform_variant_id=str(model["model_id"]),
            sku=str(model.get("model_sku") or ""),
            price=_original_price(model.get("price_info")),
            stock=_seller_stock(model.get("stock_info_v2")),
            warehouses=_locations(model.get("stock_info_v2")),
            options=_options(tiers, model.get("tier_index") or []),
            status=MODEL_STATUS.get(str(model.get("model_status") or "MODEL_NORMAL"), "active"),
            # get_model_list ``model[].gtin_code`` (string, optional; documented for TW sellers and BR local
            # sellers): lazykern/ecommerce-api-docs@eba059e data/raw/shopee/apis/product/v2.product.get_model_list.json.
            # No fallback to an item-level code: get_item_base_info gives one only for items without tiers.
            barcode=barcode_of(model.get("gtin_code"), placeholders=NO_GTIN),
        )
        for model in models.get("model") or []
    ]


def _options(tiers: Sequence[Mapping[str, Any]], index: Sequence[int]) -> dict[str, str]:
    options = {}
    for tier, position in zip(tiers, index, strict=False):
        choices = tier.get("option_list") or []
        if 0 <= position < len(choices):
            options[str(tier.get("name") or "")] = str(choices[position].get("option") or "")
    return options


def _original_price(price_info: Any) -> Decimal:
    first = price_info[0] if isinstance(price_info, list) and price_info else {}
    return money(first.get("original_price", first.get("current_price")))


def _locations(stock_info: Any) -> dict[str, int]:
    """Stock per warehouse location_id (multi-warehouse shops; the single-warehouse entry has no location)."""
    entries = stock_info.get("seller_stock") if isinstance(stock_info, dict) else None
    return {str(e["location_id"]): int(e.get("stock") or 0) for e in entries or [] if e.get("location_id")}


def _seller_stock(stock_info: Any) -> int:
    if not isinstance(stock_info, dict):
        return 0
    return sum(int(entry.get("stock") or 0) for entry in stock_info.get("seller_stock") or [])


# ---------------------------------------------------------------------------------------------------- create


def is_tiered(draft: ListingDraft) -> bool:
    return len(draft.variants) > 1 or any(variant.options for variant in draft.variants)


def add_item_body(draft: ListingDraft, extra: Mapping[str, str]) -> dict[str, Any]:
    """``add_item``: the draft with its listing profile's content (brand, attributes, package, logistics). A draft
    without package or logistics falls back to the shop's settings (``ShopRef.extra`` ``weight_kg`` and
    comma-separated ``logistic_ids``)."""
    if not draft.category_id:
        raise PermanentError("shopee needs a category_id to create a listing")
    first = draft.variants[0]
    body: dict[str, Any] = {
        "item_name": draft.name,
        "description": draft.description or draft.name,
        "category_id": platform_int(draft.category_id, "category_id"),
        "item_sku": first.sku,  # found again by search_item(item_sku) after a lost response
        "original_price": price_number(first.price),
        "seller_stock": [{"stock": first.stock}],
        "image": {"image_id_list": list(draft.images)},
    }
    if extra.get("weight_kg"):
        body["weight"] = float(extra["weight_kg"])
    logistics = [int(x) for x in (extra.get("logistic_ids") or "").split(",") if x.strip()]
    if logistics:
        body["logistic_info"] = [{"logistic_id": logistic, "enabled": True} for logistic in logistics]
    return body | content_fields(draft)


def content_fields(draft: ListingDraft) -> dict[str, Any]:
    """The profile's part of ``add_item`` / ``update_item`` (only what the draft sets): ``brand`` (``brand_id`` 0 is
    No brand), ``attribute_list`` (a value that is a number is a ``value_id``, other text an
    ``original_value_name`` with ``value_id`` 0), ``weight`` in kg, ``dimension`` in whole cm, ``logistic_info``."""
    out: dict[str, Any] = {}
    if draft.brand is not None:
        brand: dict[str, Any] = {"brand_id": platform_int(draft.brand.id or "0", "brand.id")}
        if draft.brand.name:
            brand["original_brand_name"] = draft.brand.name
        out["brand"] = brand
    if draft.attributes:
        out["attribute_list"] = [
            {
                "attribute_id": platform_int(a.id, "attribute id"),
                "attribute_value_list": [_attribute_value(v, a.unit) for v in a.values],
            }
            for a in draft.attributes
        ]
    package = draft.package
    if package is not None and package.weight_kg is not None:
        out["weight"] = float(package.weight_kg)
    if package is not None and None not in (package.length_cm, package.width_cm, package.height_cm):
        out["dimension"] = {
            "package_length": _whole_cm(package.length_cm),
            "package_width": _whole_cm(package.width_cm),
            "package_height": _whole_cm(package.height_cm),
        }
    if draft.logistics:
        out["logistic_info"] = [_logistic(c) for c in draft.logistics]
    return out


def _attribute_value(value: str, unit: str | None) -> dict[str, Any]:
    if value.isdigit():
        return {"value_id": int(value)}
    entry: dict[str, Any] = {"value_id": 0, "original_value_name": value}
    if unit:
        entry["value_unit"] = unit
    return entry


def _whole_cm(value: Decimal | None) -> int:
    """Shopee's ``dimension`` takes whole centimetres: rounded up, never to 0."""
    assert value is not None
    return max(1, int(value.to_integral_value(rounding="ROUND_CEILING")))


def _logistic(channel: LogisticsChannel) -> dict[str, Any]:
    entry: dict[str, Any] = {"logistic_id": platform_int(channel.id, "logistics id"), "enabled": channel.enabled}
    if channel.size_id is not None:
        entry["size_id"] = platform_int(channel.size_id, "logistics size_id")
    if channel.shipping_fee is not None:
        entry["shipping_fee"] = float(channel.shipping_fee)
    if channel.is_free is not None:
        entry["is_free"] = channel.is_free
    return entry


def platform_int(value: str, what: str) -> int:
    """Shopee's ids are int64: anything else is refused before the call."""
    if not value.isdigit() or int(value) >= 2**63:
        raise PermanentError(f"shopee: {what} must be a Shopee id (digits), not {value!r}")
    return int(value)


def tier_body(item_id: str, variants: Sequence[VariantDraft]) -> dict[str, Any]:
    """``init_tier_variation`` with ``standardise_tier_variation`` (SHP-RAW update_log 2025-09-12 deprecates the
    ``tier_variation`` shape): at most two custom tiers (variation and option ids 0, named) built from the variants'
    options, one tier named after the SKUs when the variants carry no options. Limits: the stricter documented
    readings, 20 models and 20 options per tier (error_model_count_over_limit, error_tier_opt_too_many)."""
    names = list(dict.fromkeys(name for variant in variants for name in variant.options))
    if len(names) > MAX_TIERS:
        raise PermanentError(f"shopee allows at most {MAX_TIERS} variation tiers, the draft has {len(names)}")
    if len(variants) > MAX_MODELS:
        raise PermanentError(f"shopee allows at most {MAX_MODELS} models per item, the draft has {len(variants)}")
    rows = [[v.options.get(n, "") for n in names] for v in variants] if names else [[v.sku] for v in variants]
    names = names or [DEFAULT_TIER]
    choices = [list(dict.fromkeys(row[i] for row in rows)) for i in range(len(names))]
    if any(len(options) > MAX_TIER_OPTIONS for options in choices):
        raise PermanentError(f"shopee allows at most {MAX_TIER_OPTIONS} options per variation tier")
    return {
        "item_id": int(item_id),
        "standardise_tier_variation": [
            _standard_tier(name, options) for name, options in zip(names, choices, strict=True)
        ],
        "model": [
            {
                "tier_index": [choices[i].index(row[i]) for i in range(len(names))],
                "original_price": price_number(variant.price),
                "model_sku": variant.sku,
                "seller_stock": [{"stock": variant.stock}],
            }
            for variant, row in zip(variants, rows, strict=True)
        ],
    }


def _standard_tier(name: str, options: Sequence[str]) -> dict[str, Any]:
    """A custom variation: ids 0 and a name (the documented payload sample); standard ones come from get_variations."""
    listed = [{"variation_option_id": 0, "variation_option_name": option} for option in options]
    return {"variation_id": 0, "variation_group_id": 0, "variation_name": name, "variation_option_list": listed}


# ---------------------------------------------------------------------------------------------------- categories

# get_attribute_tree ``attribute_info.input_type``: 1 SINGLE_DROP_DOWN, 2 SINGLE_COMBO_BOX, 3 FREE_TEXT_FILED,
# 4 MULTI_DROP_DOWN, 5 MULTI_COMBO_BOX (docs/platforms/listings/shopee.md); combo boxes and free text take custom
# values.
MULTIPLE_INPUTS = {4, 5}
CUSTOM_INPUTS = {2, 3, 5}


def category_requirements(
    category_id: str,
    tree: Mapping[str, Any],
    brand_pages: Sequence[Mapping[str, Any]],
    channels: Mapping[str, Any] | None = None,
) -> CategoryRequirements:
    """``get_attribute_tree`` ``response.list[]`` entry of the category; ``get_brand_list`` pages (``is_mandatory``,
    and the brands when the last page read has no next one); ``get_channel_list``'s channels that are ``enabled``
    and not masked (``mask_channel_id`` 0: docs/platforms/listings/shopee.md, "Logistics")."""
    entries = [e for e in tree.get("list") or [] if isinstance(e, Mapping)]
    entry = next((e for e in entries if str(e.get("category_id")) == category_id), entries[0] if entries else {})
    complete = bool(brand_pages) and not brand_pages[-1].get("has_next_page")
    brands = [b for page in brand_pages for b in page.get("brand_list") or [] if isinstance(b, Mapping)]
    listed = [c for c in (channels or {}).get("logistics_channel_list") or [] if isinstance(c, Mapping)]
    return CategoryRequirements(
        category_id=category_id,
        attributes=[_attribute_rule(a) for a in entry.get("attribute_tree") or [] if isinstance(a, Mapping)],
        brand_required=any(bool(page.get("is_mandatory")) for page in brand_pages),
        brands=[_brand(b) for b in brands] if complete else None,
        logistics=[_channel(c) for c in listed if c.get("enabled") and not c.get("mask_channel_id")]
        if channels is not None
        else None,
    )


def _brand(brand: Mapping[str, Any]) -> AttributeOption:
    return AttributeOption(id=str(brand.get("brand_id")), name=str(brand.get("original_brand_name") or ""))


def _channel(channel: Mapping[str, Any]) -> AttributeOption:
    return AttributeOption(
        id=str(channel.get("logistics_channel_id")), name=str(channel.get("logistics_channel_name") or "")
    )


def _attribute_rule(attribute: Mapping[str, Any]) -> AttributeRule:
    raw = attribute.get("attribute_info")
    info: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    kind = info.get("input_type")
    options = [v for v in attribute.get("attribute_value_list") or [] if isinstance(v, Mapping)]
    limit = info.get("max_value_count")
    return AttributeRule(
        id=str(attribute.get("attribute_id")),
        name=str(attribute.get("name") or attribute.get("attribute_id")),
        required=bool(attribute.get("mandatory") or attribute.get("is_mandatory")),
        multiple=kind in MULTIPLE_INPUTS,
        custom=kind in CUSTOM_INPUTS or not options,
        values=[AttributeOption(id=str(v.get("value_id")), name=str(v.get("name") or "")) for v in options],
        max_values=limit if isinstance(limit, int) and limit > 0 else None,
    )


# ---------------------------------------------------------------------------------------------------- orders


def order(detail: Mapping[str, Any]) -> Order:
    lines = [_line(item) for item in detail.get("item_list") or []]
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    shipping = money(detail.get("estimated_shipping_fee") or detail.get("actual_shipping_fee"))
    created = utc(detail.get("create_time")) or datetime.now(UTC)
    total = detail.get("total_amount")
    return Order(
        platform_order_id=str(detail["order_sn"]),
        status=str(detail.get("order_status") or ""),
        created_at=created,
        updated_at=utc(detail.get("update_time")) or created,
        currency=str(detail.get("currency") or ""),
        subtotal=subtotal,
        shipping_fee=shipping,
        total=money(total) if total is not None else subtotal + shipping,
        buyer=_buyer(detail),
        lines=lines,
        # buyer_user_id: empty for a non-integrated TW order; buyer_username: masked "****" there (SHOPEE-RAW
        # v2.order.get_order_detail response fields)
        customer=Buyer.seen(detail.get("buyer_user_id"), name=detail.get("buyer_username")),
    )


def _line(item: Mapping[str, Any]) -> OrderLine:
    item_id, model_id = item.get("item_id"), item.get("model_id")
    discounted = money(item.get("model_discounted_price"))
    return OrderLine(
        # Shopee has no line id of its own: order_item_id (the item, or the bundle/add-on group) plus the model
        platform_line_id=f"{item.get('order_item_id') or item_id}:{model_id or 0}",
        platform_item_id=str(item_id) if item_id else None,
        platform_variant_id=str(model_id) if model_id else None,
        sku=str(item.get("model_sku") or item.get("item_sku") or "") or None,
        name=str(item.get("item_name") or ""),
        quantity=int(item.get("model_quantity_purchased") or 0),
        unit_price=discounted if discounted > 0 else money(item.get("model_original_price")),
    )


def _buyer(detail: Mapping[str, Any]) -> dict[str, Any]:
    buyer: dict[str, Any] = {}
    if detail.get("buyer_user_id"):
        buyer["user_id"] = str(detail["buyer_user_id"])
    if detail.get("buyer_username"):
        buyer["username"] = str(detail["buyer_username"])
    return buyer
