"""TikTok Shop Partner API (version 202309 and later) connector."""

from __future__ import annotations

from connectors.base.client import AppCredentials, ShopRef
from connectors.base.sandbox import SandboxBase, SbShop
from connectors.base.spec import PlatformSpec
from connectors.tiktok import webhooks
from connectors.tiktok.client import Client
from connectors.tiktok.sandbox import Sandbox


def _shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    """A sandbox shop as a client sees it: its cipher, its region (hence currency), the auth host (the sandbox)."""
    extra = {"shop_cipher": shop.extra["shop_cipher"], "region": shop.region, "auth_base_url": base_url}
    return ShopRef(shop.shop_id, extra)


def _webhook_secrets(app: AppCredentials, _sandbox: SandboxBase) -> list[str]:
    """TikTok signs pushes with the app secret (no separate webhook secret)."""
    return [app.text("app_secret")]


# TikTok Shop Partner API hosts (TTS-DOC "common parameters" and "authorization overview 202407":
# open-api.tiktokglobalshop.com for the API, auth.tiktok-shops.com for tokens). connectors/base/outbound.py
API_HOSTS = frozenset({"open-api.tiktokglobalshop.com", "auth.tiktok-shops.com"})

PLATFORM = PlatformSpec(
    name="tiktok",
    client=Client,
    sandbox=Sandbox,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    sample_app={"app_key": "sandboxappkey0000", "app_secret": "sandbox-app-secret-00000000000000000000"},
    shop_ref=_shop_ref,
    webhook_secrets=_webhook_secrets,
    api_hosts=API_HOSTS,
)

__all__ = ["PLATFORM", "Client", "Sandbox"]
