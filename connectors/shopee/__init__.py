"""Shopee Open Platform v2 connector."""

from __future__ import annotations

from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.shopee import webhooks
from nfsync.connectors.shopee.client import Client

# Shopee Open Platform hosts (SHP-DOC developer-guide.20 "Authorization and Authentication" and the API call
# guide: partner.shopeemobile.com live (SG), openplatform.shopee.cn (CN), openplatform.shopee.com.br (BR/US); sandbox
# openplatform.sandbox.test-stable.shopee.sg). An api_base_url must be one of these (connectors/base/outbound.py).
API_HOSTS = frozenset(
    {
        "partner.shopeemobile.com",
        "openplatform.shopee.cn",
        "openplatform.shopee.com.br",
        "openplatform.sandbox.test-stable.shopee.sg",
    }
)

PLATFORM = PlatformSpec(
    name="shopee",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="partner_key",
    api_hosts=API_HOSTS,
)

__all__ = ["PLATFORM", "Client"]
