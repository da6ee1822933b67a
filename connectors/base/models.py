"""The shapes every connector speaks, whatever its platform: the handlers see only these.

Money is ``Decimal``; times are aware UTC ``datetime``; platform ids are strings (Shopee's int64 ids included).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nfsync.connectors.base.listing import AttributeValue, Brand, LogisticsChannel, Package
from nfsync.connectors.base.secret import Secret


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TokenPair(_Model):
    """Credentials an authorization or a refresh returns."""

    access_token: Secret
    refresh_token: Secret | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    platform_account_id: str | None = None
    shop_ids: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


class ShopInfo(_Model):
    platform_shop_id: str
    name: str
    status: str = "active"
    region: str | None = None
    url: str | None = None
    logo: str | None = None
    rating: Decimal | None = None
    created_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class ListingVariant(_Model):
    platform_variant_id: str | None
    sku: str
    price: Decimal
    stock: int
    options: dict[str, str] = Field(default_factory=dict)
    status: str = "active"
    warehouses: dict[str, int] = Field(default_factory=dict)
    """Stock per platform warehouse or location id where the platform reports it (``stock`` is their sum)."""
    barcode: str | None = None
    """The variant's GTIN / EAN / UPC where the platform reports one (matched against CRM BARCODE identifiers)."""


def barcode_of(value: Any, *, placeholders: Collection[str] = ()) -> str | None:
    """A platform's barcode field as ``ListingVariant.barcode``: text only (a number would have lost its leading
    zeros, so it is not taken), outer whitespace removed; empty, whitespace or a documented "no code" placeholder
    (``placeholders``) is None."""
    if not isinstance(value, str):
        return None
    code = value.strip()
    return code if code and code not in placeholders else None


class Listing(_Model):
    platform_item_id: str
    name: str
    description: str = ""
    status: str = "active"
    category_id: str | None = None
    variants: list[ListingVariant]
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Created:
    """What a create left: the listing, and whether it already existed (found by SKU and adopted, not created)."""

    listing: Listing
    adopted: bool


class VariantDraft(_Model):
    sku: str
    price: Decimal
    stock: int = Field(ge=0)
    options: dict[str, str] = Field(default_factory=dict)
    images: list[str] = Field(default_factory=list)  # source URLs (a listing profile's per-variant images)
    sale_properties: dict[str, str] = Field(default_factory=dict)  # platform sale property -> value


class ListingDraft(_Model):
    """What the CRM wants a listing to be (create or full update)."""

    name: str = Field(min_length=1)
    description: str = ""
    category_id: str | None = None
    images: list[str] = Field(default_factory=list)
    variants: list[VariantDraft] = Field(min_length=1)
    idempotency_key: str | None = None
    brand: Brand | None = None
    attributes: list[AttributeValue] = Field(default_factory=list)
    package: Package | None = None
    logistics: list[LogisticsChannel] = Field(default_factory=list)
    sku_attribute_ids: list[str] = Field(default_factory=list)
    """Of ``attributes``, those the category takes on each SKU rather than on the product (Lazada
    ``attribute_type=sku``); set from the category's requirements just before the call, never hashed."""


class StockUpdate(_Model):
    """``quantity`` is the sellable total. ``warehouses`` splits it per platform warehouse or location id (the shop's
    ``config.inventory.warehouses`` maps CRM stock locations to them); empty means the listing's one warehouse, and a
    connector refuses the item when the platform reports several."""

    platform_item_id: str
    platform_variant_id: str | None
    sku: str
    quantity: int = Field(ge=0)
    warehouses: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)


class PriceUpdate(_Model):
    platform_item_id: str
    platform_variant_id: str | None
    sku: str
    price: Decimal = Field(ge=0)


class ItemResult(_Model):
    """Outcome of one item of a batched write."""

    sku: str
    ok: bool
    error_code: str | None = None
    error_message: str | None = None


class OrderLine(_Model):
    platform_line_id: str
    platform_item_id: str | None = None
    platform_variant_id: str | None = None
    sku: str | None = None
    name: str = ""
    quantity: int
    unit_price: Decimal


PERSONAL_FIELDS = ("name", "email", "phone", "address")
_MASK = re.compile(r"\*{2,}")  # Shopee "****", Lazada "1******2": the masks the references show


class Buyer(_Model):
    """An order's buyer as the platform reports it (issue #18). ``platform_buyer_id`` is None for a guest; ``masked``
    names the personal fields whose value the platform masked or anonymised (never a real value)."""

    platform_buyer_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    masked: tuple[str, ...] = ()

    @classmethod
    def seen(cls, platform_buyer_id: object, *, anonymised: Collection[str] = (), **fields: object) -> Buyer | None:
        """The buyer from raw values (empty ones dropped); a value with a ``**`` mask, or named in ``anonymised``,
        is flagged. None when the platform gives nothing at all."""
        values = {k: str(v).strip() for k, v in fields.items() if k in PERSONAL_FIELDS and str(v or "").strip()}
        buyer_id = str(platform_buyer_id or "").strip()
        if buyer_id in ("", "0") and not values:
            return None
        masked = tuple(k for k in PERSONAL_FIELDS if k in values and (k in anonymised or _MASK.search(values[k])))
        return cls(platform_buyer_id=buyer_id if buyer_id not in ("", "0") else None, masked=masked, **values)


class Order(_Model):
    platform_order_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    currency: str
    subtotal: Decimal = Decimal(0)
    shipping_fee: Decimal = Decimal(0)
    total: Decimal
    buyer: dict[str, Any] = Field(default_factory=dict)
    lines: list[OrderLine] = Field(default_factory=list)
    customer: Buyer | None = None


EventKind = Literal[
    "order_status_changed",
    "product_changed",
    "product_deleted",
    "shop_deauthorized",
    "authorization_expiring",
    "ignored",
]


class WebhookEvent(_Model):
    """A verified push, normalised. ``dedupe_key`` is the platform's event id or its documented composite."""

    kind: EventKind
    dedupe_key: str
    platform_shop_id: str | None = None
    entity_id: str | None = None
    status: str | None = None
    occurred_at: datetime | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
