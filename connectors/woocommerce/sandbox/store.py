"""WooCommerce's product model over the sandbox's shared catalog (``SbShop.listings``).

A listing with exactly one variant and no options is a simple product: the listing id is the product id and the
variant holds the product's SKU, price and stock (its own id is never shown). Any other listing, and any product
created with ``type: variable``, is a variable product whose variants are its variations; the variable product's
own SKU is kept in ``parent_skus``. SKUs are unique across products and variations (``wc_product_has_unique_sku``).
Errors are the ones WC-CORE raises for the same cases (``WC_REST_CRUD_Controller``, ``WC_Product::set_sku``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from nfsync.connectors.base.sandbox import SbListing, SbShop, SbVariant
from nfsync.connectors.woocommerce.errors import DUPLICATE_SKU, PRODUCT_INVALID_ID, VARIATION_INVALID_ID
from nfsync.connectors.woocommerce.sandbox.content import Store
from nfsync.connectors.woocommerce.sandbox.payloads import WcFailure

INVALID_PARENT = "woocommerce_rest_product_variation_invalid_parent"
VARIATION_AS_PRODUCT = "woocommerce_rest_invalid_product_id"
_STATUSES = ("draft", "pending", "private", "publish", "future")


@dataclass
class Catalog:
    new_id: Callable[[], str]
    variable_items: set[str] = field(default_factory=set)
    parent_skus: dict[str, str] = field(default_factory=dict)
    content: Store = field(init=False)

    def __post_init__(self) -> None:
        self.content = Store(self.new_id)

    def is_variable(self, listing: SbListing) -> bool:
        if listing.item_id in self.variable_items:
            return True
        return len(listing.variants) != 1 or bool(listing.variants[0].options)

    # ------------------------------------------------------------------ lookups

    def product(self, shop: SbShop, product_id: str, *, status: int = 404) -> SbListing:
        listing = shop.listings.get(product_id)
        if listing is None:
            raise WcFailure(status, PRODUCT_INVALID_ID, "Invalid ID.")
        return listing

    def variation_owner(self, shop: SbShop, variation_id: str) -> tuple[SbListing, SbVariant] | None:
        for listing in shop.listings.values():
            variant = self.variation(listing, variation_id)
            if variant is not None:
                return listing, variant
        return None

    def variation(self, listing: SbListing, variation_id: str) -> SbVariant | None:
        if not self.is_variable(listing):
            return None
        return next((v for v in listing.variants if v.variant_id == variation_id), None)

    def sku_matches(self, shop: SbShop, skus: set[str]) -> list[tuple[SbListing, SbVariant | None]]:
        """Products (variant None) and variations holding one of ``skus``."""
        found: list[tuple[SbListing, SbVariant | None]] = []
        for listing in shop.listings.values():
            if not self.is_variable(listing):
                found += [(listing, None)] if listing.variants[0].sku in skus else []
                continue
            found += [(listing, None)] if self.parent_skus.get(listing.item_id) in skus else []
            found += [(listing, v) for v in listing.variants if v.sku in skus]
        return found

    def _check_sku(self, shop: SbShop, sku: str, own_id: str | None) -> None:
        if not sku:
            return
        holder = next((self._id_of(listing, variant) for listing, variant in self.sku_matches(shop, {sku})), None)
        if holder is not None and holder != own_id:
            raise WcFailure(400, DUPLICATE_SKU, "Invalid or duplicated SKU.", resource_id=int(holder))

    def _id_of(self, listing: SbListing, variant: SbVariant | None) -> str:
        return variant.variant_id if variant is not None else listing.item_id

    # ------------------------------------------------------------------ products

    def create_product(self, shop: SbShop, body: Mapping[str, Any]) -> SbListing:
        sku = str(body.get("sku") or "")
        self._check_sku(shop, sku, None)
        now = time.time()
        listing = SbListing(self.new_id(), "", "", "active", None, [], now, now)
        apply_content = self.content.prepare(listing, body)  # refuses a bad image before anything is stored
        self.content.content(listing.item_id).attributes = []  # created through the API: the attributes sent
        if body.get("type") == "variable":
            self.variable_items.add(listing.item_id)
            self.parent_skus[listing.item_id] = sku
        else:
            listing.variants.append(SbVariant(self.new_id(), sku, _price(body.get("regular_price")), 0))
            _apply_stock_price(listing.variants[0], body)
        _apply_product(listing, body)
        apply_content()
        shop.listings[listing.item_id] = listing
        return listing

    def update_product(self, shop: SbShop, product_id: str, body: Mapping[str, Any]) -> SbListing:
        listing = shop.listings.get(product_id)
        if listing is None and self.variation_owner(shop, product_id) is not None:
            raise WcFailure(
                404,
                VARIATION_AS_PRODUCT,
                "To manipulate product variations you should use the "
                "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
            )
        listing = self.product(shop, product_id, status=400)  # CRUD update_item: "Invalid ID." with 400
        apply_content = self.content.prepare(listing, body)
        if "sku" in body:
            self._check_sku(shop, str(body["sku"] or ""), product_id)
        if self.is_variable(listing):
            if "sku" in body:
                self.parent_skus[product_id] = str(body["sku"] or "")
        else:
            _apply_stock_price(listing.variants[0], body)
        _apply_product(listing, body)
        apply_content()
        return listing

    def delete_product(self, shop: SbShop, product_id: str) -> SbListing:
        """Deleted for good, variations included (batch deletes pass ``force``)."""
        listing = self.product(shop, product_id)
        del shop.listings[product_id]
        self.variable_items.discard(product_id)
        self.parent_skus.pop(product_id, None)
        self.content.forget(product_id)
        return listing

    # ------------------------------------------------------------------ variations

    def create_variation(self, shop: SbShop, product_id: str, body: Mapping[str, Any]) -> tuple[SbListing, SbVariant]:
        listing = shop.listings.get(product_id)
        if listing is None or not self.is_variable(listing):
            # A variation under a simple product is refused here (WooCommerce would store an orphan).
            raise WcFailure(404, INVALID_PARENT, "Invalid parent product.")
        sku = str(body.get("sku") or "")
        self._check_sku(shop, sku, None)
        options = self.content.variation_options(listing, body.get("attributes"))
        variant = SbVariant(self.new_id(), sku, Decimal(0), 0, options)
        _apply_stock_price(variant, body)
        listing.variants.append(variant)
        _touch(listing)
        return listing, variant

    def update_variation(
        self, shop: SbShop, product_id: str, variation_id: str, body: Mapping[str, Any]
    ) -> tuple[SbListing, SbVariant]:
        listing, variant = self._variation_of(shop, product_id, variation_id)
        if "sku" in body:
            self._check_sku(shop, str(body["sku"] or ""), variation_id)
        _apply_stock_price(variant, body)
        if "attributes" in body:
            variant.options = self.content.variation_options(listing, body.get("attributes"))
        _touch(listing)
        return listing, variant

    def delete_variation(self, shop: SbShop, product_id: str, variation_id: str) -> tuple[SbListing, SbVariant]:
        listing, variant = self._variation_of(shop, product_id, variation_id, status=404)
        listing.variants.remove(variant)
        _touch(listing)
        return listing, variant

    def _variation_of(
        self, shop: SbShop, product_id: str, variation_id: str, *, status: int = 400
    ) -> tuple[SbListing, SbVariant]:
        listing = shop.listings.get(product_id)
        variant = self.variation(listing, variation_id) if listing is not None else None
        if listing is None or variant is None:
            raise WcFailure(status, VARIATION_INVALID_ID, "Invalid ID.")
        return listing, variant


# ---------------------------------------------------------------------------------------------- fields


def _apply_product(listing: SbListing, body: Mapping[str, Any]) -> None:
    if "name" in body:
        listing.name = str(body["name"] or "")
    if "description" in body:
        listing.description = str(body["description"] or "")
    if "status" in body:
        status = str(body["status"]) if body["status"] in _STATUSES else "draft"  # get_post_status_object fallback
        listing.status = "active" if status == "publish" else status
    _touch(listing)


def _apply_stock_price(variant: SbVariant, body: Mapping[str, Any]) -> None:
    if "sku" in body:
        variant.sku = str(body["sku"] or "")
    if "global_unique_id" in body:  # set_global_unique_id(wc_clean(...)); its uniqueness check is not emulated
        variant.barcode = str(body["global_unique_id"] or "").strip()
    if "regular_price" in body:
        variant.price = _price(body["regular_price"])
    if "stock_quantity" in body:
        variant.stock = _quantity(body["stock_quantity"])


def _price(value: Any) -> Decimal:
    """``wc_format_decimal``: an empty or non-numeric price is no price (0 here)."""
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _quantity(value: Any) -> int:
    """``wc_stock_amount``: an integer, whatever was sent."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _touch(listing: SbListing) -> None:
    listing.updated_at = max(time.time(), listing.updated_at)
