"""OAuth connect: the authorization URL of an integration, and the callback that exchanges the code at the
platform, stores the encrypted tokens and creates (or re-activates) the account and its shops.

``state`` is ``<integration id>.<expiry>.<nonce>.<mac>``: an HMAC with a key derived from the primary secret key,
so a callback can only complete a connect this service started, within the hour. WooCommerce is not connected
this way (its keys are entered through the accounts API with ``auth_type`` api_key).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connectors.base.client import ShopRef
from connectors.base.errors import DependencyUnavailable, NotFound, TaskError, ValidationFailed
from connectors.base.models import TokenPair
from workers.api.framework import Api, Call
from workers.api.integrations import KEYRING_KEY, integration_for_path
from workers.crypto import Keyring
from workers.db.queries import QUERIES
from workers.logs import get_logger
from workers.marketplaces import ClientFactory
from workers.tokens import store_pair

log = get_logger(__name__)
api = Api()
FACTORY_KEY: web.AppKey[ClientFactory] = web.AppKey("client_factory")
SYSTEM_POOL_KEY: web.AppKey[Any] = web.AppKey("system_pool")
STATE_TTL = 3600
OAUTH_PLATFORMS = ("shopee", "lazada", "tiktok")
_SHOP_ID = re.compile(r"[0-9]{1,20}")  # Shopee names the shop in its redirect; a numeric id (SHP-DOC auth)


class AuthorizeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redirect_uri: str = Field(min_length=8, max_length=500, pattern=r"^https?://")


class AuthorizeUrl(BaseModel):
    url: str
    state: str


class Connected(BaseModel):
    integration_id: uuid.UUID
    account_id: uuid.UUID
    shops: list[str]


def sign_state(keyring: Keyring, integration_id: uuid.UUID, now: float | None = None) -> str:
    issued = time.time() if now is None else now
    payload = f"{integration_id}.{int(issued + STATE_TTL)}.{secrets.token_urlsafe(9)}"
    mac = hmac.new(keyring.derive("oauth-state"), payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{mac}"


def verify_state(keyring: Keyring, state: str) -> uuid.UUID:
    parts = state.split(".")
    if len(parts) != 4:
        raise ValidationFailed("state is malformed")
    payload, mac = ".".join(parts[:3]), parts[3]
    expected = hmac.new(keyring.derive("oauth-state"), payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(expected, mac):
        raise ValidationFailed("state was not issued by this service")
    if int(parts[1]) < time.time():
        raise ValidationFailed("state has expired; start the connect again")
    return uuid.UUID(parts[0])


def _keyring(call: Call) -> Keyring:
    keyring = call.request.app[KEYRING_KEY]
    if keyring is None:
        raise DependencyUnavailable("NFSYNC_SECRET_KEYS is not set")
    return keyring


@api.route("GET", "/v1/integrations/{integration_id}/authorize-url", summary="Where to send the merchant to "
           "approve the app", scope="integrations:write", query=AuthorizeQuery, response=AuthorizeUrl,
           tags=("integrations",))  # fmt: skip
async def authorize_url(call: Call) -> AuthorizeUrl:
    integration = await integration_for_path(call)
    if integration["platform"] not in OAUTH_PLATFORMS:
        raise ValidationFailed(f"{integration['platform']} is connected with API keys, not OAuth")
    state = sign_state(_keyring(call), integration["id"])
    client = call.request.app[FACTORY_KEY].client(integration)
    return AuthorizeUrl(url=client.authorize_url(call.query.redirect_uri, state), state=state)


@api.route("GET", "/oauth/callback/{platform}", summary="The platform's redirect after approval: exchanges the "
           "code and connects the account and its shops", scope=None, public=True, response=Connected,
           tags=("integrations",))  # fmt: skip
async def callback(call: Call) -> Connected:
    params = dict(call.request.query)
    code, state = params.pop("code", ""), params.pop("state", "")
    if not code or not state:
        raise ValidationFailed("the callback needs code and state")
    integration_id = verify_state(_keyring(call), state)
    pool = call.request.app[SYSTEM_POOL_KEY]
    integration = await pool.fetchrow(QUERIES["integration_get"], integration_id, None)
    if integration is None or integration["platform"] != call.path("platform") or integration["status"] != "active":
        raise NotFound("no such active integration for this platform")
    if params.get("shop_id") and not _SHOP_ID.fullmatch(params["shop_id"]):
        raise ValidationFailed("shop_id must be the platform's numeric shop id")
    shop = ShopRef(params["shop_id"]) if params.get("shop_id") else None  # the shop the redirect names, if any
    try:
        pair = await call.request.app[FACTORY_KEY].client(integration, shop=shop).exchange_code(code, **params)
    except TaskError as exc:  # the platform's (or any host's) words stay in the log: this caller is unauthenticated
        log.warning("oauth.exchange_failed", integration_id=str(integration_id), error=str(exc)[:300])
        raise ValidationFailed("the platform did not accept this authorization; start the connect again") from None
    return await _connect(call, integration, pair, params)


async def _connect(call: Call, integration: Any, pair: TokenPair, params: dict[str, str]) -> Connected:
    shops = pair.shop_ids or ([params["shop_id"]] if params.get("shop_id") else [])
    account_key = pair.platform_account_id or (shops[0] if shops else None)
    if account_key is None:
        raise ValidationFailed("the platform returned no account or shop for this authorization")
    ciphers = pair.extra.get("shop_ciphers") or {}
    org, platform = integration["organization_id"], integration["platform"]
    async with call.request.app[SYSTEM_POOL_KEY].acquire() as conn, conn.transaction():
        account = await conn.fetchval(QUERIES["oauth_account_upsert"], org, integration["id"],
                                      f"{platform} {account_key}", platform, str(account_key))  # fmt: skip
        await store_pair(conn, _keyring(call), account, str(org), pair)
        for shop in shops:
            data = {"shop_cipher": ciphers[shop]} if shop in ciphers else None
            await conn.execute(
                QUERIES["oauth_shop_upsert"], org, account, platform, str(shop), f"{platform} {shop}", data
            )
    return Connected(integration_id=integration["id"], account_id=account, shops=[str(s) for s in shops])
