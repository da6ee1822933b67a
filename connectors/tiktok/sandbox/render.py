"""What the TikTok Shop sandbox says: the envelope, error answers, page tokens, and the JSON of products, orders,
tokens and pushes, shaped as the API reference copies (TTS-DOC ``raw/tiktok/api-reference/**``) show them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from nfsync.connectors.base.sandbox import SbListing, SbOrder, SbShop, SbToken, SbVariant
from nfsync.connectors.tiktok.mapping import REGION_CURRENCY, amount, as_dict, as_list
from nfsync.connectors.tiktok.sandbox.store import Store

LISTING_STATUS = {
    "active": "ACTIVATE",
    "inactive": "SELLER_DEACTIVATED",
    "deleted": "DELETED",
    "draft": "DRAFT",
    "pending": "PENDING",
    "failed": "FAILED",
    "platform_deactivated": "PLATFORM_DEACTIVATED",
    "frozen": "FREEZE",
}
"""Sandbox listing status -> TikTok product status (the 8 values of lazykern/ecommerce-api-docs@eba059e
``data/raw/tiktok/api-reference/products/search-products.spec.json``, ``data.products[].status``)."""
MAX_QUANTITY = 99_999
SCOPES = [
    "seller.authorization.info",
    "seller.shop.info",
    "seller.product.basic",
    "seller.product.write",
    "seller.order.info",
    "seller.logistics",
]


# ------------------------------------------------------------------------------------------------ envelope


def request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(9).upper()


def ok(data: Any) -> web.Response:
    return web.json_response({"code": 0, "message": "Success", "request_id": request_id(), "data": data})


def error(status: int, code: str, message: str) -> web.Response:
    body = {"code": int(code), "message": message, "request_id": request_id(), "data": None}
    return web.json_response(body, status=status)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def json_body(raw: bytes) -> dict[str, Any] | None:
    """The request body as a JSON object ({} when empty); None when it is not one."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def currency_of(shop: SbShop) -> str:
    return shop.extra.get("currency") or REGION_CURRENCY.get(shop.region, "USD")


# --------------------------------------------------------------------------------------------- page tokens


def offset_token(offset: int) -> str:
    """Product search tokens carry an offset, like the reference sample ``b2Zmc2V0PTAK`` ("offset=0\\n")."""
    return base64.b64encode(f"offset={offset}\n".encode()).decode()


def read_offset(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        text = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, _, value = text.strip().partition("=")
    return int(value) if name == "offset" and value.isdigit() else None


def cursor_token(key: tuple[int, int]) -> str:
    """Order search tokens are opaque cursors (standard base64, may hold ``+`` and ``/`` like TikTok's)."""
    return base64.b64encode(json.dumps(list(key)).encode()).decode()


def read_cursor(token: str | None) -> tuple[int, int] | bool | None:
    """The cursor in a token; None for no token; False for a malformed one."""
    if not token:
        return None
    try:
        value = json.loads(base64.b64decode(token, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        return False
    return int(value[0]), int(value[1])


def page_size(query: Mapping[str, str], cap: int = 100) -> int | None:
    value = query.get("page_size", "")
    return int(value) if value.isdigit() and 1 <= int(value) <= cap else None


# ------------------------------------------------------------------------------------------------ products


def price_of(value: Any) -> Decimal | None:
    """A positive decimal amount, or None."""
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and price > 0 else None


def sku_json(variant: SbVariant, shop: SbShop, store: Store, *, detail: bool) -> dict[str, Any]:
    price = amount(variant.price)
    sku: dict[str, Any] = {
        "id": variant.variant_id,
        "seller_sku": variant.sku,
        "price": {"currency": currency_of(shop), "tax_exclusive_price": price, "sale_price": price},
        "inventory": [
            {"warehouse_id": warehouse, "quantity": quantity}
            for warehouse, quantity in store.stock_of(shop, variant).items()
        ],
    }
    if detail:
        sku.update(shown_sku(variant, store.sku_fields.get(variant.variant_id, {})))
        identifier = store.identifier_json(variant)  # Get Product only: Search Products documents none
        if identifier is not None:
            sku["identifier_code"] = identifier
    return sku


def product_json(listing: SbListing, shop: SbShop, store: Store, *, detail: bool = False) -> dict[str, Any]:
    product: dict[str, Any] = {
        "id": listing.item_id,
        "title": listing.name,
        "status": LISTING_STATUS.get(listing.status, listing.status.upper()),
        "skus": [sku_json(v, shop, store, detail=detail) for v in listing.variants],
        "sales_regions": [shop.region],
        "create_time": int(listing.created_at),
        "update_time": int(listing.updated_at),
    }
    if detail:
        product["description"] = listing.description
        product["category_chains"] = (
            [{"id": listing.category_id, "parent_id": "0", "local_name": "", "is_leaf": True}]
            if listing.category_id
            else []
        )
        product.update(shown_content(store.content.get(listing.item_id, {})))
    return product


def created_json(listing: SbListing) -> dict[str, Any]:
    return {
        "product_id": listing.item_id,
        "skus": [{"id": v.variant_id, "seller_sku": v.sku, "sales_attributes": []} for v in listing.variants],
        "warnings": [],
    }


def check_failed(sku_id: str, code: str, message: str, warehouse_id: str | None = None) -> dict[str, Any]:
    """One entry of Update Inventory's ``data.errors`` (reference sample)."""
    extra: dict[str, Any] = {"code": int(code), "message": message}
    if warehouse_id is not None:
        extra["warehouse_id"] = warehouse_id
    return {"code": 12052990, "message": "Check failed", "detail": {"sku_id": sku_id, "extra_errors": [extra]}}


# ------------------------------------------------------------------------------- properties nfsync does not model

NOT_RETURNED = frozenset({"listing_platforms", "replicated_products", "subscribe_info_edit", "category_version"})
"""Edit properties Get Product does not return (get-product.spec.json has none of them)."""


def attribute_id(*parts: str) -> str:
    """A stable numeric id for a custom sales attribute (or one of its values)."""
    return str(int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12], 16) % 10**15 + 7 * 10**15)


def shown_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """The stored properties as Get Product shows them."""
    shown: dict[str, Any] = {}
    for key, value in content.items():
        if key == "brand_id":
            shown["brand"] = {"id": value, "name": f"Brand {value}"}
        elif key == "delivery_option_ids":
            shown["delivery_options"] = [{"id": i, "name": f"Delivery {i}", "is_available": True} for i in value]
        elif key == "product_attributes":
            shown[key] = [{**as_dict(a), "name": f"Attribute {as_dict(a).get('id')}"} for a in as_list(value)]
        elif key == "video":
            shown[key] = {**as_dict(value), "url": f"https://v16.sandbox.test/{as_dict(value).get('id')}.mp4"}
        elif key not in NOT_RETURNED:
            shown[key] = with_urls(value)
    return shown


def shown_sku(variant: SbVariant, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A SKU's stored properties as Get Product shows them; its sales attributes are its options, with the ids and
    images last sent for them."""
    sent = [as_dict(a) for a in as_list(fields.get("sales_attributes"))]
    shown = {key: with_urls(value) for key, value in fields.items() if key != "sales_attributes"}
    shown["sales_attributes"] = [
        shown_attribute(name, value, sent[index] if index < len(sent) else {})
        for index, (name, value) in enumerate(variant.options.items())
    ]
    return shown


def shown_attribute(name: str, value: str, sent: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **with_urls(dict(sent)),
        "id": str(sent.get("id") or attribute_id(name)),
        "name": name,
        "value_id": str(sent.get("value_id") or attribute_id(name, value)),
        "value_name": value,
    }


def with_urls(value: Any) -> Any:
    """Images (objects with a ``uri``) get the ``urls``, ``thumb_urls``, ``height`` and ``width`` Get Product adds."""
    if isinstance(value, list):
        return [with_urls(item) for item in value]
    if not isinstance(value, dict):
        return value
    shown = {key: with_urls(item) for key, item in value.items()}
    if "uri" in value:
        url = f"https://p16.sandbox.test/{value['uri']}"
        shown.update(urls=[url], thumb_urls=[url + "~thumb"], height=800, width=800)
    return shown


# -------------------------------------------------------------------------------------------------- orders


def line_items(order: SbOrder) -> list[dict[str, Any]]:
    """One line item per unit, as TikTok returns them (there is no quantity field)."""
    items = []
    for line in order.lines:
        for unit in range(line.quantity):
            items.append(
                {
                    "id": line.line_id if unit == 0 else str(int(line.line_id) * 100 + unit),
                    "product_id": line.item_id or "",
                    "sku_id": line.variant_id or "",
                    "seller_sku": line.sku,
                    "product_name": line.name,
                    "sku_name": line.sku,
                    "sale_price": amount(line.unit_price),
                    "original_price": amount(line.unit_price),
                    "currency": order.currency,
                    "display_status": order.status,
                    "package_id": "",
                    "is_gift": False,
                }
            )
    return items


def order_json(order: SbOrder) -> dict[str, Any]:
    subtotal = order.total - order.shipping_fee
    buyer = order.buyer
    return {
        "id": order.order_id,
        "status": order.status,
        "create_time": int(order.created_at),
        "update_time": int(order.updated_at),
        "paid_time": int(order.created_at) if order.status != "UNPAID" else 0,
        "payment": {
            "currency": order.currency,
            "sub_total": amount(subtotal),
            "shipping_fee": amount(order.shipping_fee),
            "seller_discount": "0",
            "platform_discount": "0",
            "tax": "0",
            "total_amount": amount(order.total),
        },
        "recipient_address": {
            "name": str(buyer.get("name", "")),
            "phone_number": str(buyer.get("phone", "")),
            "full_address": str(buyer.get("address", "")),
            "region_code": str(buyer.get("region", "")),
        },
        "buyer_email": str(buyer.get("email", "")),
        "buyer_message": str(buyer.get("message", "")),
        "user_id": str(buyer.get("user_id", "")),
        "is_on_hold_order": False,
        "line_items": line_items(order),
    }


def order_key(order: SbOrder, field: str) -> tuple[int, int]:
    return int(order.updated_at if field == "update_time" else order.created_at), int(order.order_id)


# ------------------------------------------------------------------------------------------ tokens, pushes


def token_json(shop: SbShop, access: SbToken, refresh: SbToken) -> dict[str, Any]:
    return {
        "access_token": access.value,
        "access_token_expire_in": int(access.expires_at),
        "refresh_token": refresh.value,
        "refresh_token_expire_in": int(refresh.expires_at),
        "open_id": f"open-{shop.shop_id}",
        "seller_name": shop.name,
        "seller_base_region": shop.region,
        "user_type": 0,
        "granted_scopes": list(SCOPES),
    }


def shop_json(shop: SbShop) -> dict[str, Any]:
    return {
        "id": shop.shop_id,
        "name": shop.name,
        "region": shop.region,
        "seller_type": "LOCAL",
        "cipher": shop.extra.get("shop_cipher", ""),
        "code": f"{shop.region}LC{shop.shop_id[-6:]}",
    }


def push_data(event: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """(webhook type, data) for a sandbox event (webhooks/** pages: types 1, 11, 12, 15, 16, 6, 7)."""
    kind = event["kind"]
    if kind == "order_status_changed":
        order: SbOrder = event["order"]
        return 1, {
            "order_id": order.order_id,
            "order_status": order.status,
            "is_on_hold_order": False,
            "update_time": int(order.updated_at),
        }
    if kind in ("cancellation_status_changed", "return_status_changed"):
        return request_push(kind, event)
    if kind in ("product_changed", "product_created"):
        listing: SbListing = event["listing"]
        if kind == "product_created":
            return 16, {"product_id": listing.item_id, "product_types": [], "update_time": int(listing.updated_at)}
        return 15, {
            "product_id": listing.item_id,
            "change_source": "OPEN_API",
            "changed_fields": ["others"],
            "update_time": int(listing.updated_at),
        }
    if kind == "shop_deauthorized":
        return 6, {"message": "Shop_id {xxx} is deauthorized from your APP by merchant."}
    if kind == "authorization_expiring":
        return 7, {
            "message": "Authorization of shop_id {xxx} is expiring in {x} days. Please direct the merchant "
            "to re-authorize.",
            "expiration_time": str(int(event.get("expires_at", time.time()))),
        }
    raise ValueError(f"the TikTok sandbox cannot push {kind!r}")


def request_push(kind: str, event: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """A cancellation (type 11) or return/refund (type 12) request changing status, shaped as the pages
    ``webhooks/order/11-cancellation-status-change.md`` and ``webhooks/return-and-refund/12-return-status-change.md``
    of lazykern/ecommerce-api-docs@eba059e show it."""
    order: SbOrder = event["order"]
    now = int(time.time())
    if kind == "cancellation_status_changed":
        return 11, {
            "order_id": order.order_id,
            "cancellations_role": event.get("role", "BUYER"),
            "cancel_status": event.get("status", "CANCELLATION_REQUEST_PENDING"),
            "cancel_id": event.get("request_id", order.order_id + "1"),
            "create_time": now,
        }
    return 12, {
        "order_id": order.order_id,
        "return_role": event.get("role", "BUYER"),
        "return_type": event.get("return_type", "REFUND"),
        "return_status": event.get("status", "RETURN_OR_REFUND_REQUEST_PENDING"),
        "return_id": event.get("request_id", order.order_id + "2"),
        "create_time": now,
        "update_time": now,
    }
