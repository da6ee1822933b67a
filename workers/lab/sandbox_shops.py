"""Connect an in-process sandbox shop to nfsync's tables - integration (public ids in config, secrets encrypted),
account with its tokens, shop on a sale channel - without the OAuth round trip. For the tests and the sync
benchmark; the demo connects through the real OAuth flow instead."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from nfsync.connectors.base.listing import Brand, LogisticsChannel, Package
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.sandbox import SandboxBase, SbShop
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.workers.crypto import Keyring, SecretField
from nfsync.workers.lab.queries import QUERIES
from nfsync.workers.listing import store as profile_store
from nfsync.workers.listing.profiles import ListingProfile
from nfsync.workers.tokens import store_pair

PUBLIC_IDS = ("partner_id", "app_key", "client_id")  # WooCommerce's consumer_key is half of an API key pair: secret
DEFAULT_CATEGORY = "100100"  # a numeric category id every sandbox accepts


def listing_defaults(image_url: str) -> ListingProfile:
    """What every platform's rules ask of a new listing, as an integration's listing defaults (issue #16); the image
    is one a sandbox serves (``SandboxBase.image_url``), fetched and uploaded like a merchant's."""
    return ListingProfile(
        brand=Brand(id="0", name="No brand"),
        package=Package(weight_kg=Decimal("0.5"), length_cm=Decimal(20), width_cm=Decimal(15), height_cm=Decimal(5)),
        logistics=[LogisticsChannel(id="80001")],
        images=[image_url],
    )


LISTING_DEFAULTS = listing_defaults("https://images.example.com/nfsync-lab/default.png")
"""The defaults with an image on no sandbox: for tests that build drafts without any call."""


@dataclass(frozen=True)
class ConnectedShop:
    platform: str
    sandbox: SandboxBase
    sb_shop: SbShop
    integration_id: uuid.UUID
    account_id: uuid.UUID
    shop_id: uuid.UUID


def integration_config(platform: str, sandbox: SandboxBase, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Public app ids, the sandbox's auth host and a default category: what an integration row needs."""
    spec = load_sandbox(platform)
    config: dict[str, Any] = {k: v for k, v in spec.sample_app.items() if k in PUBLIC_IDS}
    config["catalog"] = {"default_category_id": DEFAULT_CATEGORY}
    if platform in ("lazada", "tiktok"):
        probe = SbShop("0", "probe", extra={"shop_cipher": "-"})
        config["auth_base_url"] = spec.shop_ref(probe, sandbox.base_url).extra["auth_base_url"]
    config.update(extra or {})
    return config


async def create_integration(
    conn: Any,
    keyring: Keyring,
    org: uuid.UUID,
    sandbox: SandboxBase,
    *,
    name: str,
    rate_limit: int | None = None,
    config: dict[str, Any] | None = None,
) -> uuid.UUID:
    platform = sandbox.platform
    spec = load_sandbox(platform)
    integration_id = uuid.uuid4()
    secrets = {k: v for k, v in spec.sample_app.items() if k not in PUBLIC_IDS}
    where = SecretField("marketplace_integrations", "credentials", str(org), str(integration_id))
    hook = None
    if load_sandbox(platform).platform.push_signed_with == "webhook_secret" and sandbox.webhook_secret:
        hook_field = SecretField("marketplace_integrations", "webhook_secret", str(org), str(integration_id))
        hook = keyring.encrypt(sandbox.webhook_secret, hook_field)
    await conn.execute(
        QUERIES["integration_insert"],
        integration_id,
        org,
        name,
        None,
        platform,
        integration_config(platform, sandbox, config),
        keyring.encrypt_fields(dict(secrets), where),
        None,
        sandbox.base_url,
        hook,
        rate_limit,
        None,
    )
    defaults = listing_defaults(sandbox.image_url())
    await profile_store.save(conn, org, profile_store.Scope(integration_id), defaults, "api")
    return integration_id


async def connect_shop(
    pool: asyncpg.Pool,
    keyring: Keyring,
    org: uuid.UUID,
    integration_id: uuid.UUID,
    sandbox: SandboxBase,
    *,
    platform_shop_id: str,
    channel_id: str | None,
) -> ConnectedShop:
    """A sandbox shop with fresh tokens, recorded as an account and a shop of the integration."""
    platform = sandbox.platform
    spec = load_sandbox(platform)
    access, refresh = f"acc-{uuid.uuid4().hex}", f"ref-{uuid.uuid4().hex}"
    sb_shop = sandbox.add_shop(
        platform_shop_id, f"{platform} shop {platform_shop_id}", access_token=access, refresh_token=refresh
    )
    platform_shop_id = sb_shop.shop_id  # the platform's own id for it (Shopify: a *.myshopify.com domain)
    ref = spec.shop_ref(sb_shop, sandbox.base_url)
    data = {k: v for k, v in ref.extra.items() if k in ("shop_cipher", "store_url")}
    token_based = spec.client.uses_tokens
    async with pool.acquire() as conn, conn.transaction():
        account = await conn.fetchval(
            QUERIES["sandbox_account_insert"],
            org,
            integration_id,
            f"{platform} {platform_shop_id}",
            platform,
            platform_shop_id,
            "oauth" if token_based else "api_key",
        )
        if token_based:
            pair = TokenPair(
                access_token=Secret(access),
                refresh_token=Secret(refresh),
                access_expires_at=datetime.now(UTC) + timedelta(hours=4),
            )
            await store_pair(conn, keyring, account, str(org), pair)
        shop = await conn.fetchval(
            QUERIES["sandbox_shop_insert"],
            org,
            account,
            platform,
            platform_shop_id,
            sb_shop.name,
            ref.extra.get("store_url"),
            sb_shop.region,
            channel_id,
            data or None,
        )
    return ConnectedShop(platform, sandbox, sb_shop, integration_id, account, shop)
