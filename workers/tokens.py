"""Account tokens from ``marketplace_accounts``, shared by every process and host.

``current()`` decrypts the stored pair (and refreshes ahead of expiry). ``refresh()`` is the single place a
refresh token is spent: under the account's row lock, it first checks ``token_version`` - when another process
already refreshed, it takes that pair instead of spending a (single-use) refresh token twice - then calls the
platform, encrypts and commits the new pair, and only then returns it for use. A refresh the platform refuses
marks the account ``error`` with "re-authorization needed" and raises ``ReauthorizationNeeded``: the task fails
permanently instead of retrying.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from nfsync.connectors.base.auth import Refresher, expires_soon
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded
from nfsync.connectors.base.models import TokenPair
from nfsync.workers.crypto import Keyring, SecretField
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
TABLE = "marketplace_accounts"


def _naive(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


class AccountTokenProvider:
    def __init__(
        self, pool: asyncpg.Pool, keyring: Keyring, account_id: uuid.UUID, refresher: Refresher | None = None
    ) -> None:
        self._pool = pool
        self._keyring = keyring
        self._account_id = account_id
        self._refresher = refresher
        self._lock = asyncio.Lock()
        self._pair: TokenPair | None = None
        self._version = -1

    def bind(self, refresher: Refresher) -> None:
        """The client's refresh call (the client needs the provider, the provider the client's refresh)."""
        self._refresher = refresher

    def _field(self, org: str, column: str) -> SecretField:
        return SecretField(TABLE, column, org, str(self._account_id))

    def _decode(self, row: asyncpg.Record) -> TokenPair:
        if row["status"] == "error" or row["access_token"] is None:
            raise ReauthorizationNeeded(f"account {self._account_id} needs re-authorization")
        org = row["organization_id"]
        refresh = row["refresh_token"]
        return TokenPair(
            access_token=self._keyring.decrypt(row["access_token"], self._field(org, "access_token")),
            refresh_token=None
            if refresh is None
            else self._keyring.decrypt(refresh, self._field(org, "refresh_token")),
            access_expires_at=_aware(row["token_expires_at"]),
            refresh_expires_at=_aware(row["refresh_token_expires_at"]),
        )

    async def _load(self) -> TokenPair:
        row = await self._pool.fetchrow(QUERIES["account_tokens"], self._account_id)
        if row is None:
            raise PermanentError(f"account {self._account_id} not found")
        self._pair, self._version = self._decode(row), row["token_version"]
        return self._pair

    async def current(self) -> TokenPair:
        pair = self._pair or await self._load()
        if expires_soon(pair):
            return await self.refresh(pair)
        return pair

    async def refresh_now(self) -> TokenPair:
        """Refresh the stored pair whatever its expiry (the scheduler's upkeep, ahead of any task's need)."""
        return await self.refresh(await self._load())

    async def refresh(self, stale: TokenPair) -> TokenPair:
        async with self._lock:
            if self._pair is not None and self._pair.access_token != stale.access_token:
                return self._pair  # refreshed by another task of this process meanwhile
            try:
                self._pair = await self._refresh_locked()
            except ReauthorizationNeeded as exc:
                await self._pool.execute(QUERIES["account_needs_reauthorization"], self._account_id, str(exc)[:1000])
                log.warning("account.reauthorization_needed", account_id=str(self._account_id))
                raise
            return self._pair

    async def _refresh_locked(self) -> TokenPair:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(QUERIES["account_tokens_for_update"], self._account_id)
            if row is None:
                raise PermanentError(f"account {self._account_id} not found")
            current = self._decode(row)
            if row["token_version"] != self._version and not expires_soon(current):
                self._version = row["token_version"]
                return current  # another process refreshed: its pair is committed, use it
            if current.refresh_token is None:
                raise ReauthorizationNeeded(f"account {self._account_id} has no refresh token")
            if self._refresher is None:
                raise PermanentError("token provider has no refresher bound")
            try:
                fresh = await self._refresher(current.refresh_token)
            except PermanentError as exc:
                raise ReauthorizationNeeded(f"re-authorization needed: {exc}") from None
            self._version = await store_pair(conn, self._keyring, self._account_id, row["organization_id"], fresh)
        log.info("account.token_refreshed", account_id=str(self._account_id), version=self._version)
        return fresh


async def store_pair(conn: DbConn, keyring: Keyring, account_id: uuid.UUID, org: str, pair: TokenPair) -> int:
    """Encrypt and store a pair (an authorization or a refresh); returns the new token_version."""

    def field(column: str) -> SecretField:
        return SecretField(TABLE, column, org, str(account_id))

    refresh = pair.refresh_token
    version: int = await conn.fetchval(
        QUERIES["account_tokens_store"],
        account_id,
        keyring.encrypt(pair.access_token, field("access_token")),
        None if refresh is None else keyring.encrypt(refresh, field("refresh_token")),
        _naive(pair.access_expires_at),
        _naive(pair.refresh_expires_at),
    )
    return version
