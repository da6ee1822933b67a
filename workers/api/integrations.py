"""Integrations, accounts and shops: create, read, update, deactivate. Secrets are write-only: they are encrypted
on the way in (AES-256-GCM bound to their row) and every response shows them as ``***``.

A WooCommerce shop is connected when it is created active or re-activated: its store gets one webhook per topic
nfsync handles (``POST /wc/v3/webhooks``, connectors/woocommerce/client.py ``register_webhooks``), delivering to
the integration's webhook URL and signed with the integration's webhook secret (generated once when there is none).
It is disconnected when the shop, its account or its integration is deactivated (or its store URL changes): the
webhooks are deleted. A registration that fails never undoes the connection: it is logged
(``woocommerce.webhooks_failed``) and shown in the shop's ``error_message``."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Annotated, Any, ClassVar, Literal

import asyncpg
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from nfsync.connectors.base.client import ShopRef
from nfsync.connectors.base.errors import NfsyncError, NotFound, ValidationFailed
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.outbound import OutboundRefused, check_url
from nfsync.connectors.base.secret import MASK, Secret
from nfsync.connectors.base.spec import PLATFORM_PACKAGES, load
from nfsync.connectors.woocommerce.client import Client as WooClient
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE
from nfsync.workers.crypto import Keyring, SecretField
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.models import Platform
from nfsync.workers.errors import DependencyUnavailable
from nfsync.workers.logs import get_logger, is_secret_key
from nfsync.workers.marketplaces import app_credentials
from nfsync.workers.tokens import store_pair

log = get_logger(__name__)
api = Api()
_SHOP_URL_KEYS = ("auth_base_url", "store_url")  # shop_data entries a client calls (workers/sync/session.py)
_STRICT = ConfigDict(extra="forbid")
MAX_RATE, MAX_INTERVAL = 100_000, 525_600  # calls per second; minutes (a year)
WOO_WEBHOOK_SECONDS = 30.0  # a store that takes longer to register its webhooks is reported, the shop stays
WEBHOOKS_ERROR = "webhooks not registered: "  # the shop error_message prefix (workers/sql/integrations.sql)


class _Patch(BaseModel):
    """A partial update: an absent field keeps its value; ``null`` is refused where the column cannot be null."""

    model_config = _STRICT
    not_nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_where_required(self) -> _Patch:
        bad = sorted(f for f in self.model_fields_set if f in self.not_nullable and getattr(self, f) is None)
        if bad:
            raise ValueError(f"{', '.join(bad)} cannot be null")
        return self


# Public app ids that the log-redaction names would otherwise call secret: Lazada's and TikTok Shop's app_key is
# sent in the clear (Lazada's authorize URL client_id, TikTok's signed query string: see marketplaces reference).
PUBLIC_CONFIG_NAMES = frozenset({"app_key"})


def public_config(value: dict[str, Any]) -> dict[str, Any]:
    """``config`` is shown to every token of the organization: a name that looks like a secret (the log redaction's
    names) is refused there - it belongs in the write-only ``credentials``."""
    stack: list[tuple[Any, str]] = [(value, "config")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if is_secret_key(str(key)) and key not in PUBLIC_CONFIG_NAMES:
                    raise ValueError(f"{path}.{key} looks like a secret: set it in credentials (write-only)")
                stack.append((child, f"{path}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, path) for child in item)
    return value


PublicConfig = Annotated[dict[str, Any], AfterValidator(public_config)]


class IntegrationIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=100)
    platform: Platform
    description: str | None = None
    config: PublicConfig = Field(default_factory=dict, description="public settings: app ids, region, features")
    credentials: dict[str, str] | None = Field(None, description="write-only app secrets, by the platform's names")
    webhook_secret: str | None = Field(None, min_length=1, max_length=120, description="write-only")
    api_version: str | None = Field(None, max_length=20)
    api_base_url: str | None = Field(None, max_length=255)
    rate_limit: int | None = Field(None, ge=1, le=MAX_RATE, description="calls/s per (app, shop, endpoint class)")
    sync_interval: int | None = Field(None, ge=1, le=MAX_INTERVAL, description="minutes between periodic syncs")


class IntegrationPatch(_Patch):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"name", "config", "status"})
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = None
    config: PublicConfig | None = None
    credentials: dict[str, str | None] | None = Field(None, description="fields to set; null removes a field")
    webhook_secret: str | None = Field(None, min_length=1, max_length=120)
    api_version: str | None = Field(None, max_length=20)
    api_base_url: str | None = Field(None, max_length=255)
    rate_limit: int | None = Field(None, ge=1, le=MAX_RATE)
    sync_interval: int | None = Field(None, ge=1, le=MAX_INTERVAL)
    status: Literal["active", "inactive"] | None = None


class IntegrationOut(BaseModel):
    id: uuid.UUID
    name: str
    platform: str
    status: str
    description: str | None
    config: dict[str, Any]
    credentials: dict[str, str]
    webhook_secret: str | None
    webhook_url: str
    api_version: str | None
    api_base_url: str | None
    rate_limit: int | None
    sync_interval: int | None
    last_sync_at: UtcDateTime | None
    error_message: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class AccountIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=100)
    platform_account_id: str = Field(min_length=1, max_length=100)
    auth_type: Literal["oauth", "api_key", "basic"] = "oauth"
    access_token: str | None = Field(None, min_length=1, description="write-only")
    refresh_token: str | None = Field(None, min_length=1, description="write-only")
    token_expires_at: UtcDateTime | None = None
    refresh_token_expires_at: UtcDateTime | None = None
    auth_data: dict[str, str] | None = Field(None, description="write-only")
    scopes: list[str] | None = None
    metadata: dict[str, Any] | None = None


class AccountPatch(_Patch):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"name", "status"})
    name: str | None = Field(None, min_length=1, max_length=100)
    auth_data: dict[str, str | None] | None = None
    scopes: list[str] | None = None
    metadata: dict[str, Any] | None = None
    status: Literal["active", "inactive"] | None = None


class AccountOut(BaseModel):
    id: uuid.UUID
    integration_id: uuid.UUID
    name: str
    platform: str
    platform_account_id: str
    status: str
    auth_type: str
    access_token: str | None
    refresh_token: str | None
    auth_data: dict[str, str]
    token_expires_at: UtcDateTime | None
    refresh_token_expires_at: UtcDateTime | None
    scopes: list[str] | None
    last_connected_at: UtcDateTime | None
    error_message: str | None
    created_at: UtcDateTime


class ShopIn(BaseModel):
    model_config = _STRICT
    shop_id: str = Field(min_length=1, max_length=100, description="the shop's id on the platform")
    shop_name: str = Field(min_length=1, max_length=255)
    shop_url: str | None = Field(None, max_length=255)
    shop_region: str | None = Field(None, max_length=50)
    sale_channel_id: str | None = Field(None, description='the CRM "SaleChannel" whose products this shop lists')
    shop_data: dict[str, Any] | None = None


class ShopPatch(_Patch):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"shop_name", "shop_status"})
    shop_name: str | None = Field(None, min_length=1, max_length=255)
    shop_url: str | None = Field(None, max_length=255)
    shop_region: str | None = Field(None, max_length=50)
    sale_channel_id: str | None = None
    shop_data: dict[str, Any] | None = None
    shop_status: Literal["active", "inactive"] | None = None


class ShopOut(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    integration_id: uuid.UUID | None
    platform: str
    shop_id: str
    shop_name: str
    shop_url: str | None
    shop_region: str | None
    shop_status: str
    sale_channel_id: str | None
    shop_data: dict[str, Any] | None
    sync_status: str
    last_sync_at: UtcDateTime | None
    error_message: str | None = None
    created_at: UtcDateTime


class Listing(BaseModel):
    items: list[dict[str, Any]]


def _keyring(call: Call) -> Keyring:
    keyring = call.request.app[API_STATE].keyring
    if keyring is None:
        raise DependencyUnavailable("NFSYNC_SECRET_KEYS is not set: secrets cannot be stored")
    return keyring


def _pool(call: Call) -> asyncpg.Pool:
    return call.request.app[API_STATE].tenant_pool


def _masked(stored: Any) -> dict[str, str]:
    return {name: MASK for name in (stored or {})}


def _integration_out(call: Call, row: asyncpg.Record) -> IntegrationOut:
    data = dict(row)
    data["credentials"] = _masked(row["credentials"])
    data["webhook_secret"] = MASK if row["webhook_secret"] else None
    data["config"] = row["config"] or {}
    data["webhook_url"] = f"{call.request.app[API_STATE].public_base_url}/webhooks/{row['platform']}/{row['id']}"
    return IntegrationOut.model_validate(data)


def _encrypt_fields(keyring: Keyring, values: dict[str, str | None], where: SecretField, stored: Any) -> dict[str, str]:
    merged = dict(stored or {})
    for name, value in values.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = keyring.encrypt(Secret(value), where.with_field(name))
    return merged


@api.route(
    "POST",
    "/v1/integrations",
    summary="Create an integration (secrets write-only)",
    scope="integrations:write",
    body=IntegrationIn,
    response=IntegrationOut,
    status=201,
    tags=("integrations",),
)
async def create_integration(call: Call) -> IntegrationOut:
    body = call.body_as(IntegrationIn)
    if body.platform not in PLATFORM_PACKAGES:
        raise ValidationFailed(f"no connector for {body.platform} yet: its integrations would never sync")
    _check_outbound(
        call,
        body.platform,
        {"api_base_url": body.api_base_url, "config.auth_base_url": body.config.get("auth_base_url")},
    )
    new_id, org = uuid.uuid4(), str(call.organization_id)
    creds = secret = None
    if body.credentials or body.webhook_secret:
        keyring = _keyring(call)
        where = SecretField("marketplace_integrations", "credentials", org, str(new_id))
        creds = _encrypt_fields(keyring, dict(body.credentials or {}), where, None) if body.credentials else None
        secret_where = SecretField("marketplace_integrations", "webhook_secret", org, str(new_id))
        secret = keyring.encrypt(Secret(body.webhook_secret), secret_where) if body.webhook_secret else None
    try:
        row = await _pool(call).fetchrow(
            QUERIES["integration_insert"],
            new_id,
            call.organization_id,
            body.name,
            body.description,
            body.platform,
            body.config,
            creds,
            body.api_version,
            body.api_base_url,
            secret,
            body.rate_limit,
            body.sync_interval,
        )
    except asyncpg.UniqueViolationError:
        raise ValidationFailed(f"an integration named {body.name!r} already exists") from None
    assert row is not None
    return _integration_out(call, row)


async def integration_for_path(call: Call) -> asyncpg.Record:
    row = await _pool(call).fetchrow(QUERIES["integration_get"], call.path_uuid("integration_id"), call.tenant)
    if row is None:
        raise NotFound(f"integration {call.path('integration_id')} not found")
    return row


@api.route(
    "GET",
    "/v1/integrations",
    summary="The organization's integrations",
    scope=None,
    response=Listing,
    tags=("integrations",),
)
async def list_integrations(call: Call) -> Listing:
    rows = await _pool(call).fetch(QUERIES["integration_list"], call.tenant, 500, 0)
    return Listing(items=[_integration_out(call, r).model_dump(mode="json") for r in rows])


@api.route(
    "GET",
    "/v1/integrations/{integration_id}",
    summary="One integration (secrets masked)",
    scope=None,
    response=IntegrationOut,
    tags=("integrations",),
)
async def get_integration(call: Call) -> IntegrationOut:
    return _integration_out(call, await integration_for_path(call))


@api.route(
    "PATCH",
    "/v1/integrations/{integration_id}",
    summary="Update an integration",
    scope="integrations:write",
    body=IntegrationPatch,
    response=IntegrationOut,
    tags=("integrations",),
)
async def update_integration(call: Call) -> IntegrationOut:
    return await _apply_integration_patch(call, call.body_as(IntegrationPatch))


@api.route(
    "POST",
    "/v1/integrations/{integration_id}/deactivate",
    summary="Deactivate an integration",
    scope="integrations:write",
    response=IntegrationOut,
    tags=("integrations",),
)
async def deactivate_integration(call: Call) -> IntegrationOut:
    return await _apply_integration_patch(call, IntegrationPatch(status="inactive"))


def _check_outbound(call: Call, platform: str, urls: dict[str, Any]) -> None:
    """A URL the service will call on the tenant's behalf must be the platform's (connectors/base/outbound.py); the
    answer names the field, never what the host answers."""
    hosts = load(platform).api_hosts if platform in PLATFORM_PACKAGES else frozenset()
    for name, url in urls.items():
        if not url:
            continue
        try:
            check_url(str(url), hosts, call.request.app[API_STATE].outbound, what=name)
        except OutboundRefused as exc:
            raise ValidationFailed(exc.message) from None


def _shop_urls(shop_data: dict[str, Any] | None, shop_url: str | None = None) -> dict[str, Any]:
    """The URLs of a shop a client may call: shop_data's hosts, and a WooCommerce shop's own URL."""
    urls = {f"shop_data.{key}": (shop_data or {}).get(key) for key in _SHOP_URL_KEYS}
    return {**urls, "shop_url": shop_url}


async def _apply_integration_patch(call: Call, patch: IntegrationPatch) -> IntegrationOut:
    row = await integration_for_path(call)
    org, row_id = str(row["organization_id"]), str(row["id"])
    creds, secret = row["credentials"], row["webhook_secret"]
    if patch.credentials is not None:
        where = SecretField("marketplace_integrations", "credentials", org, row_id)
        creds = _encrypt_fields(_keyring(call), dict(patch.credentials), where, creds) or None
    if patch.webhook_secret is not None:
        where = SecretField("marketplace_integrations", "webhook_secret", org, row_id)
        secret = _keyring(call).encrypt(Secret(patch.webhook_secret), where)
    merged = {**dict(row), **patch.model_dump(exclude_unset=True, exclude={"credentials", "webhook_secret"})}
    _check_outbound(
        call,
        row["platform"],
        {"api_base_url": patch.api_base_url, "config.auth_base_url": (patch.config or {}).get("auth_base_url")},
    )
    updated = await _pool(call).fetchrow(
        QUERIES["integration_update"],
        row["id"],
        call.tenant,
        merged["name"],
        merged["description"],
        merged["config"],
        creds,
        merged["api_version"],
        merged["api_base_url"],
        secret,
        merged["rate_limit"],
        merged["sync_interval"],
        merged["status"],
    )
    assert updated is not None
    call.request.app[API_STATE].webhooks.forget(updated["id"])
    if row["status"] == "active" and updated["status"] != "active":
        for shop in await _pool(call).fetch(QUERIES["shops_of_integration"], row["id"], call.tenant):
            await _woo_disconnect(call, shop, row)
    return _integration_out(call, updated)


def _account_out(row: asyncpg.Record) -> AccountOut:
    data = dict(row)
    data["access_token"] = MASK if row["access_token"] else None
    data["refresh_token"] = MASK if row["refresh_token"] else None
    data["auth_data"] = _masked(row["auth_data"])
    return AccountOut.model_validate(data)


@api.route(
    "POST",
    "/v1/integrations/{integration_id}/accounts",
    summary="Add an account (tokens write-only)",
    scope="integrations:write",
    body=AccountIn,
    response=AccountOut,
    status=201,
    tags=("integrations",),
)
async def create_account(call: Call) -> AccountOut:
    body = call.body_as(AccountIn)
    integration = await integration_for_path(call)
    new_id, org = uuid.uuid4(), str(integration["organization_id"])
    auth = None
    if body.auth_data:
        where = SecretField("marketplace_accounts", "auth_data", org, str(new_id))
        auth = _encrypt_fields(_keyring(call), dict(body.auth_data), where, None)
    async with _pool(call).acquire() as conn, conn.transaction():
        try:
            await conn.execute(
                QUERIES["account_insert"],
                new_id,
                integration["organization_id"],
                integration["id"],
                body.name,
                integration["platform"],
                body.platform_account_id,
                body.auth_type,
                auth,
                body.scopes,
                body.metadata,
            )
        except asyncpg.UniqueViolationError:
            raise ValidationFailed(f"account {body.platform_account_id!r} already exists") from None
        if body.access_token:
            pair = TokenPair(
                access_token=Secret(body.access_token),
                refresh_expires_at=body.refresh_token_expires_at,
                refresh_token=Secret(body.refresh_token) if body.refresh_token else None,
                access_expires_at=body.token_expires_at,
            )
            await store_pair(conn, _keyring(call), new_id, org, pair)
        row = await conn.fetchrow(QUERIES["account_get"], new_id, call.tenant)
    assert row is not None
    return _account_out(row)


@api.route(
    "GET",
    "/v1/integrations/{integration_id}/accounts",
    summary="The integration's accounts",
    scope=None,
    response=Listing,
    tags=("integrations",),
)
async def list_accounts(call: Call) -> Listing:
    integration = await integration_for_path(call)
    rows = await _pool(call).fetch(QUERIES["account_list"], integration["id"], call.tenant)
    return Listing(items=[_account_out(r).model_dump(mode="json") for r in rows])


async def _account(call: Call) -> asyncpg.Record:
    row = await _pool(call).fetchrow(QUERIES["account_get"], call.path_uuid("account_id"), call.tenant)
    if row is None:
        raise NotFound(f"account {call.path('account_id')} not found")
    return row


@api.route(
    "GET",
    "/v1/accounts/{account_id}",
    summary="One account (tokens masked)",
    scope=None,
    response=AccountOut,
    tags=("integrations",),
)
async def get_account(call: Call) -> AccountOut:
    return _account_out(await _account(call))


@api.route(
    "PATCH",
    "/v1/accounts/{account_id}",
    summary="Update an account",
    scope="integrations:write",
    body=AccountPatch,
    response=AccountOut,
    tags=("integrations",),
)
async def update_account(call: Call) -> AccountOut:
    return await _apply_account_patch(call, call.body_as(AccountPatch))


@api.route(
    "POST",
    "/v1/accounts/{account_id}/deactivate",
    summary="Deactivate an account and stop its tasks",
    scope="integrations:write",
    response=AccountOut,
    tags=("integrations",),
)
async def deactivate_account(call: Call) -> AccountOut:
    out = await _apply_account_patch(call, AccountPatch(status="inactive"))
    await _pool(call).execute(QUERIES["stop_pending_tasks_of_account"], out.id, "account deactivated")
    for shop in await _pool(call).fetch(QUERIES["shop_list"], out.id, call.tenant):
        await _woo_disconnect(call, shop)
    return out


async def _apply_account_patch(call: Call, patch: AccountPatch) -> AccountOut:
    row = await _account(call)
    auth = row["auth_data"]
    if patch.auth_data is not None:
        where = SecretField("marketplace_accounts", "auth_data", str(row["organization_id"]), str(row["id"]))
        auth = _encrypt_fields(_keyring(call), dict(patch.auth_data), where, auth) or None
    merged = {**dict(row), **patch.model_dump(exclude_unset=True, exclude={"auth_data"})}
    updated = await _pool(call).fetchrow(
        QUERIES["account_update"],
        row["id"],
        call.tenant,
        merged["name"],
        auth,
        merged["scopes"],
        merged["metadata"],
        merged["status"],
    )
    assert updated is not None
    return _account_out(updated)


@api.route(
    "POST",
    "/v1/accounts/{account_id}/shops",
    summary="Add a shop to an account",
    scope="integrations:write",
    body=ShopIn,
    response=ShopOut,
    status=201,
    tags=("integrations",),
)
async def create_shop(call: Call) -> ShopOut:
    body = call.body_as(ShopIn)
    account = await _account(call)
    woo_url = body.shop_url if _store_on_shop_url(account["platform"]) else None
    _check_outbound(call, account["platform"], _shop_urls(body.shop_data, woo_url))
    try:
        row = await _pool(call).fetchrow(
            QUERIES["shop_insert"],
            account["organization_id"],
            account["id"],
            account["platform"],
            body.shop_id,
            body.shop_name,
            body.shop_url,
            body.shop_region,
            body.sale_channel_id,
            body.shop_data,
        )
    except asyncpg.UniqueViolationError:
        raise ValidationFailed(f"shop {body.shop_id!r} already exists") from None
    except asyncpg.ForeignKeyViolationError:
        raise _channel_not_found(body.sale_channel_id) from None
    assert row is not None
    return ShopOut.model_validate(dict(await _woo_connect(call, row)))


@api.route(
    "GET",
    "/v1/accounts/{account_id}/shops",
    summary="The account's shops",
    scope=None,
    response=Listing,
    tags=("integrations",),
)
async def list_shops(call: Call) -> Listing:
    account = await _account(call)
    rows = await _pool(call).fetch(QUERIES["shop_list"], account["id"], call.tenant)
    return Listing(items=[ShopOut.model_validate(dict(r)).model_dump(mode="json") for r in rows])


async def _shop(call: Call) -> asyncpg.Record:
    row = await _pool(call).fetchrow(QUERIES["shop_get"], call.path_uuid("shop_id"), call.tenant)
    if row is None:
        raise NotFound(f"shop {call.path('shop_id')} not found")
    return row


@api.route("GET", "/v1/shops/{shop_id}", summary="One shop", scope=None, response=ShopOut, tags=("integrations",))
async def get_shop(call: Call) -> ShopOut:
    return ShopOut.model_validate(dict(await _shop(call)))


@api.route(
    "PATCH",
    "/v1/shops/{shop_id}",
    summary="Update a shop",
    scope="integrations:write",
    body=ShopPatch,
    response=ShopOut,
    tags=("integrations",),
)
async def update_shop(call: Call) -> ShopOut:
    return await _apply_shop_patch(call, call.body_as(ShopPatch))


@api.route(
    "POST",
    "/v1/shops/{shop_id}/deactivate",
    summary="Deactivate a shop",
    scope="integrations:write",
    response=ShopOut,
    tags=("integrations",),
)
async def deactivate_shop(call: Call) -> ShopOut:
    return await _apply_shop_patch(call, ShopPatch(shop_status="inactive"))


def _channel_not_found(channel: str | None) -> NotFound:
    """One answer for a sale channel that does not exist and one of another organization's merchants (the database
    refuses both, schema.sql marketplace_shops_check_sale_channel): nothing tells them apart."""
    return NotFound(f"sale channel {channel!r} not found")


async def _apply_shop_patch(call: Call, patch: ShopPatch) -> ShopOut:
    row = await _shop(call)
    merged = {**dict(row), **patch.model_dump(exclude_unset=True)}
    woo_url = patch.shop_url if _store_on_shop_url(row["platform"]) else None
    _check_outbound(call, row["platform"], _shop_urls(patch.shop_data, woo_url))
    try:
        updated = await _pool(call).fetchrow(
            QUERIES["shop_update"],
            row["id"],
            call.tenant,
            merged["shop_name"],
            merged["shop_url"],
            merged["shop_region"],
            merged["sale_channel_id"],
            merged["shop_data"],
            merged["shop_status"],
        )
    except asyncpg.ForeignKeyViolationError:
        raise _channel_not_found(merged["sale_channel_id"]) from None
    assert updated is not None
    return ShopOut.model_validate(dict(await _woo_reconnect(call, row, updated)))


# ---------------------------------------------------------------------------------------------- WooCommerce webhooks


def _store_changed(before: asyncpg.Record, after: asyncpg.Record) -> bool:
    return _shop_ref(before).extra != _shop_ref(after).extra


async def _woo_reconnect(call: Call, before: asyncpg.Record, after: asyncpg.Record) -> asyncpg.Record:
    """A shop update: unregister from the store it leaves (deactivated, or another store URL), register at the store
    it joins - or again where the last registration failed (any update of the shop retries it)."""
    was, now = before["shop_status"] == "active", after["shop_status"] == "active"
    moved = _store_changed(before, after)
    if was and (not now or moved):
        await _woo_disconnect(call, before)
    failed = str(after["error_message"] or "").startswith(WEBHOOKS_ERROR)
    return await _woo_connect(call, after) if now and (not was or moved or failed) else after


async def _woo_connect(call: Call, shop: asyncpg.Record) -> asyncpg.Record:
    """Register the store's webhooks; the shop row after, with the outcome in ``error_message``."""
    if not _registers_webhooks(shop["platform"]) or shop["shop_status"] != "active":
        return shop
    error = None
    try:
        integration = await _shop_integration(call, shop)
        secret = await _webhook_secret(call, integration)
        register = _woo_client(call, integration, shop).register_webhooks(_delivery_url(call, integration), secret)
        await asyncio.wait_for(register, WOO_WEBHOOK_SECONDS)
        log.info("woocommerce.webhooks_registered", shop_id=str(shop["id"]))
    except (NfsyncError, TimeoutError) as exc:
        error = WEBHOOKS_ERROR + (str(exc) or type(exc).__name__)[:300]
        log.warning("woocommerce.webhooks_failed", shop_id=str(shop["id"]), error=error)
    updated = await _pool(call).fetchrow(QUERIES["shop_webhooks_error"], shop["id"], call.tenant, error)
    return updated or shop


async def _woo_disconnect(call: Call, shop: asyncpg.Record, integration: asyncpg.Record | None = None) -> None:
    """Delete the store's webhooks of this integration; a failure is logged, the disconnection goes on."""
    if not _registers_webhooks(shop["platform"]) or shop["shop_status"] != "active":
        return
    try:
        integration = integration or await _shop_integration(call, shop)
        removed = _woo_client(call, integration, shop).unregister_webhooks(_delivery_url(call, integration))
        count = await asyncio.wait_for(removed, WOO_WEBHOOK_SECONDS)
        log.info("woocommerce.webhooks_removed", shop_id=str(shop["id"]), count=count)
    except (NfsyncError, TimeoutError) as exc:
        log.warning("woocommerce.webhooks_not_removed", shop_id=str(shop["id"]), error=str(exc)[:300])


def _store_on_shop_url(platform: str) -> bool:
    return platform in PLATFORM_PACKAGES and load(platform).shop_url_is_store


def _registers_webhooks(platform: str) -> bool:
    """Platforms whose webhooks nfsync registers through the API when a shop connects (WooCommerce)."""
    return platform in PLATFORM_PACKAGES and hasattr(load(platform).client, "register_webhooks")


def _shop_ref(shop: asyncpg.Record) -> ShopRef:
    """As workers/sync/session.py builds it for a WooCommerce shop: the store URL from shop_data, else shop_url."""
    data = shop["shop_data"] if isinstance(shop["shop_data"], dict) else {}
    store = data.get("store_url") or shop["shop_url"]
    return ShopRef(str(shop["shop_id"]), {"store_url": str(store)} if store else {})


def _woo_client(call: Call, integration: asyncpg.Record, shop: asyncpg.Record) -> WooClient:
    client = call.request.app[API_STATE].clients.client(integration, shop=_shop_ref(shop))
    if not isinstance(client, WooClient):
        raise ValidationFailed(f"shop {shop['shop_id']} is not a WooCommerce store")
    return client


async def _shop_integration(call: Call, shop: asyncpg.Record) -> asyncpg.Record:
    account = await _pool(call).fetchrow(QUERIES["account_get"], shop["account_id"], call.tenant)
    assert account is not None
    return await _integration_by_id(call, account["integration_id"])


async def _integration_by_id(call: Call, integration_id: uuid.UUID) -> asyncpg.Record:
    row = await _pool(call).fetchrow(QUERIES["integration_get"], integration_id, call.tenant)
    assert row is not None
    return row


def _delivery_url(call: Call, integration: asyncpg.Record) -> str:
    return f"{call.request.app[API_STATE].public_base_url}/webhooks/{integration['platform']}/{integration['id']}"


async def _webhook_secret(call: Call, integration: asyncpg.Record) -> Secret:
    """The integration's webhook secret; one is generated (hex: no character the store would entity-encode,
    WC-CORE class-wc-webhook.php generate_signature decodes entities) and stored when it has none."""
    keyring = _keyring(call)
    existing = app_credentials(keyring, integration).values.get("webhook_secret")
    if existing:
        return Secret(str(existing))
    where = SecretField(
        "marketplace_integrations", "webhook_secret", str(integration["organization_id"]), str(integration["id"])
    )
    fresh = Secret(secrets.token_hex(24))
    stored = await _pool(call).fetchrow(
        QUERIES["integration_webhook_secret_init"], integration["id"], call.tenant, keyring.encrypt(fresh, where)
    )
    call.request.app[API_STATE].webhooks.forget(integration["id"])
    if stored is not None:
        return fresh
    return await _webhook_secret(call, await _integration_by_id(call, integration["id"]))  # set concurrently
