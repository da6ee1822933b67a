"""What the TikTok Shop sandbox keeps beyond the shared listing model: each shop's warehouses, each SKU's stock per
warehouse, and the product and SKU properties nfsync does not model (brand, attributes, images, package, ...).

Facts (lazykern/ecommerce-api-docs@eba059e ``data/raw/tiktok/api-reference``): Get Warehouse List
(``logistics/get-warehouse-list.spec.json``) lists every warehouse of the seller, sales and return ones, with
``effect_status`` and one ``is_default``; Get Product (``products/get-product.spec.json``) lists per SKU one
``inventory`` row per warehouse the SKU is assigned to; a SKU's ``stock`` in the shared model is their sum."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nfsync.connectors.base.sandbox import SbShop, SbVariant

SALES = "SALES_WAREHOUSE"


@dataclass
class Store:
    warehouses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """shop id -> its Get Warehouse List rows."""
    stock: dict[str, dict[str, int]] = field(default_factory=dict)
    """variant id -> warehouse id -> quantity, for SKUs whose warehouses were set (others: the shop's default)."""
    content: dict[str, dict[str, Any]] = field(default_factory=dict)
    """product id -> the edit properties nfsync does not model, as last written (brand_id, main_images, ...)."""
    images: set[str] = field(default_factory=set)
    """the uris Upload Product Image issued."""
    sku_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    """variant id -> the SKU properties nfsync does not model, as last written (external_sku_id, list_price, ...)."""

    def issue_image(self) -> str:
        uri = f"tos-alisg-i-{secrets.token_hex(10)}-sg"
        self.images.add(uri)
        return uri

    def add_warehouse(self, shop: SbShop, warehouse_id: str, name: str, **properties: Any) -> dict[str, Any]:
        row = {
            "id": warehouse_id,
            "entity_id": f"9{warehouse_id}",
            "name": name,
            "effect_status": "ENABLED",
            "type": SALES,
            "sub_type": "DOMESTIC_WAREHOUSE",
            "is_default": False,
            **properties,
        }
        rows = self.warehouses.setdefault(shop.shop_id, [])
        rows[:] = [w for w in rows if w["id"] != warehouse_id] + [row]
        return row

    def listed(self, shop: SbShop) -> list[dict[str, Any]]:
        return list(self.warehouses.get(shop.shop_id, []))

    def known(self, shop: SbShop, warehouse_id: str) -> bool:
        """A sales warehouse of this shop (a return warehouse holds no sellable stock)."""
        return any(w["id"] == warehouse_id and w["type"] == SALES for w in self.warehouses.get(shop.shop_id, []))

    def stock_of(self, shop: SbShop, variant: SbVariant) -> dict[str, int]:
        """The SKU's quantity per assigned warehouse; a SKU never given warehouses sits in the shop's default one.
        When something changed ``variant.stock`` directly, the difference lands on the first warehouse."""
        split = self.stock.get(variant.variant_id)
        if not split:
            return {shop.extra["warehouse_id"]: variant.stock}
        drift = variant.stock - sum(split.values())
        if drift:
            first = next(iter(split))
            split[first] = max(0, split[first] + drift)
        return dict(split)

    def set_stock(self, variant: SbVariant, split: Mapping[str, int]) -> None:
        self.stock[variant.variant_id] = dict(split)
        variant.stock = sum(split.values())
