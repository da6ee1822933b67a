"""Bearer tokens: shown once, stored as SHA-256, with a set of scopes, optionally an expiry.

A tenant token belongs to one organization and every call with it is scoped to that organization; an object of
another organization is a 404, never a 403. An operator token belongs to no organization and is the only kind that
may hold the fleet-wide ``admin`` scope (no organization's token can become one). Revoked and expired tokens, and
the tokens of an inactive organization, authenticate nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from nfsync.connectors.base.errors import NotFound, ValidationFailed
from nfsync.workers.db.queries import QUERIES

TOKEN_PREFIX = "nfs_"  # noqa: S105 - a format marker, not a password
SCOPES = ("tasks:read", "tasks:write", "integrations:write", "ops:read", "ops:write", "admin")


@dataclass(frozen=True)
class Principal:
    token_id: uuid.UUID
    organization_id: uuid.UUID | None  # None: an operator
    scopes: frozenset[str]

    @property
    def operator(self) -> bool:
        return self.organization_id is None

    def allows(self, scope: str) -> bool:
        return (self.operator and "admin" in self.scopes) or scope in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str | Sequence[str]) -> list[str]:
    scopes = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(
            f"scopes must be a comma list of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}"
        )
    return scopes


async def create_organization(pool: asyncpg.Pool, name: str) -> uuid.UUID:
    if not name.strip():
        raise ValidationFailed("an organization needs a name")
    org: uuid.UUID = await pool.fetchval(QUERIES["organization_create"], name.strip())
    return org


async def create_token(
    pool: asyncpg.Pool,
    organization_id: uuid.UUID | None,
    scopes: Sequence[str],
    name: str,
    *,
    expires_at: datetime | None = None,
) -> str:
    """A new token (an operator token when ``organization_id`` is None); the caller shows it once, only its hash is
    stored. ``expires_at``: UTC, naive or aware."""
    checked = parse_scopes(scopes)
    if organization_id is not None and "admin" in checked:
        raise ValidationFailed("the admin scope is for operator tokens only (no organization)")
    if organization_id is not None and not await pool.fetchval(QUERIES["organization_exists"], organization_id):
        raise NotFound(f"organization {organization_id} not found")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await pool.execute(
        QUERIES["api_token_create"], organization_id, name, hash_token(token), checked, _utc_naive(expires_at)
    )
    return token


def _utc_naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


async def authenticate(pool: asyncpg.Pool, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or not token.isascii():
        return None
    row = await pool.fetchrow(QUERIES["api_token_lookup"], hash_token(token))
    if row is None:
        return None
    if row["stale_use"] is not False:
        await pool.execute(QUERIES["api_token_touch"], row["id"])
    return Principal(row["id"], row["organization_id"], frozenset(row["scopes"]))


async def list_tokens(pool: asyncpg.Pool, organization_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The tokens of an organization (every token for None), without their hashes."""
    return [dict(row) for row in await pool.fetch(QUERIES["api_token_list"], organization_id)]


async def revoke_token(pool: asyncpg.Pool, token_id: uuid.UUID, organization_id: uuid.UUID | None) -> dict[str, Any]:
    """Revoke a token of the organization (any token for None); 404 for a token it cannot see."""
    row = await pool.fetchrow(QUERIES["api_token_revoke"], token_id, organization_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    return dict(row)
