"""``/v1/mappings`` and ``/v1/shops/{id}/unmatched`` (issue #17): which CRM variant is which platform listing, for
the CRM.

- ``GET /v1/mappings``: the links, filtered by shop, product, variant, platform item and status, keyset-paged by id.
- ``POST /v1/mappings``: link a CRM variant to a platform item (and variant) by hand. Checked before anything is
  stored: the shop is the organization's, the variant is a live variant of the shop's sale channel's merchant, the
  item (and the variant named, or the listing's only one) exists on the platform - read through the shop's client -
  and neither side is linked already. The listing's price and stock count as pushed; its content stays the
  merchant's (``origin`` ``linked``: stock and price only, unless ``config.catalog.content`` is ``crm``).
- ``DELETE /v1/mappings/{id}``: unlink; the listing on the platform is not touched.
- ``GET /v1/shops/{id}/unmatched``: the platform SKUs the shop's last pull could not match (and not linked since),
  each with suggestions: CRM variants whose SKU is the same once normalised (case, spaces and punctuation ignored),
  or whose BARCODE identifier is the listing's barcode.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from nfsync.connectors.base.client import MissingCredential
from nfsync.connectors.base.errors import (
    NotFound,
    PermanentError,
    ReauthorizationNeeded,
    RetryableError,
    TaskError,
    ValidationFailed,
)
from nfsync.connectors.base.models import Listing, ListingVariant
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers import crm
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE, ApiState
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import MAX_ID_LENGTH
from nfsync.workers.errors import DependencyUnavailable
from nfsync.workers.logs import get_logger

api = Api()
log = get_logger(__name__)
WRITE_SCOPE = "integrations:write"
TAGS = ("mappings",)
ID_WIDTH = 100  # product_mappings.platform_item_id / platform_variant_id


class MappingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_id: uuid.UUID | None = None
    product_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    variant_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    platform_item_id: str | None = Field(None, min_length=1, max_length=ID_WIDTH)
    status: Literal["active", "delisted", "deleted", "error"] | None = None
    after: uuid.UUID | None = None
    limit: int = Field(100, ge=1, le=500)


class MappingOut(BaseModel):
    id: uuid.UUID
    shop_id: uuid.UUID
    integration_id: uuid.UUID
    platform: str
    product_id: str
    variant_id: str
    platform_item_id: str
    platform_variant_id: str | None
    platform_sku: str | None
    status: str
    origin: str
    last_pushed_price: Decimal | None
    last_pushed_stock: int | None
    last_pushed_at: UtcDateTime | None
    last_pulled_at: UtcDateTime | None
    error_message: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MappingPage(BaseModel):
    items: list[MappingOut]
    next_after: uuid.UUID | None


class MappingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_id: uuid.UUID
    variant_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    platform_item_id: str = Field(min_length=1, max_length=ID_WIDTH)
    platform_variant_id: str | None = Field(
        None, min_length=1, max_length=ID_WIDTH, description="Required when the listing has several variants"
    )


class Suggestion(BaseModel):
    variant_id: str
    product_id: str
    reason: Literal["same normalised SKU", "same barcode"]
    identifier: str


class Unmatched(BaseModel):
    platform_item_id: str | None
    platform_variant_id: str | None
    sku: str | None
    name: str | None
    barcode: str | None
    suggestions: list[Suggestion]


class UnmatchedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class UnmatchedPage(BaseModel):
    shop_id: uuid.UUID
    pull_task_id: uuid.UUID | None
    pulled_at: UtcDateTime | None
    items: list[Unmatched]


def normalise_sku(sku: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", sku.upper())


def _state(call: Call) -> ApiState:
    return call.request.app[API_STATE]


@api.route(
    "GET", "/v1/mappings", summary="CRM variant <-> platform listing links", scope=None, query=MappingQuery,
    response=MappingPage, tags=TAGS,
)  # fmt: skip
async def list_mappings(call: Call) -> MappingPage:
    q = call.query_as(MappingQuery)
    rows = await _state(call).tenant_pool.fetch(
        QUERIES["mapping_list"],
        call.tenant,
        q.shop_id,
        q.product_id,
        q.variant_id,
        q.platform_item_id,
        q.status,
        q.after,
        q.limit,
    )
    items = [MappingOut.model_validate(dict(r)) for r in rows]
    return MappingPage(items=items, next_after=items[-1].id if len(items) == q.limit else None)


@api.route(
    "GET", "/v1/mappings/{mapping_id}", summary="One link", scope=None, response=MappingOut, tags=TAGS,
)  # fmt: skip
async def get_mapping(call: Call) -> MappingOut:
    return await _mapping(call, call.path_uuid("mapping_id"))


async def _mapping(call: Call, mapping_id: uuid.UUID) -> MappingOut:
    row = await _state(call).tenant_pool.fetchrow(QUERIES["mapping_get"], mapping_id, call.tenant)
    if row is None:
        raise NotFound(f"mapping {mapping_id} not found")
    return MappingOut.model_validate(dict(row))


async def _shop_context(call: Call, shop_id: uuid.UUID, field: str | None) -> asyncpg.Record:
    """The organization's shop (a 422 naming ``field`` when the body names it, else a 404), with its integration."""
    state = _state(call)
    row = None
    if await state.tenant_pool.fetchrow(QUERIES["shop_get"], shop_id, call.tenant) is not None:
        row = await state.system_pool.fetchrow(QUERIES["sync_shop_context"], shop_id)
    if row is None or row["platform"] not in PLATFORM_PACKAGES:
        if field is None:
            raise NotFound(f"shop {shop_id} not found")
        raise ValidationFailed(f"{field}: no shop {shop_id} in this organization")
    return row


async def _merchant(call: Call, shop: asyncpg.Record) -> str:
    if not shop["sale_channel_id"]:
        raise ValidationFailed("shop_id: the shop has no sale channel (set sale_channel_id) to take variants from")
    try:
        return await _channel_merchant(call, shop)
    except PermanentError as exc:
        raise ValidationFailed(f"shop_id: {exc}") from None


async def _channel_merchant(call: Call, shop: asyncpg.Record) -> str:
    """The merchant of the shop's sale channel, when linked to the shop's organization (PermanentError otherwise)."""
    async with _state(call).system_pool.acquire() as conn:
        merchant, _ = await crm.channel_merchant(conn, shop["sale_channel_id"], shop["organization_id"])
    return merchant


async def _platform_listing(call: Call, shop: asyncpg.Record, item_id: str) -> Listing | None:
    state = _state(call)
    client = state.clients.shop_client(state.system_pool, shop)
    try:
        found = await client.get_listings([item_id])
    except (ReauthorizationNeeded, MissingCredential) as exc:
        raise ValidationFailed(f"shop_id: the shop's authorization cannot be used ({exc})") from None
    except RetryableError as exc:
        raise DependencyUnavailable(f"{shop['platform']}: {exc}") from None
    except TaskError as exc:
        log.info("mappings.item_refused", platform=shop["platform"], error=str(exc)[:300])
        return None
    return next((listing for listing in found if listing.platform_item_id == item_id), None)


def _pick_variant(listing: Listing, wanted: str | None) -> ListingVariant:
    if wanted is not None:
        chosen = next((v for v in listing.variants if v.platform_variant_id == wanted), None)
        if chosen is None:
            raise ValidationFailed(f"platform_variant_id: item {listing.platform_item_id} has no variant {wanted!r}")
        return chosen
    if len(listing.variants) != 1:
        raise ValidationFailed(
            f"platform_variant_id: item {listing.platform_item_id} has {len(listing.variants)} variants; name one"
        )
    return listing.variants[0]


async def _refuse_conflicts(call: Call, shop_id: uuid.UUID, body: MappingCreate, variant: ListingVariant) -> None:
    rows = await _state(call).system_pool.fetch(
        QUERIES["mapping_conflicts"], shop_id, body.variant_id, body.platform_item_id, variant.platform_variant_id
    )
    for row in rows:
        if row["variant_id"] == body.variant_id:
            raise ValidationFailed(
                f"variant_id: {body.variant_id} is already linked to item {row['platform_item_id']} (mapping "
                f"{row['id']}); unlink it first"
            )
        raise ValidationFailed(
            f"platform_item_id: item {body.platform_item_id} is already linked to variant {row['variant_id']} "
            f"(mapping {row['id']}); unlink it first"
        )


@api.route(
    "POST", "/v1/mappings", summary="Link a CRM variant to a platform listing by hand (checked against the platform)",
    scope=WRITE_SCOPE, body=MappingCreate, response=MappingOut, status=201, tags=TAGS,
)  # fmt: skip
async def create_mapping(call: Call) -> MappingOut:
    body = call.body_as(MappingCreate)
    shop = await _shop_context(call, body.shop_id, "shop_id")
    merchant = await _merchant(call, shop)
    state = _state(call)
    crm_variant = await state.system_pool.fetchrow(QUERIES["mapping_variant_of_merchant"], body.variant_id, merchant)
    if crm_variant is None:
        raise ValidationFailed(f"variant_id: no live variant {body.variant_id!r} of the shop's merchant")
    listing = await _platform_listing(call, shop, body.platform_item_id)
    if listing is None:
        raise ValidationFailed(
            f"platform_item_id: {shop['platform']} has no item {body.platform_item_id!r} in this shop"
        )
    variant = _pick_variant(listing, body.platform_variant_id)
    await _refuse_conflicts(call, body.shop_id, body, variant)
    mapping_id = await state.tenant_pool.fetchval(
        QUERIES["mapping_link"],
        shop["organization_id"],
        shop["id"],
        body.shop_id,
        shop["platform"],
        crm_variant["product_id"],
        body.variant_id,
        listing.platform_item_id,
        variant.platform_variant_id,
        variant.sku or None,
        variant.price,
        variant.stock,
    )
    if mapping_id is None:  # linked meanwhile by a push or another call
        raise ValidationFailed(f"variant_id: {body.variant_id} was linked meanwhile; read /v1/mappings")
    log.info("mapping.linked", mapping_id=str(mapping_id), shop_id=str(body.shop_id))
    return await _mapping(call, mapping_id)


@api.route(
    "DELETE", "/v1/mappings/{mapping_id}", summary="Unlink (the listing on the platform is not touched)",
    scope=WRITE_SCOPE, status=204, tags=TAGS,
)  # fmt: skip
async def delete_mapping(call: Call) -> web.Response:
    mapping_id = call.path_uuid("mapping_id")
    if await _state(call).tenant_pool.fetchval(QUERIES["mapping_unlink"], mapping_id, call.tenant) is None:
        raise NotFound(f"mapping {mapping_id} not found")
    log.info("mapping.unlinked", mapping_id=str(mapping_id))
    return web.Response(status=204)


def _details(value: Any) -> dict[str, Any]:
    data = json.loads(value) if isinstance(value, str) else value
    return data if isinstance(data, dict) else {}


@api.route(
    "GET", "/v1/shops/{shop_id}/unmatched",
    summary="Platform SKUs the shop's last pull could not match, with suggested CRM variants",
    scope=None, query=UnmatchedQuery, response=UnmatchedPage, tags=TAGS,
)  # fmt: skip
async def unmatched(call: Call) -> UnmatchedPage:
    shop_id = call.path_uuid("shop_id")
    shop = await _shop_context(call, shop_id, None)
    q = call.query_as(UnmatchedQuery)
    state = _state(call)
    pull = await state.tenant_pool.fetchrow(QUERIES["unmatched_last_pull"], shop_id)
    if pull is None:
        return UnmatchedPage(shop_id=shop_id, pull_task_id=None, pulled_at=None, items=[])
    rows = await state.tenant_pool.fetch(QUERIES["unmatched_of_task"], pull["id"], shop_id, q.limit, q.offset)
    found = [(_details(r["details"]), r["platform_entity_id"]) for r in rows]
    suggestions = await _suggestions(call, shop, [d for d, _ in found])
    items = [
        Unmatched(
            platform_item_id=d.get("platform_item_id"),
            platform_variant_id=d.get("platform_variant_id") or (None if d.get("platform_item_id") else entity),
            sku=d.get("sku"),
            name=d.get("name"),
            barcode=d.get("barcode"),
            suggestions=_suggested(d, suggestions),
        )
        for d, entity in found
    ]
    return UnmatchedPage(shop_id=shop_id, pull_task_id=pull["id"], pulled_at=pull["completed_at"], items=items)


async def _suggestions(call: Call, shop: asyncpg.Record, details: list[dict[str, Any]]) -> list[asyncpg.Record]:
    skus = sorted({normalise_sku(str(d["sku"])) for d in details if d.get("sku")} - {""})
    barcodes = sorted({str(d["barcode"]) for d in details if d.get("barcode")})
    if not (skus or barcodes) or not shop["sale_channel_id"]:
        return []
    try:
        merchant = await _channel_merchant(call, shop)
    except PermanentError:
        return []
    return list(await _state(call).system_pool.fetch(QUERIES["unmatched_suggestions"], merchant, skus, barcodes))


def _suggested(detail: dict[str, Any], rows: list[asyncpg.Record]) -> list[Suggestion]:
    sku = normalise_sku(str(detail.get("sku") or ""))
    barcode = detail.get("barcode")
    out: list[Suggestion] = []
    for row in rows:
        if row["scheme"] == "SKU" and sku and row["normalised"] == sku:
            reason: Literal["same normalised SKU", "same barcode"] = "same normalised SKU"
        elif row["scheme"] == "BARCODE" and barcode and row["identifier"] == barcode:
            reason = "same barcode"
        else:
            continue
        out.append(
            Suggestion(
                variant_id=row["variant_id"], product_id=row["product_id"], reason=reason, identifier=row["identifier"]
            )
        )
    return out
