"""WooCommerce REST API v3 connector."""

from __future__ import annotations

from connectors.base.client import AppCredentials, ShopRef
from connectors.base.sandbox import SandboxBase, SbShop
from connectors.base.spec import PlatformSpec
from connectors.woocommerce import webhooks
from connectors.woocommerce.client import Client
from connectors.woocommerce.sandbox import Sandbox


def shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    """A sandbox store: the shop id as platform id, the store URL ``{base_url}/{shop_id}`` (sandbox multisite)."""
    return ShopRef(platform_shop_id=shop.shop_id, extra={"store_url": f"{base_url.rstrip('/')}/{shop.shop_id}"})


def webhook_secrets(app: AppCredentials, sandbox: SandboxBase) -> list[str]:
    """WooCommerce signs with the webhook's own secret, not with the API keys."""
    return [sandbox.webhook_secret] if sandbox.webhook_secret else []


# WooCommerce runs on the merchant's own site (WC-DOC "Introduction": https://{store}/wp-json/wc/v3/): no fixed host,
# so any https host with public addresses (connectors/base/outbound.py).
API_HOSTS = None

PLATFORM = PlatformSpec(
    name="woocommerce",
    client=Client,
    sandbox=Sandbox,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    sample_app={
        "consumer_key": "ck_sandbox_0000000000000000000000000000000000",
        "consumer_secret": "cs_sandbox_0000000000000000000000000000000000",
    },
    shop_ref=shop_ref,
    webhook_secrets=webhook_secrets,
    api_hosts=API_HOSTS,
)
