"""Shopee Open Platform v2 connector."""

from __future__ import annotations

from connectors.base.client import AppCredentials, ShopRef
from connectors.base.sandbox import SandboxBase, SbShop
from connectors.base.spec import PlatformSpec
from connectors.shopee import webhooks
from connectors.shopee.client import Client
from connectors.shopee.sandbox import Sandbox


def _shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    del base_url  # one API host serves every Shopee shop
    return ShopRef(platform_shop_id=shop.shop_id, extra={"region": shop.region})


def _webhook_secrets(app: AppCredentials, sandbox: SandboxBase) -> list[str]:
    del sandbox  # Shopee signs pushes with the partner key, not with a separate webhook secret
    return [app.text("partner_key")]


# Shopee Open Platform hosts (SHP-DOC developer-guide.20 "Authorization and Authentication" and the API call
# guide: partner.shopeemobile.com live (SG), openplatform.shopee.cn (CN), openplatform.shopee.com.br (BR/US); sandbox
# openplatform.sandbox.test-stable.shopee.sg). An api_base_url must be one of these (connectors/base/outbound.py).
API_HOSTS = frozenset({"partner.shopeemobile.com", "openplatform.shopee.cn", "openplatform.shopee.com.br",
                       "openplatform.sandbox.test-stable.shopee.sg"})  # fmt: skip

PLATFORM = PlatformSpec(
    name="shopee",
    client=Client,
    sandbox=Sandbox,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    sample_app={"partner_id": "2001887", "partner_key": "sandbox-partner-key-0000-0000-0000-not-a-real-key"},
    shop_ref=_shop_ref,
    webhook_secrets=_webhook_secrets,
    api_hosts=API_HOSTS,
)

__all__ = ["PLATFORM", "Client", "Sandbox"]
