"""The TikTok Shop emulator (tests, the demo, the benchmarks, chaos), reached through
``connectors.base.sandboxes.load_sandbox("tiktok")``; nothing in production imports it."""

from __future__ import annotations

from nfsync.connectors.base.client import ShopRef
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.sandboxes import SandboxSpec
from nfsync.connectors.tiktok import PLATFORM
from nfsync.connectors.tiktok.sandbox.emulator import Sandbox

__all__ = ["SANDBOX", "Sandbox", "shop_ref"]


def shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    """A sandbox shop as a client sees it: its cipher, its region (hence currency), the auth host (the sandbox)."""
    extra = {"shop_cipher": shop.extra["shop_cipher"], "region": shop.region, "auth_base_url": base_url}
    return ShopRef(shop.shop_id, extra)


SANDBOX = SandboxSpec(
    platform=PLATFORM,
    sandbox=Sandbox,
    sample_app={"app_key": "sandboxappkey0000", "app_secret": "sandbox-app-secret-00000000000000000000"},
    shop_ref=shop_ref,
)
