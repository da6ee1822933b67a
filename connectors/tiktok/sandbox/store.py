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
    identifier_types: dict[str, str] = field(default_factory=dict)
    """variant id -> ``identifier_code.type`` as last written (the code itself is ``SbVariant.barcode``)."""

    def set_identifier(self, variant: SbVariant, sku: Mapping[str, Any]) -> None:
        """``skus[].identifier_code`` as Create Product and the edits take it: the code becomes the variant's
        barcode and its type is kept; left out, both are cleared (an edit replaces the SKU whole). Not emulated: the
        code's format check (an invalid one is dropped with a warning) and that it changes only on a DRAFT product."""
        raw = sku.get("identifier_code")
        identifier: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        code, kind = identifier.get("code"), identifier.get("type")
        variant.barcode = None if code is None else str(code)
        if kind:
            self.identifier_types[variant.variant_id] = str(kind)
        else:
            self.identifier_types.pop(variant.variant_id, None)

    def identifier_json(self, variant: SbVariant) -> dict[str, str] | None:
        """Get Product's ``skus[].identifier_code`` ({code, type}); a seeded code gets the type its length suggests."""
        if variant.barcode is None:
            return None
        kind = self.identifier_types.get(variant.variant_id) or identifier_type(variant.barcode)
        return {"code": variant.barcode, "type": kind}

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


def identifier_type(code: str) -> str:
    """The documented type a code of this shape fits (docs/platforms/listings/tiktok.md: UPC 12 digits, EAN 8 or 13,
    ISBN 13 starting 978/979 or 10 ending in X, GTIN 14); GTIN otherwise."""
    text = code.strip()
    if len(text) == 12:
        return "UPC"
    if (len(text) == 13 and text.startswith(("978", "979"))) or (len(text) == 10 and text.upper().endswith("X")):
        return "ISBN"
    if len(text) in (8, 13):
        return "EAN"
    return "GTIN"
