"""Connector clients built from what the database holds: an integration's public config plus its decrypted
credentials, one aiohttp session per process and platform, the global limiter, the account's token store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import asyncpg

from nfsync.connectors.base.auth import RateLimiter, TokenProvider
from nfsync.connectors.base.client import AppCredentials, BaseClient, ClientSettings, ShopRef
from nfsync.connectors.base.errors import ConfigError
from nfsync.connectors.base.outbound import GuardedResolver, OutboundPolicy, check_url
from nfsync.connectors.base.spec import load
from nfsync.workers.crypto import Keyring, SecretField
from nfsync.workers.tokens import AccountTokenProvider


def app_credentials(keyring: Keyring | None, integration: asyncpg.Record | Mapping[str, Any]) -> AppCredentials:
    """The app's credentials under the platform's names: string values of ``config`` (public ids) and the
    decrypted ``credentials`` fields and ``webhook_secret``."""
    values: dict[str, str] = {k: v for k, v in (integration["config"] or {}).items() if isinstance(v, str)}
    org, row_id = str(integration["organization_id"]), str(integration["id"])
    if keyring is not None and integration["credentials"]:
        where = SecretField("marketplace_integrations", "credentials", org, row_id)
        values.update({k: s.reveal() for k, s in keyring.decrypt_fields(integration["credentials"], where).items()})
    if keyring is not None and integration["webhook_secret"]:
        where = SecretField("marketplace_integrations", "webhook_secret", org, row_id)
        values["webhook_secret"] = keyring.decrypt(integration["webhook_secret"], where).reveal()
    return AppCredentials(values)


def webhook_secrets(platform: str, app: AppCredentials) -> list[str]:
    field = load(platform).push_signed_with
    return [str(v) for k, v in app.values.items() if k in (field, f"previous_{field}")]


SHOP_EXTRA_KEYS = ("shop_cipher", "venture", "warehouse_id", "store_url", "currency", "auth_base_url")


def shop_ref(row: asyncpg.Record | Mapping[str, Any]) -> ShopRef:
    """The ShopRef a client needs, from a marketplace_shops row joined with its integration (sync_shop_context)."""
    data = row["shop_data"] if isinstance(row["shop_data"], dict) else {}
    config = row["config"] if isinstance(row["config"], dict) else {}
    extra = {k: str(data[k]) for k in SHOP_EXTRA_KEYS if data.get(k) is not None}
    if config.get("auth_base_url") and "auth_base_url" not in extra:
        extra["auth_base_url"] = str(config["auth_base_url"])
    if row["shop_region"]:
        extra["region"] = str(row["shop_region"])
    if load(row["platform"]).shop_url_is_store and "store_url" not in extra and row["shop_url"]:
        extra["store_url"] = str(row["shop_url"])
    return ShopRef(str(row["platform_shop_id"]), extra)


class ClientFactory:
    """One aiohttp session per platform for this process; clients are cheap views over it. Every session resolves
    through the outbound policy, and every URL a tenant can set (api_base_url, a shop's auth_base_url or store_url)
    is checked against the platform's hosts before a client is made (connectors/base/outbound.py)."""

    def __init__(
        self,
        keyring: Keyring | None,
        limiter: RateLimiter,
        read_timeout: float = 30.0,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self._keyring = keyring
        self._limiter = limiter
        self._read_timeout = read_timeout
        self._outbound = outbound or OutboundPolicy()
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def client(
        self,
        integration: asyncpg.Record | Mapping[str, Any],
        *,
        shop: ShopRef | None = None,
        tokens: TokenProvider | None = None,
    ) -> BaseClient:
        platform = integration["platform"]
        spec = load(platform)
        self._check_urls(spec.api_hosts, integration["api_base_url"], shop)
        session = self._sessions.get(platform)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._outbound))
            session = self._sessions[platform] = aiohttp.ClientSession(connector=connector)
        settings = ClientSettings(
            base_url=integration["api_base_url"] or "",
            rate_limit=integration["rate_limit"],
            read_timeout=self._read_timeout,
            outbound=self._outbound,
        )
        return spec.client(
            settings,
            app_credentials(self._keyring, integration),
            shop,
            session=session,
            tokens=tokens,
            limiter=self._limiter,
        )

    def shop_client(self, pool: asyncpg.Pool, row: asyncpg.Record | Mapping[str, Any]) -> BaseClient:
        """A shop's client from its ``sync_shop_context`` row: its account's tokens (refreshed and stored as they
        change) for an OAuth platform."""
        return self.shop_client_and_tokens(pool, row)[0]

    def shop_client_and_tokens(
        self, pool: asyncpg.Pool, row: asyncpg.Record | Mapping[str, Any]
    ) -> tuple[BaseClient, AccountTokenProvider | None]:
        """``shop_client``, and the account's token provider bound to it (None for a platform without tokens)."""
        tokens = None
        if load(row["platform"]).client.uses_tokens:
            if self._keyring is None:
                raise ConfigError("NFSYNC_SECRET_KEYS is not set: account tokens cannot be decrypted")
            tokens = AccountTokenProvider(pool, self._keyring, row["account_id"])
        client = self.client(row, shop=shop_ref(row), tokens=tokens)
        if tokens is not None:
            tokens.bind(client.refresh_access)
        return client, tokens

    def _check_urls(self, api_hosts: frozenset[str] | None, base_url: str | None, shop: ShopRef | None) -> None:
        if base_url:
            check_url(base_url, api_hosts, self._outbound)
        for name in ("auth_base_url", "store_url"):
            value = shop.extra.get(name) if shop is not None else None
            if value:
                check_url(str(value), api_hosts, self._outbound, what=f"shop {name}")

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
