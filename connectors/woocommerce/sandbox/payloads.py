"""What the WooCommerce sandbox answers: error bodies and the REST resources (products, variations, orders).

Shapes follow WC-DOC (``_products.md``, ``_product-variations.md``, ``_orders.md``), trimmed to the fields a sync
uses plus the usual neighbours. The sandbox store runs in UTC, so local and ``_gmt`` dates are equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from nfsync.connectors.base.sandbox import SbListing, SbOrder, SbOrderLine, SbShop, SbVariant

WC_VERSION = "9.3.3"
WP_VERSION = "6.6.2"
STATUS_TO_WC = {"active": "publish"}  # the shared "active" is WooCommerce's "publish"; other statuses are kept


class WcFailure(Exception):
    """A ``WP_Error``: HTTP status, code, message and extra ``data``."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def wc_error(status: int, code: str, message: str, **data: Any) -> web.Response:
    return WcFailure(status, code, message, **data).response()


def no_route() -> web.Response:
    return wc_error(404, "rest_no_route", "No route was found matching the URL and request method.")


# ---------------------------------------------------------------------------------------------- scalars


def wc_time(timestamp: float) -> str:
    """WordPress dates: whole seconds, no offset."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%S")


def price(value: Decimal) -> str:
    return format(value, "f")


def amount(value: Decimal) -> str:
    """Order amounts: two decimals (``woocommerce_price_num_decimals`` default)."""
    return f"{value:.2f}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"


def _dates(created: float, modified: float) -> dict[str, str]:
    return {
        "date_created": wc_time(created),
        "date_created_gmt": wc_time(created),
        "date_modified": wc_time(modified),
        "date_modified_gmt": wc_time(modified),
    }


def _stock(quantity: int | None) -> dict[str, Any]:
    status = "instock" if quantity is None or quantity > 0 else "outofstock"
    return {"manage_stock": quantity is not None, "stock_quantity": quantity, "stock_status": status}


# ---------------------------------------------------------------------------------------------- products


def product_json(listing: SbListing, home: str, *, variable: bool, parent_sku: str = "") -> dict[str, Any]:
    own = listing.variants[0] if listing.variants and not variable else None
    prices = [v.price for v in listing.variants]
    return {
        "id": int(listing.item_id),
        "name": listing.name,
        "slug": slug(listing.name),
        "permalink": f"{home}/product/{slug(listing.name)}/",
        **_dates(listing.created_at, listing.updated_at),
        "type": "variable" if variable else "simple",
        "status": STATUS_TO_WC.get(listing.status, listing.status),
        "featured": False,
        "catalog_visibility": "visible",
        "description": listing.description,
        "short_description": "",
        "sku": own.sku if own else parent_sku,
        "global_unique_id": (own.barcode or "") if own else "",  # WC 9.2+: "" when unset (mapping.GTIN_FIELD)
        "price": price(own.price if own else min(prices, default=Decimal(0))),
        "regular_price": price(own.price) if own else "",
        "sale_price": "",
        "on_sale": False,
        "purchasable": True,
        **_stock(own.stock if own else None),
        "parent_id": 0,
        "categories": [],
        "images": [],
        "attributes": [],  # the sandbox fills these (sandbox/content)
        "variations": [int(v.variant_id) for v in listing.variants] if variable else [],
        "meta_data": [],
    }


def variation_json(listing: SbListing, variant: SbVariant, home: str) -> dict[str, Any]:
    return {
        "id": int(variant.variant_id),
        **_dates(listing.created_at, listing.updated_at),
        "description": "",
        "permalink": f"{home}/product/{slug(listing.name)}/?variation_id={variant.variant_id}",
        "sku": variant.sku,
        "global_unique_id": variant.barcode or "",
        "price": price(variant.price),
        "regular_price": price(variant.price),
        "sale_price": "",
        "on_sale": False,
        "status": "publish",
        "purchasable": True,
        **_stock(variant.stock),
        "attributes": [{"id": 0, "name": name, "option": option} for name, option in variant.options.items()],
        "menu_order": 0,
        "meta_data": [],
    }


def variation_as_product_json(listing: SbListing, variant: SbVariant, home: str) -> dict[str, Any]:
    """A variation as the /products endpoint shows it (``type`` "variation", ``parent_id``): for ``sku`` lookups
    and ``GET /products/{variation id}``."""
    name = " - ".join([listing.name, *variant.options.values()])
    return {
        **variation_json(listing, variant, home),
        "name": name,
        "slug": slug(name),
        "type": "variation",
        "parent_id": int(listing.item_id),
        "categories": [],
        "variations": [],
    }


# ---------------------------------------------------------------------------------------------- orders


def order_json(shop: SbShop, order: SbOrder, *, variable: Callable[[SbListing], bool]) -> dict[str, Any]:
    return {
        "id": int(order.order_id),
        "parent_id": 0,
        "number": order.order_id,
        "order_key": f"wc_order_{order.order_id}",
        "created_via": "checkout",
        "version": WC_VERSION,
        "status": order.status,
        "currency": order.currency,
        **_dates(order.created_at, order.updated_at),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": amount(order.shipping_fee),
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": amount(order.total),
        "total_tax": "0.00",
        "prices_include_tax": False,
        "customer_id": _customer_id(order.buyer),
        "billing": _address(order.buyer, billing=True),
        "shipping": _address(order.buyer, billing=False),
        "payment_method": "cod",
        "payment_method_title": "Cash on delivery",
        "transaction_id": "",
        "customer_note": "",
        "date_paid": None,
        "date_completed": None,
        "meta_data": [],
        "line_items": [_line(shop, line, variable) for line in order.lines],
        "tax_lines": [],
        "shipping_lines": _shipping(order),
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
    }


def _customer_id(buyer: Mapping[str, Any]) -> int:
    value = str(buyer.get("customer_id") or "0")
    return int(value) if value.isdigit() else 0  # 0: a guest checkout


def _address(buyer: Mapping[str, Any], *, billing: bool) -> dict[str, Any]:
    first, _, last = str(buyer.get("name") or "").partition(" ")
    address = {
        "first_name": buyer.get("first_name", first),
        "last_name": buyer.get("last_name", last),
        "company": "",
        "address_1": str(buyer.get("address", "")),
        "address_2": "",
        "city": "",
        "state": "",
        "postcode": "",
        "country": str(buyer.get("country", "VN")),
    }
    if billing:
        address.update(email=str(buyer.get("email", "")), phone=str(buyer.get("phone", "")))
    return address


def _line(shop: SbShop, line: SbOrderLine, variable: Callable[[SbListing], bool]) -> dict[str, Any]:
    listing = shop.listings.get(line.item_id or "")
    variation_id = int(line.variant_id) if listing is not None and variable(listing) and line.variant_id else 0
    total = amount(line.unit_price * line.quantity)
    unit: int | float = int(line.unit_price) if line.unit_price == int(line.unit_price) else float(line.unit_price)
    return {
        "id": int(line.line_id),
        "name": line.name,
        "product_id": int(line.item_id or 0),
        "variation_id": variation_id,
        "quantity": line.quantity,
        "tax_class": "",
        "subtotal": total,
        "subtotal_tax": "0.00",
        "total": total,
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [],
        "sku": line.sku,
        "price": unit,
    }


def _shipping(order: SbOrder) -> list[dict[str, Any]]:
    if not order.shipping_fee:
        return []
    return [
        {
            "id": int(order.order_id) + 1,
            "method_title": "Flat rate",
            "method_id": "flat_rate",
            "total": amount(order.shipping_fee),
            "total_tax": "0.00",
            "taxes": [],
        }
    ]


# ---------------------------------------------------------------------------------------------- store


def settings_json(shop: SbShop) -> list[dict[str, Any]]:
    """``GET /settings/general``: the options a client reads (country, currency)."""
    values = {
        "woocommerce_store_address": "",
        "woocommerce_store_city": "",
        "woocommerce_default_country": shop.region,
        "woocommerce_currency": shop.extra.get("currency", "VND"),
        "woocommerce_price_num_decimals": "2",
    }
    return [
        {"id": key, "label": key, "type": "text", "value": value, "group_id": "general"}
        for key, value in values.items()
    ]


UNIT_SETTINGS = {
    "woocommerce_weight_unit": ("weight_unit", "kg", ("kg", "g", "lbs", "oz")),
    "woocommerce_dimension_unit": ("dimension_unit", "cm", ("m", "cm", "mm", "in", "yd")),
}
"""WooCommerce's measurement options (plugins/woocommerce/includes/admin/settings/class-wc-settings-products.php)."""


def product_setting_json(shop: SbShop, setting_id: str) -> dict[str, Any] | None:
    found = UNIT_SETTINGS.get(setting_id)
    if found is None:
        return None
    key, default, options = found
    return {
        "id": setting_id,
        "label": setting_id,
        "type": "select",
        "default": default,
        "options": {o: o for o in options},
        "value": shop.extra.get(key, default),
        "group_id": "products",
    }


def index_json(shop: SbShop, home: str) -> dict[str, Any]:
    """``GET /wp-json/``: the WordPress REST index (public)."""
    return {
        "name": shop.name,
        "description": "",
        "url": home,
        "home": home,
        "gmt_offset": 0,
        "timezone_string": "UTC",
        "namespaces": ["oembed/1.0", "wc/v1", "wc/v2", "wc/v3", "wc-analytics", "wp/v2"],
        "authentication": [],
        "routes": {},
    }
