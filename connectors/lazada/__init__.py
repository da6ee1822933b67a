"""Lazada Open Platform connector: ``PLATFORM`` is what the engine, the service and the tests load."""

from __future__ import annotations

from urllib.parse import urlsplit

from connectors.base.client import AppCredentials, ShopRef
from connectors.base.sandbox import SandboxBase, SbShop
from connectors.base.spec import PlatformSpec
from connectors.lazada import webhooks
from connectors.lazada.client import API_BASE_URLS, AUTH_BASE_URL, Client
from connectors.lazada.sandbox import API_PREFIX, Sandbox

__all__ = ["PLATFORM", "Client", "Sandbox"]


def _shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    """A sandbox seller: its venture and the auth server (the sandbox itself, under ``/rest``)."""
    return ShopRef(shop.shop_id, {"region": shop.region.lower(), "auth_base_url": base_url.rstrip("/") + API_PREFIX})


def _webhook_secrets(app: AppCredentials, _sandbox: SandboxBase) -> list[str]:
    """Lazada signs pushes with the app secret."""
    return [app.text("app_secret")]


# Lazada Open Platform hosts (github lazykern/ecommerce-api-docs, data/processed/lazada/guides/developers-guide/
# call-api-with-http-requests/api-endpoint-urls.md: one API host per venture; tokens on auth.lazada.com/rest), the
# client's own table. connectors/base/outbound.py
API_HOSTS = frozenset(urlsplit(url).hostname or "" for url in (*API_BASE_URLS.values(), AUTH_BASE_URL))

PLATFORM = PlatformSpec(
    name="lazada",
    client=Client,
    sandbox=Sandbox,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    sample_app={"app_key": "100001", "app_secret": "sandbox-app-secret-0000000000000000"},
    shop_ref=_shop_ref,
    webhook_secrets=_webhook_secrets,
    api_hosts=API_HOSTS,
)
