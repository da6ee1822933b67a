"""The Lazada emulator (tests, the demo, the benchmarks, chaos), reached through
``connectors.base.sandboxes.load_sandbox("lazada")``; nothing in production imports it."""

from __future__ import annotations

from nfsync.connectors.base.client import ShopRef
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.sandboxes import SandboxSpec
from nfsync.connectors.lazada import PLATFORM
from nfsync.connectors.lazada.sandbox.emulator import API_PREFIX, Sandbox

__all__ = ["SANDBOX", "Sandbox", "shop_ref"]


def shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    """A sandbox seller: its venture and the auth server (the sandbox itself, under ``/rest``)."""
    return ShopRef(shop.shop_id, {"region": shop.region.lower(), "auth_base_url": base_url.rstrip("/") + API_PREFIX})


SANDBOX = SandboxSpec(
    platform=PLATFORM,
    sandbox=Sandbox,
    sample_app={"app_key": "100001", "app_secret": "sandbox-app-secret-0000000000000000"},
    shop_ref=shop_ref,
)
