"""The WooCommerce emulator (tests, the demo, the benchmarks, chaos), reached through
``connectors.base.sandboxes.load_sandbox("woocommerce")``; nothing in production imports it."""

from __future__ import annotations

from nfsync.connectors.base.client import ShopRef
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.sandboxes import SandboxSpec
from nfsync.connectors.woocommerce import PLATFORM
from nfsync.connectors.woocommerce.sandbox.emulator import Sandbox

__all__ = ["SANDBOX", "Sandbox", "shop_ref"]


def shop_ref(shop: SbShop, base_url: str) -> ShopRef:
    """A sandbox store: the shop id as platform id, the store URL ``{base_url}/{shop_id}`` (sandbox multisite)."""
    return ShopRef(platform_shop_id=shop.shop_id, extra={"store_url": f"{base_url.rstrip('/')}/{shop.shop_id}"})


SANDBOX = SandboxSpec(
    platform=PLATFORM,
    sandbox=Sandbox,
    sample_app={
        "consumer_key": "ck_sandbox_0000000000000000000000000000000000",
        "consumer_secret": "cs_sandbox_0000000000000000000000000000000000",
    },
    shop_ref=shop_ref,
)
