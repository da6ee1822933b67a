"""TikTok Shop Partner API (version 202309 and later) connector."""

from __future__ import annotations

from nfsync.connectors.base.spec import PlatformSpec
from nfsync.connectors.tiktok import webhooks
from nfsync.connectors.tiktok.client import Client

# TikTok Shop Partner API hosts (TTS-DOC "common parameters" and "authorization overview 202407":
# open-api.tiktokglobalshop.com for the API, auth.tiktok-shops.com for tokens). connectors/base/outbound.py
API_HOSTS = frozenset({"open-api.tiktokglobalshop.com", "auth.tiktok-shops.com"})

PLATFORM = PlatformSpec(
    name="tiktok",
    client=Client,
    verify_webhook=webhooks.verify,
    parse_webhook=webhooks.parse,
    push_signed_with="app_secret",
    api_hosts=API_HOSTS,
)

__all__ = ["PLATFORM", "Client"]
