"""``/v1/listing-profiles``: what a platform needs to create a listing, per CRM product (``workers/listing``).

A profile belongs to an integration (hence a platform); ``?shop_id=`` addresses the override for one of its shops.
``.../defaults`` is the layer every product of the integration (or of the shop) starts from. Another
organization's integration, shop or product is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from nfsync.connectors.base.categories import CategoryRequirements
from nfsync.connectors.base.errors import NotFound, ValidationFailed
from nfsync.connectors.base.spec import PLATFORM_PACKAGES, load
from nfsync.workers.api.framework import Api, Call, ErrorDetail, InvalidRequest, UtcDateTime
from nfsync.workers.api.integrations import integration_for_path
from nfsync.workers.api.state import API_STATE
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import MAX_ID_LENGTH
from nfsync.workers.errors import DependencyUnavailable
from nfsync.workers.listing import imports, requirements, store
from nfsync.workers.listing.profiles import ListingProfile, image_refusals

api = Api()
TAGS = ("listing profiles",)
MAX_IMPORT_BYTES = 1024 * 1024  # the service's body cap (NFSYNC_WEBHOOK_MAX_BYTES) applies first when lower
ID_WIDTH = 100  # category_requirements.category_id


class ScopeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_id: uuid.UUID | None = None


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    shop_id: uuid.UUID | None = None
    after: uuid.UUID | None = None
    limit: int = Field(100, ge=1, le=500)


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["jsonl", "csv"] | None = None  # default: from the Content-Type
    dry_run: bool = False


class ProfileOut(BaseModel):
    id: uuid.UUID
    integration_id: uuid.UUID
    product_id: str | None
    shop_id: uuid.UUID | None
    profile: ListingProfile
    source: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ProfilePage(BaseModel):
    items: list[ProfileOut]
    next_after: uuid.UUID | None


def _out(stored: store.StoredProfile) -> ProfileOut:
    return ProfileOut(
        id=stored.id,
        integration_id=stored.scope.integration_id,
        product_id=stored.scope.product_id,
        shop_id=stored.scope.shop_id,
        profile=stored.profile,
        source=stored.source,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


async def _scope(call: Call, product_id: str | None) -> tuple[uuid.UUID, store.Scope]:
    """The integration's organization and the addressed layer (404 for an integration the caller cannot see)."""
    integration = await integration_for_path(call)
    if product_id is not None and not 0 < len(product_id) <= MAX_ID_LENGTH:
        raise ValidationFailed(f"product_id must be 1 to {MAX_ID_LENGTH} characters")
    shop_id = call.query_as(ScopeQuery).shop_id
    return integration["organization_id"], store.Scope(integration["id"], product_id, shop_id)


def _pool(call: Call) -> Any:
    return call.request.app[API_STATE].tenant_pool


async def _get(call: Call, product_id: str | None) -> ProfileOut:
    _, scope = await _scope(call, product_id)
    return _out(await store.get(_pool(call), scope, call.tenant))


async def _put(call: Call, product_id: str | None) -> ProfileOut:
    organization_id, scope = await _scope(call, product_id)
    profile = call.body_as(ListingProfile)
    state = call.request.app[API_STATE]
    refused = image_refusals(profile, state.settings.outbound_policy)
    if not refused:
        check = requirements.PlatformCheck(state.system_pool, state.clients)
        refused = await check.refusals(scope.integration_id, scope.shop_id, profile)
    if refused:
        raise InvalidRequest([ErrorDetail(path=f"body.{path}", reason=reason) for path, reason in refused])
    stored = await store.save(_pool(call), organization_id, scope, profile, "api")
    return _out(stored)


async def _delete(call: Call, product_id: str | None) -> web.Response:
    _, scope = await _scope(call, product_id)
    await store.delete(_pool(call), scope, call.tenant)
    return web.Response(status=204)


PRODUCT = "/v1/listing-profiles/{integration_id}/products/{product_id}"
DEFAULTS = "/v1/listing-profiles/{integration_id}/defaults"
READ: dict[str, Any] = {"scope": None, "query": ScopeQuery, "response": ProfileOut, "tags": TAGS}
WRITE: dict[str, Any] = {"scope": "integrations:write", "query": ScopeQuery, "tags": TAGS}


@api.route("GET", PRODUCT, summary="A product's listing profile (or its override for ?shop_id=)", **READ)
async def get_profile(call: Call) -> ProfileOut:
    return await _get(call, call.path("product_id"))


@api.route(
    "PUT", PRODUCT, summary="Write a product's listing profile", body=ListingProfile, response=ProfileOut, **WRITE
)
async def put_profile(call: Call) -> ProfileOut:
    return await _put(call, call.path("product_id"))


@api.route("DELETE", PRODUCT, summary="Remove a product's listing profile", status=204, **WRITE)
async def delete_profile(call: Call) -> web.Response:
    return await _delete(call, call.path("product_id"))


@api.route("GET", DEFAULTS, summary="The integration's (or ?shop_id='s) listing defaults", **READ)
async def get_defaults(call: Call) -> ProfileOut:
    return await _get(call, None)


@api.route("PUT", DEFAULTS, summary="Write the listing defaults", body=ListingProfile, response=ProfileOut, **WRITE)
async def put_defaults(call: Call) -> ProfileOut:
    return await _put(call, None)


@api.route("DELETE", DEFAULTS, summary="Remove the listing defaults", status=204, **WRITE)
async def delete_defaults(call: Call) -> web.Response:
    return await _delete(call, None)


@api.route(
    "GET",
    "/v1/listing-profiles/{integration_id}",
    summary="The integration's listing profiles, in pages",
    scope=None,
    query=ListQuery,
    response=ProfilePage,
    tags=TAGS,
)
async def list_profiles(call: Call) -> ProfilePage:
    integration = await integration_for_path(call)
    q = call.query_as(ListQuery)
    rows = await store.page(
        _pool(call),
        integration["id"],
        call.tenant,
        product_id=q.product_id,
        shop_id=q.shop_id,
        after=q.after,
        limit=q.limit,
    )
    items = [_out(r) for r in rows]
    return ProfilePage(items=items, next_after=items[-1].id if len(items) == q.limit else None)


def _format(call: Call) -> imports.Format:
    chosen = call.query_as(ImportQuery).format
    if chosen is not None:
        return chosen
    kind = call.request.content_type
    if kind in ("text/csv", "application/csv"):
        return "csv"
    if kind in ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines"):
        return "jsonl"
    raise ValidationFailed("send text/csv or application/x-ndjson (or say ?format=csv|jsonl)")


@api.route(
    "POST",
    "/v1/listing-profiles/{integration_id}/import",
    summary="Import listing profiles (JSON lines or CSV): a report line per row",
    scope="integrations:write",
    query=ImportQuery,
    raw_body=True,
    tags=TAGS,
)
async def import_profiles(call: Call) -> dict[str, Any]:
    integration = await integration_for_path(call)
    kind = _format(call)
    body = await _read(call.request)
    try:
        rows = imports.parse(body, kind)
    except imports.ImportRefused as exc:
        raise ValidationFailed(str(exc)) from None
    state = call.request.app[API_STATE]
    async with _pool(call).acquire() as conn:
        report = await imports.run(
            conn,
            integration["organization_id"],
            integration["id"],
            rows,
            policy=state.settings.outbound_policy,
            platform=requirements.PlatformCheck(state.system_pool, state.clients),
            dry_run=call.query_as(ImportQuery).dry_run,
        )
    return imports.report_json(report)


async def _read(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_IMPORT_BYTES, actual_size=request.content_length)
    state = request.app[API_STATE]
    try:
        return await asyncio.wait_for(request.read(), state.body_timeout)
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason="the body did not arrive in time") from None


class RequirementsOut(BaseModel):
    shop_id: uuid.UUID
    category_id: str
    platform: str
    profile_must_hold: list[str]
    requirements: CategoryRequirements


@api.route(
    "GET",
    "/v1/shops/{shop_id}/categories/{category_id}/requirements",
    summary="What a listing in this platform category needs (cached a day; read from the platform on a miss)",
    scope=None,
    response=RequirementsOut,
    tags=TAGS,
)
async def category_requirements(call: Call) -> RequirementsOut:
    state = call.request.app[API_STATE]
    category = call.path("category_id")
    if not 0 < len(category) <= ID_WIDTH:
        raise ValidationFailed(f"category_id must be 1 to {ID_WIDTH} characters")
    shop_id = call.path_uuid("shop_id")
    if await state.tenant_pool.fetchrow(QUERIES["shop_get"], shop_id, call.tenant) is None:
        raise NotFound(f"shop {shop_id} not found")
    row = await state.system_pool.fetchrow(QUERIES["sync_shop_context"], shop_id)
    if row is None or row["platform"] not in PLATFORM_PACKAGES:
        raise NotFound(f"shop {shop_id} not found")
    client = state.clients.shop_client(state.system_pool, row)
    found = await requirements.shop_requirements(state.system_pool, client, shop_id, row["organization_id"], [category])
    if category in found.transient:
        raise DependencyUnavailable(f"{row['platform']}: {found.unavailable[category]}")
    if category in found.unavailable:
        raise ValidationFailed(f"category_id {category!r}: {found.unavailable[category]}")
    answer = found.found[category]
    needs = requirements.profile_needs(load(row["platform"]).listing, answer)
    return RequirementsOut(
        shop_id=shop_id, category_id=category, platform=row["platform"], profile_must_hold=needs, requirements=answer
    )
