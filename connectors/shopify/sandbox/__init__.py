"""The Shopify emulator (tests, the demo, the benchmarks, chaos), reached through
``connectors.base.sandboxes.load_sandbox("shopify")``; nothing in production imports it.

``SANDBOX`` needs ``connectors.shopify.PLATFORM`` (the client's): it is built on first access, so the emulator
modules import without it (``nfsync.connectors.shopify.sandbox.emulator``)."""

from __future__ import annotations

import importlib
from typing import Any

from nfsync.connectors.base.client import ShopRef
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.sandboxes import SandboxSpec
from nfsync.connectors.shopify.sandbox.emulator import Sandbox

__all__ = ["SAMPLE_APP", "SANDBOX", "Sandbox", "shop_ref"]

SAMPLE_APP = {
    "client_id": "sandbox0client0id0000000000000000",
    "client_secret": "shpss_sandbox0client0secret00000000",  # a fake secret for the local sandbox
}


def shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    """A sandbox shop as a client sees it: its domain as the platform shop id, ``shop_domain`` (what
    ``X-Shopify-Shop-Domain`` and the OAuth callback's ``shop`` carry) and ``store_url`` = ``{base_url}/{domain}``,
    below which the shop's ``/admin/...`` paths live (``https://{domain}`` on Shopify)."""
    domain = shop.extra["shop_domain"]
    return ShopRef(domain, {"shop_domain": domain, "store_url": f"{base_url.rstrip('/')}/{domain}"})


def __getattr__(name: str) -> Any:
    if name != "SANDBOX":
        raise AttributeError(name)
    platform = importlib.import_module("nfsync.connectors.shopify").PLATFORM  # the client's: lands separately
    spec = SandboxSpec(platform=platform, sandbox=Sandbox, sample_app=SAMPLE_APP, shop_ref=shop_ref)
    globals()["SANDBOX"] = spec
    return spec
