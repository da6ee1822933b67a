"""OAuth connect: the authorization URL of an integration, and the callback that exchanges the code at the
platform, stores the encrypted tokens and creates (or re-activates) the account and its shops.

``state`` is ``<integration id>.<expiry>.<nonce>.<mac>``: an HMAC with a key derived from the primary secret key,
so a callback can only complete a connect this service started. Each state is also recorded (``oauth_states``)
with the token that asked for it: the callback uses it once, within 10 minutes, and not after that token was
revoked; the ``redirect_uri`` must be on an allowed origin. WooCommerce is not connected this way: its keys are the
integration's credentials and a store is connected by adding its shop (workers/api/integrations.py, which also
registers the store's webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from nfsync.connectors.base.client import ShopRef
from nfsync.connectors.base.errors import NotFound, TaskError, ValidationFailed
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.spec import PLATFORM_PACKAGES, load, uses_oauth
from nfsync.workers.api.framework import Api, Call
from nfsync.workers.api.integrations import integration_for_path
from nfsync.workers.api.state import API_STATE
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.errors import DependencyUnavailable
from nfsync.workers.logs import get_logger
from nfsync.workers.tokens import store_pair

log = get_logger(__name__)
api = Api()
STATE_TTL = 600  # seconds; Shopee's authorize link itself is valid 5 minutes (marketplaces reference, SHP-DOC auth)
_SHOP_ID = re.compile(r"[0-9]{1,20}")  # Shopee names the shop in its redirect; a numeric id (SHP-DOC auth)


class AuthorizeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redirect_uri: str = Field(min_length=8, max_length=500, pattern=r"^https?://")
    shop: str | None = Field(None, min_length=1, max_length=255, description="The shop to authorize (Shopify's domain)")


class AuthorizeUrl(BaseModel):
    url: str
    state: str


class Connected(BaseModel):
    integration_id: uuid.UUID
    account_id: uuid.UUID
    shops: list[str]


def sign_state(keyring: Keyring, integration_id: uuid.UUID, now: float | None = None, nonce: str | None = None) -> str:
    issued = time.time() if now is None else now
    payload = f"{integration_id}.{int(issued + STATE_TTL)}.{nonce or secrets.token_urlsafe(12)}"
    mac = hmac.new(keyring.derive("oauth-state"), payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{mac}"


def _nonce(state: str) -> str:
    return state.split(".")[2]


def redirect_origins(settings: Settings) -> frozenset[str]:
    """Where a merchant may be sent back to: the configured origins and the API's own."""
    configured = [part.strip() for part in settings.oauth_redirect_origins.split(",") if part.strip()]
    return frozenset(_origin(url) for url in [*configured, settings.public_base_url])


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


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
    keyring = call.request.app[API_STATE].keyring
    if keyring is None:
        raise DependencyUnavailable("NFSYNC_SECRET_KEYS is not set")
    return keyring


@api.route(
    "GET",
    "/v1/integrations/{integration_id}/authorize-url",
    summary="Where to send the merchant to approve the app",
    scope="integrations:write",
    query=AuthorizeQuery,
    response=AuthorizeUrl,
    tags=("integrations",),
)
async def authorize_url(call: Call) -> AuthorizeUrl:
    integration = await integration_for_path(call)
    if integration["platform"] not in PLATFORM_PACKAGES or not uses_oauth(integration["platform"]):
        raise ValidationFailed(f"{integration['platform']} is connected with API keys, not OAuth")
    query = call.query_as(AuthorizeQuery)
    redirect = query.redirect_uri
    named = (
        load(integration["platform"]).client.callback_shop({"shop": query.shop, "shop_id": query.shop})
        if (query.shop)
        else None
    )
    if _origin(redirect) not in call.request.app[API_STATE].redirect_origins:
        raise ValidationFailed("redirect_uri must be on an origin in NFSYNC_OAUTH_REDIRECT_ORIGINS (or the API's own)")
    nonce = secrets.token_urlsafe(12)
    state = sign_state(_keyring(call), integration["id"], nonce=nonce)
    assert call.principal is not None
    await call.request.app[API_STATE].system_pool.execute(
        QUERIES["oauth_state_insert"],
        nonce,
        integration["organization_id"],
        integration["id"],
        call.principal.token_id,
        redirect,
        float(STATE_TTL),
    )
    client = call.request.app[API_STATE].clients.client(integration, shop=ShopRef(named) if named else None)
    return AuthorizeUrl(url=client.authorize_url(redirect, state), state=state)


@api.route(
    "GET",
    "/oauth/callback/{platform}",
    summary="The platform's redirect after approval: exchanges the code and connects the account and its shops",
    scope=None,
    public=True,
    response=Connected,
    tags=("integrations",),
)
async def callback(call: Call) -> Connected:
    params = dict(call.request.query)
    code, state = params.pop("code", ""), params.pop("state", "")
    if not code or not state:
        raise ValidationFailed("the callback needs code and state")
    if params.get("shop_id") and not _SHOP_ID.fullmatch(params["shop_id"]):
        raise ValidationFailed("shop_id must be the platform's numeric shop id")
    query = {**params, "code": code, "state": state}
    integration_id = verify_state(_keyring(call), state)
    pool = call.request.app[API_STATE].system_pool
    if await pool.fetchrow(QUERIES["oauth_state_usable"], _nonce(state), integration_id) is None:
        raise ValidationFailed("state is unknown, used, expired, or its token was revoked; start the connect again")
    integration = await pool.fetchrow(QUERIES["integration_get"], integration_id, None)
    if integration is None or integration["platform"] != call.path("platform") or integration["status"] != "active":
        raise NotFound("no such active integration for this platform")
    client_type = load(integration["platform"]).client
    named = client_type.callback_shop(params)  # the shop the redirect names, if any
    client = call.request.app[API_STATE].clients.client(integration, shop=ShopRef(named) if named else None)
    if not client.verify_callback(query):
        raise ValidationFailed("the callback's signature does not verify; start the connect again")
    try:
        pair = await client.exchange_code(code, **params)
    except TaskError as exc:  # the platform's (or any host's) words stay in the log: this caller is unauthenticated
        log.warning("oauth.exchange_failed", integration_id=str(integration_id), error=str(exc)[:300])
        raise ValidationFailed("the platform did not accept this authorization; start the connect again") from None
    return await _connect(call, integration, pair, params, _nonce(state))


def _shop_data(pair: TokenPair, shop: str) -> dict[str, Any] | None:
    """What the token answer says about one shop that its client needs later: TikTok's ``shop_cipher``, Lazada's
    ``venture`` (the country whose API host serves that seller)."""
    data = dict((pair.extra.get("shop_data") or {}).get(shop) or {})
    ciphers = pair.extra.get("shop_ciphers") or {}
    if shop in ciphers:
        data["shop_cipher"] = ciphers[shop]
    return data or None


async def _connect(call: Call, integration: Any, pair: TokenPair, params: dict[str, str], nonce: str) -> Connected:
    shops = pair.shop_ids or ([params["shop_id"]] if params.get("shop_id") else [])
    account_key = pair.platform_account_id or (shops[0] if shops else None)
    if account_key is None:
        raise ValidationFailed("the platform returned no account or shop for this authorization")
    org, platform = integration["organization_id"], integration["platform"]
    async with call.request.app[API_STATE].system_pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(QUERIES["oauth_state_consume"], nonce) is None:  # a concurrent callback won
            raise ValidationFailed("state was already used; start the connect again")
        account = await conn.fetchval(
            QUERIES["oauth_account_upsert"],
            org,
            integration["id"],
            f"{platform} {account_key}",
            platform,
            str(account_key),
        )
        await store_pair(conn, _keyring(call), account, str(org), pair)
        for shop in shops:
            data = _shop_data(pair, str(shop))
            await conn.execute(
                QUERIES["oauth_shop_upsert"], org, account, platform, str(shop), f"{platform} {shop}", data
            )
    return Connected(integration_id=integration["id"], account_id=account, shops=[str(s) for s in shops])
