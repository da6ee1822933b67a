"""Shopify GraphQL Admin API (2026-04) connector (issue #19)."""

from __future__ import annotations

from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.shopify import webhooks
from nfsync.connectors.shopify.client import Client

# Every Shopify shop has its own host, <name>.myshopify.com, and the client builds its URL from the shop id, which
# must match operations.SHOP_DOMAIN_PATTERN before any call. No tenant-set api_base_url is needed, so none is
# accepted: the empty set refuses every host but the ones the operator allows (a local sandbox, an egress proxy;
# connectors/base/outbound.py check_url). None would let any public host through.
API_HOSTS: frozenset[str] = frozenset()

PLATFORM = PlatformSpec(
    name="shopify",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="client_secret",
    api_hosts=API_HOSTS,
)

__all__ = ["PLATFORM", "Client"]
