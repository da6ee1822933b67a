"""The demo's shops, connected the way a merchant connects them: over the HTTP API with a bearer token.

Shopee, Lazada and TikTok Shop go through OAuth - the API's authorization URL, a code from the platform (the
sandbox's own redirect when its authorization URL answers with one, else ``sandbox.issue_code``), then the API's
callback, which exchanges the code and creates the account and its shop. WooCommerce is connected with API keys:
an account with ``auth_type`` api_key and a shop on the sandbox store's URL. Every shop then gets the CRM sale
channel whose products it lists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from nfsync.connectors.base.errors import NfsyncError
from nfsync.connectors.base.sandbox import SandboxBase, SbShop
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.workers.lab.sandbox_shops import PUBLIC_IDS, integration_config, listing_defaults


class DemoApiError(NfsyncError):
    """A call of the demo to the nfsync API failed."""


@dataclass(frozen=True)
class DemoShop:
    platform: str
    sandbox: SandboxBase
    sb_shop: SbShop
    integration_id: uuid.UUID
    shop_id: uuid.UUID
    connected_by: str  # "oauth redirect", "oauth code" or "api keys"

    @property
    def label(self) -> str:
        return f"{self.platform} {self.sb_shop.shop_id}"


class ApiClient:
    """JSON calls to the demo's API with its bearer token (never shown)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = path if path.startswith("http") else self.base_url + path
        headers = self._headers if url.startswith(self.base_url) else {}
        async with self.session.request(method, url, json=body, headers=headers) as response:
            answer = await response.json(content_type=None) if response.content_length != 0 else None
            if response.status >= 400:
                error = answer.get("error", {}) if isinstance(answer, dict) else {}
                raise DemoApiError(
                    f"{method} {urlsplit(url).path} answered {response.status}: {error.get('message') or answer}"
                )
            return answer


def _app_secrets(platform: str) -> dict[str, str]:
    return {k: v for k, v in load_sandbox(platform).sample_app.items() if k not in PUBLIC_IDS}


async def create_integration(api: ApiClient, sandbox: SandboxBase, rate: int) -> dict[str, Any]:
    """The app's integration: public ids in config, secrets write-only, the sandbox as API host, the demo's rate."""
    platform = sandbox.platform
    body: dict[str, Any] = {
        "name": f"Demo {platform}",
        "platform": platform,
        "config": integration_config(platform, sandbox),
        "credentials": _app_secrets(platform),
        "api_base_url": sandbox.base_url,
        "rate_limit": rate,
    }
    if platform == "woocommerce":
        body["webhook_secret"] = sandbox.webhook_secret
    integration: dict[str, Any] = await api.call("POST", "/v1/integrations", body)
    sandbox.webhook_url = integration["webhook_url"]
    defaults = listing_defaults(sandbox.image_url()).stored()
    await api.call("PUT", f"/v1/listing-profiles/{integration['id']}/defaults", defaults)
    return integration


async def connect(api: ApiClient, sandbox: SandboxBase, *, shop_id: str, channel: str, rate: int) -> DemoShop:
    """Integration, account and shop of one platform, on the CRM sale channel ``channel``."""
    integration = await create_integration(api, sandbox, rate)
    sb_shop = sandbox.add_shop(shop_id, f"Demo {sandbox.platform} shop")
    shop_id = sb_shop.shop_id  # the platform's own id for it (Shopify: a *.myshopify.com domain)
    if load_sandbox(sandbox.platform).client.uses_tokens:
        account_id, how = await _oauth(api, sandbox, integration["id"], shop_id)
    else:
        account_id, how = await _api_keys(api, sandbox, integration["id"], sb_shop), "api keys"
    shops = await api.call("GET", f"/v1/accounts/{account_id}/shops")
    shop = next(s for s in shops["items"] if s["shop_id"] == shop_id)
    await api.call("PATCH", f"/v1/shops/{shop['id']}", {"sale_channel_id": channel})
    return DemoShop(sandbox.platform, sandbox, sb_shop, uuid.UUID(integration["id"]), uuid.UUID(shop["id"]), how)


async def _oauth(api: ApiClient, sandbox: SandboxBase, integration_id: str, shop_id: str) -> tuple[str, str]:
    """The OAuth connect; returns the account id and how the code was obtained."""
    callback = f"{api.base_url}/oauth/callback/{sandbox.platform}"
    query = urlencode({"redirect_uri": callback, "shop": shop_id})
    link = await api.call("GET", f"/v1/integrations/{integration_id}/authorize-url?{query}")
    redirect = await _sandbox_redirect(api.session, sandbox, link["url"], callback)
    if redirect is not None:  # the sandbox approved and sent the merchant back to our callback with a code
        connected = await api.call("GET", redirect)
        return connected["account_id"], "oauth redirect"
    code = sandbox.issue_code(shop_id)  # the platform's consent page is not emulated: approve here
    params = urlencode({"code": code, "state": link["state"], "shop_id": shop_id})
    connected = await api.call("GET", f"{callback}?{params}")
    return connected["account_id"], "oauth code"


async def _sandbox_redirect(
    session: aiohttp.ClientSession, sandbox: SandboxBase, url: str, callback: str
) -> str | None:
    """The callback URL (with code and state) the sandbox's authorization page redirects to; None when the link is
    not the sandbox's or it does not answer with such a redirect. Nothing outside the sandbox is ever called."""
    if not url.startswith(sandbox.base_url + "/"):
        return None
    async with session.get(url, allow_redirects=False) as response:
        location = response.headers.get("Location", "")
    if response.status in (301, 302, 303, 307) and location.startswith(callback) and "code=" in location:
        return location
    return None


async def _api_keys(api: ApiClient, sandbox: SandboxBase, integration_id: str, sb_shop: SbShop) -> str:
    """WooCommerce: an api_key account holding the store's REST keys, and the store as its shop."""
    spec = load_sandbox(sandbox.platform)
    account = await api.call(
        "POST",
        f"/v1/integrations/{integration_id}/accounts",
        {
            "name": f"Demo store {sb_shop.shop_id}",
            "platform_account_id": sb_shop.shop_id,
            "auth_type": "api_key",
            "auth_data": dict(spec.sample_app),
        },
    )
    store_url = spec.shop_ref(sb_shop, sandbox.base_url).extra["store_url"]
    await api.call(
        "POST",
        f"/v1/accounts/{account['id']}/shops",
        {"shop_id": sb_shop.shop_id, "shop_name": sb_shop.name, "shop_url": store_url},
    )
    return str(account["id"])
