"""What each platform package exports as ``PLATFORM``: the pieces the engine and the HTTP service need, under the same
names for every platform. The emulators are elsewhere: ``connectors.base.sandboxes.load_sandbox``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nfsync.connectors.base.client import AppCredentials, BaseClient
from nfsync.connectors.base.listing import ListingRules
from nfsync.connectors.base.models import WebhookEvent

PLATFORM_PACKAGES = ("shopee", "lazada", "tiktok", "woocommerce", "shopify")

WebhookVerifier = Callable[[Mapping[str, str], bytes, AppCredentials, Sequence[str], str], bool]
"""(headers, raw body, app credentials, active webhook secrets, the externally visible URL) -> authentic?"""

WebhookParser = Callable[[Mapping[str, str], bytes], list[WebhookEvent]]
PingRule = Callable[[Mapping[str, str], bytes], bool]
EchoRule = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], bool]


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    client: type[BaseClient]
    verify_webhook: WebhookVerifier
    parse_webhook: WebhookParser
    push_signed_with: str
    """The credential the platform signs its pushes with (``partner_key``, ``app_secret``, or a separate
    ``webhook_secret``); a ``previous_<name>`` is accepted too, for rotation."""
    api_hosts: frozenset[str] | None
    """The platform's published API and auth hosts (an api_base_url must be one of them, https); None for a platform
    on the merchant's own host (WooCommerce: any host with public addresses). connectors/base/outbound.py"""
    is_ping: PingRule | None = None
    """(headers, raw body) -> an unsigned liveness ping the platform sends (answered 200, never stored)."""
    is_echo: EchoRule | None = None
    """(pushed object, its mapping rows) -> the push only reports nfsync's own last write (no work)."""
    shop_url_is_store: bool = False
    """The shop's URL is where its API lives (WooCommerce): a shop row without a store_url uses its shop_url."""
    listing: ListingRules = field(default_factory=ListingRules)
    """What a new listing needs on this platform whatever its category, checked before any call."""


def load(name: str) -> PlatformSpec:
    module = importlib.import_module(f"nfsync.connectors.{name}")
    spec = getattr(module, "PLATFORM", None)
    if not isinstance(spec, PlatformSpec):
        raise LookupError(f"nfsync.connectors.{name} exports no PLATFORM spec")
    return spec


def uses_oauth(name: str) -> bool:
    """Whether the platform authorizes through an OAuth code exchange with tokens (not API keys)."""
    return load(name).client.uses_tokens


def available() -> list[PlatformSpec]:
    """The platforms whose package exports a spec (all four once their connectors land)."""
    specs = []
    for name in PLATFORM_PACKAGES:
        try:
            specs.append(load(name))
        except LookupError:
            continue
    return specs
