"""The Shopee emulator (tests, the demo, the benchmarks, chaos), reached through
``connectors.base.sandboxes.load_sandbox("shopee")``; nothing in production imports it."""

from __future__ import annotations

from nfsync.connectors.base.client import ShopRef
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.sandboxes import SandboxSpec
from nfsync.connectors.shopee import PLATFORM
from nfsync.connectors.shopee.sandbox.emulator import Sandbox

__all__ = ["SANDBOX", "Sandbox", "shop_ref"]


def shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    del base_url  # one API host serves every Shopee shop
    return ShopRef(platform_shop_id=shop.shop_id, extra={"region": shop.region})


SANDBOX = SandboxSpec(
    platform=PLATFORM,
    sandbox=Sandbox,
    sample_app={"partner_id": "2001887", "partner_key": "sandbox-partner-key-0000-0000-0000-not-a-real-key"},
    shop_ref=shop_ref,
)
