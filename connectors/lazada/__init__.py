"""Lazada Open Platform connector: ``PLATFORM`` is what the engine, the service and the tests load."""

from __future__ import annotations

from urllib.parse import urlsplit

from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.lazada import webhooks
from nfsync.connectors.lazada.client import API_BASE_URLS, AUTH_BASE_URL, Client

__all__ = ["PLATFORM", "Client"]


# Lazada Open Platform hosts (github lazykern/ecommerce-api-docs, data/processed/lazada/guides/developers-guide/
# call-api-with-http-requests/api-endpoint-urls.md: one API host per venture; tokens on auth.lazada.com/rest), the
# client's own table. connectors/base/outbound.py
API_HOSTS = frozenset(urlsplit(url).hostname or "" for url in (*API_BASE_URLS.values(), AUTH_BASE_URL))

PLATFORM = PlatformSpec(
    name="lazada",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="app_secret",
    api_hosts=API_HOSTS,
)
