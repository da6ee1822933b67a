"""WooCommerce REST API v3 connector."""

from __future__ import annotations

from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.woocommerce import webhooks
from nfsync.connectors.woocommerce.client import Client

# WooCommerce runs on the merchant's own site (WC-DOC "Introduction": https://{store}/wp-json/wc/v3/): no fixed host,
# so any https host with public addresses (connectors/base/outbound.py).
API_HOSTS = None

PLATFORM = PlatformSpec(
    name="woocommerce",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="webhook_secret",
    api_hosts=API_HOSTS,
    is_ping=webhooks.is_ping,
    is_echo=webhooks.is_echo,
    shop_url_is_store=True,
)
