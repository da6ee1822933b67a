"""How the Shopee sandbox renders its in-memory store: the JSON shapes of the API reference pages summarised in
the references cited in tests/contracts, and the common envelope of section 2.5."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

from nfsync.connectors.base.sandbox import SbListing, SbOrder, SbOrderLine, SbShop, SbVariant

CURRENCY = {
    "VN": "VND",
    "SG": "SGD",
    "MY": "MYR",
    "TH": "THB",
    "PH": "PHP",
    "ID": "IDR",
    "TW": "TWD",
    "BR": "BRL",
    "MX": "MXN",
    "CO": "COP",
    "CL": "CLP",
    "PL": "PLN",
    "ES": "EUR",
    "AR": "ARS",
}
DECIMAL_REGIONS = frozenset({"SG", "MY", "BR", "MX", "PL", "ES", "AR"})  # prices with 2 decimals; others integers
ITEM_STATUS = {
    "active": "NORMAL",
    "inactive": "UNLIST",
    "banned": "BANNED",
    "reviewing": "REVIEWING",
    "deleted": "SELLER_DELETE",
}
DEFAULT_TIER = "Variation"
ITEM_GTIN_REGIONS = frozenset({"BR"})
"""Where get_item_base_info answers ``item_list[].gtin_code``: documented for the BR region, and only on an item with
a default model, i.e. without tiers (lazykern/ecommerce-api-docs@eba059e
data/raw/shopee/apis/product/v2.product.get_item_base_info.json). Whether TW items without models carry it too is
UNCONFIRMED (stricter reading: no)."""
MODEL_GTIN_REGIONS = frozenset({"BR", "TW"})
"""Where get_model_list answers ``model[].gtin_code``: documented as available to TW sellers and BR local sellers
(same commit, v2.product.get_model_list.json); BR cross-border sellers are not told apart here."""


class ApiError(Exception):
    """A Shopee error answer: ``error`` code, ``message`` and the HTTP status (UNCONFIRMED: 403 for auth and sign
    errors, 400 for parameter and business errors, 429 throttle, 500 server errors)."""

    def __init__(self, error: str, message: str, status: int = 400, response: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.error, self.message, self.status, self.response = error, message, status, response


# ---------------------------------------------------------------------------------------------------- envelope


def dumps(value: Any) -> str:
    return json.dumps(value, default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def reply(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.json_response(dict(body), status=status, dumps=dumps)


def ok(response: Mapping[str, Any]) -> dict[str, Any]:
    """The common success envelope of a business API."""
    return {"request_id": uuid.uuid4().hex, "error": "", "message": "", "response": dict(response)}


def top(**fields: Any) -> dict[str, Any]:
    """The success envelope of the APIs that answer at the top level (token APIs, get_shop_info)."""
    return {"request_id": uuid.uuid4().hex, "error": "", "message": "", **fields}


def error_reply(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"request_id": uuid.uuid4().hex, "error": exc.error, "message": exc.message}
    if exc.response is not None:
        body["response"] = dict(exc.response)
    return reply(body, exc.status)


# ---------------------------------------------------------------------------------------------------- catalog


def is_tiered(listing: SbListing) -> bool:
    """An item has models when it has several variants or named options (init_tier_variation always names them)."""
    return len(listing.variants) > 1 or any(variant.options for variant in listing.variants)


def item_status(listing: SbListing) -> str:
    return ITEM_STATUS.get(listing.status, listing.status.upper())


def price_info(price: Decimal, currency: str) -> list[dict[str, Any]]:
    return [{"currency": currency, "original_price": price, "current_price": price}]


SellerStock = Callable[[SbVariant], list[dict[str, Any]]]
"""A variant's ``seller_stock`` entries: one per warehouse location on a multi-warehouse shop."""


def single_location(variant: SbVariant) -> list[dict[str, Any]]:
    return [{"location_id": "", "stock": variant.stock}]


def stock_info(variant: SbVariant, seller_stock: SellerStock) -> dict[str, Any]:
    return {
        "summary_info": {"total_reserved_stock": 0, "total_available_stock": variant.stock},
        "seller_stock": seller_stock(variant),
    }


def base_info(
    listing: SbListing,
    item_sku: str,
    currency: str,
    seller_stock: SellerStock = single_location,
    *,
    region: str = "",
) -> dict[str, Any]:
    tiered = is_tiered(listing)
    info: dict[str, Any] = {
        "item_id": int(listing.item_id),
        "category_id": int(listing.category_id or 0),
        "item_name": listing.name,
        "description": listing.description,
        "item_sku": item_sku,
        "create_time": int(listing.created_at),
        "update_time": int(listing.updated_at),
        "item_status": item_status(listing),
        "has_model": tiered,
    }
    if not tiered:  # price_info and stock live on the models when there are models
        info["price_info"] = price_info(listing.variants[0].price, currency)
        info["stock_info_v2"] = stock_info(listing.variants[0], seller_stock)
        code = listing.variants[0].barcode
        if code is not None and region in ITEM_GTIN_REGIONS:
            info["gtin_code"] = code
    return info


def tier_layout(variants: Sequence[SbVariant]) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """(tier_variation, tier_index per variant) from the variants' options."""
    names = list(dict.fromkeys(name for variant in variants for name in variant.options))
    rows = [[v.options.get(n, "") for n in names] for v in variants] if names else [[v.sku] for v in variants]
    names = names or [DEFAULT_TIER]
    choices = [list(dict.fromkeys(row[i] for row in rows)) for i in range(len(names))]
    tiers = [
        {"name": name, "option_list": [{"option": option} for option in options]}
        for name, options in zip(names, choices, strict=True)
    ]
    return tiers, [[choices[i].index(row[i]) for i in range(len(names))] for row in rows]


def model_list(
    listing: SbListing, currency: str, seller_stock: SellerStock = single_location, *, region: str = ""
) -> dict[str, Any]:
    if not is_tiered(listing):
        return {"tier_variation": [], "model": []}
    tiers, indices = tier_layout(listing.variants)
    models = [
        _model(variant, index, currency, seller_stock, region)
        for variant, index in zip(listing.variants, indices, strict=True)
    ]
    return {"tier_variation": tiers, "model": models}


def _model(
    variant: SbVariant, index: list[int], currency: str, seller_stock: SellerStock, region: str
) -> dict[str, Any]:
    model: dict[str, Any] = {
        "model_id": int(variant.variant_id),
        "model_sku": variant.sku,
        "tier_index": index,
        "model_status": "MODEL_NORMAL",
        "price_info": price_info(variant.price, currency),
        "stock_info_v2": stock_info(variant, seller_stock),
    }
    if variant.barcode is not None and region in MODEL_GTIN_REGIONS:
        model["gtin_code"] = variant.barcode
    return model


# ---------------------------------------------------------------------------------------------------- orders


def order_detail(order: SbOrder, shop: SbShop, item_sku: Mapping[str, str], fields: set[str]) -> dict[str, Any]:
    """``get_order_detail``: the always-returned fields plus the requested ``response_optional_fields``."""
    detail: dict[str, Any] = {
        "order_sn": order.order_id,
        "region": shop.region,
        "currency": order.currency,
        "cod": False,
        "order_status": order.status,
        "create_time": int(order.created_at),
        "update_time": int(order.updated_at),
        "message_to_seller": "",
    }
    optional = {
        "buyer_user_id": int(order.buyer.get("user_id") or 0),
        "buyer_username": str(order.buyer.get("username") or order.buyer.get("name") or ""),
        "total_amount": order.total,
        "estimated_shipping_fee": order.shipping_fee,
        "pay_time": int(order.created_at) if order.status != "UNPAID" else None,
        "item_list": [_order_item(line, shop, item_sku) for line in order.lines],
    }
    detail.update({name: value for name, value in optional.items() if name in fields})
    return detail


def _order_item(line: SbOrderLine, shop: SbShop, item_sku: Mapping[str, str]) -> dict[str, Any]:
    listing = shop.listings.get(line.item_id or "")
    tiered = listing is not None and is_tiered(listing)
    return {
        "item_id": int(line.item_id or 0),
        "item_name": line.name,
        "item_sku": item_sku.get(line.item_id or "", "") if tiered else line.sku,
        "model_id": int(line.variant_id or 0) if tiered else 0,
        "model_name": "",
        "model_sku": line.sku if tiered else "",
        "model_quantity_purchased": line.quantity,
        "model_original_price": line.unit_price,
        "model_discounted_price": line.unit_price,
        "order_item_id": int(line.line_id),
        "promotion_group_id": 0,
    }


# ---------------------------------------------------------------------------------------------------- pushes


def push_message(shop: SbShop, event: Mapping[str, Any], partner_id: int) -> dict[str, Any]:
    """The body Shopee posts for an event: code 3 (order status), 2 (deauthorization) or 12 (expiry)."""
    now, kind = int(time.time()), event.get("kind")
    shop_id = _number(shop.shop_id)
    if kind == "order_status_changed":
        order: SbOrder = event["order"]
        data = {
            "items": [],
            "ordersn": order.order_id,
            "status": order.status,
            "completed_scenario": "",
            "update_time": int(order.updated_at),
        }
        return {"data": data, "shop_id": shop_id, "code": 3, "timestamp": now}
    if kind == "shop_deauthorized":
        data = {
            "authorize_type": "user cancel shop authorization",
            "shop_id": shop_id,
            "success": 1,
            "extra": f"shop id {shop_id} has been cancelled authorization",
        }
        return {"data": data, "partner_id": partner_id, "code": 2, "timestamp": now}
    if kind == "authorization_expiring":
        data = {
            "merchant_expire_soon": [],
            "shop_expire_soon": [shop_id],
            "user_expire_soon": [],
            "expire_before": int(event.get("expire_before") or now + 7 * 86400),
            "page_no": 1,
            "total_page": 1,
        }
        return {"data": data, "code": 12, "timestamp": now}
    raise ValueError(f"the Shopee sandbox cannot push {kind!r} (Shopee has no push for ordinary product edits)")


def _number(value: str) -> int | str:
    return int(value) if value.isdigit() else value
