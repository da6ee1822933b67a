"""What the Shopify sandbox keeps beyond the shared listing model (as the TikTok sandbox's ``store`` does for its
warehouses): each shop's locations and each variant's ``available`` quantity per location, inventory item ids,
product handles, order names, webhook subscriptions and bulk operations.

A variant's ``SbVariant.stock`` is the sum over locations (SD-REF ``ProductVariant.inventoryQuantity``: the total
available); when something changed ``stock`` directly (tests, the demo), the difference lands on the first location
the variant has, as in the TikTok sandbox."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nfsync.connectors.base.sandbox import SbShop, SbVariant


@dataclass
class Location:
    location_id: str
    name: str
    is_active: bool = True


@dataclass
class Subscription:
    sub_id: str
    topic: str  # the enum value, ORDERS_CREATE ...
    uri: str
    failures: int = 0  # consecutive failed deliveries (removed after 8, SD-WH-RETRY)


@dataclass
class BulkOp:
    op_id: str
    started: float  # sandbox clock
    rows: list[dict[str, Any]]
    key: str  # the file's unguessable name (the real URL is a signed storage URL)
    root_count: int


@dataclass
class Store:
    new_id: Callable[[], str]
    locations: dict[str, list[Location]] = field(default_factory=dict)
    """shop id -> its locations, the first the primary one."""
    stock: dict[str, dict[str, int]] = field(default_factory=dict)
    """variant id -> location id -> available, for variants whose levels were set (others: the primary location)."""
    items: dict[str, str] = field(default_factory=dict)
    """variant id -> inventory item id (one item per variant, SD-REF)."""
    handles: dict[str, str] = field(default_factory=dict)
    """product id -> handle."""
    order_names: dict[str, str] = field(default_factory=dict)
    """order id -> ``#1001``..."""
    subscriptions: dict[str, list[Subscription]] = field(default_factory=dict)
    bulk: dict[str, BulkOp] = field(default_factory=dict)
    """shop id -> its latest bulk query operation."""
    files: dict[str, bytes] = field(default_factory=dict)
    """bulk file key -> JSONL."""

    # ------------------------------------------------------------------ locations and levels

    def add_location(self, shop: SbShop, name: str, *, active: bool = True) -> Location:
        location = Location(self.new_id(), name, active)
        self.locations.setdefault(shop.shop_id, []).append(location)
        return location

    def listed(self, shop: SbShop) -> list[Location]:
        return list(self.locations.get(shop.shop_id, []))

    def location(self, shop: SbShop, location_id: str) -> Location | None:
        return next((loc for loc in self.listed(shop) if loc.location_id == location_id), None)

    def primary(self, shop: SbShop) -> str:
        return self.listed(shop)[0].location_id

    def levels(self, shop: SbShop, variant: SbVariant) -> dict[str, int]:
        split = self.stock.get(variant.variant_id)
        if not split:
            return {self.primary(shop): variant.stock}
        drift = variant.stock - sum(split.values())
        if drift:
            first = next(iter(split))
            split[first] = split[first] + drift
        return dict(split)

    def set_level(self, shop: SbShop, variant: SbVariant, location_id: str, quantity: int) -> None:
        split = self.levels(shop, variant)
        split[location_id] = quantity
        self.stock[variant.variant_id] = split
        variant.stock = sum(split.values())

    # ------------------------------------------------------------------ ids and names

    def item_id(self, variant: SbVariant) -> str:
        return self.items.setdefault(variant.variant_id, self.new_id())

    def variant_of_item(self, item_id: str) -> str | None:
        return next((v for v, i in self.items.items() if i == item_id), None)

    def handle(self, product_id: str, title: str) -> str:
        return self.handles.setdefault(product_id, slug(title) or f"product-{product_id}")

    def free_handle(self, title: str) -> str:
        """A generated handle not yet used: the title's, then ``-1``, ``-2``... (Shopify's suffixing of generated
        handles: UNCONFIRMED)."""
        base, taken = slug(title) or "product", set(self.handles.values())
        candidate, n = base, 0
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def order_name(self, shop: SbShop, order_id: str) -> str:
        if order_id not in self.order_names:
            number = 1001 + sum(1 for o in shop.orders if o in self.order_names)
            self.order_names[order_id] = f"#{number}"
        return self.order_names[order_id]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def split_of(levels: Mapping[str, int]) -> dict[str, int]:
    return {k: int(v) for k, v in levels.items()}
