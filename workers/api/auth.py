"""Bearer tokens: shown once, stored as SHA-256, scoped to one organization and a set of scopes.

Every call is scoped to the token's organization; an object of another organization is a 404, never a 403. The
``admin`` scope spans organizations.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from connectors.base.errors import NotFound, ValidationFailed
from workers.db.queries import QUERIES

TOKEN_PREFIX = "nfs_"  # noqa: S105 - a format marker, not a password
SCOPES = ("tasks:read", "tasks:write", "integrations:write", "ops:read", "ops:write", "admin")


@dataclass(frozen=True)
class Principal:
    token_id: uuid.UUID
    organization_id: uuid.UUID
    scopes: frozenset[str]

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes

    def allows(self, scope: str) -> bool:
        return self.admin or scope in self.scopes


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


async def create_token(pool: asyncpg.Pool, organization_id: uuid.UUID, scopes: Sequence[str], name: str) -> str:
    """A new token; the caller shows it once, only its hash is stored."""
    if not await pool.fetchval(QUERIES["organization_exists"], organization_id):
        raise NotFound(f"organization {organization_id} not found")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await pool.execute(QUERIES["api_token_create"], organization_id, name, hash_token(token), parse_scopes(scopes))
    return token


async def authenticate(pool: asyncpg.Pool, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = await pool.fetchrow(QUERIES["api_token_lookup"], hash_token(token))
    if row is None:
        return None
    if row["stale_use"] is not False:
        await pool.execute(QUERIES["api_token_touch"], row["id"])
    return Principal(row["id"], row["organization_id"], frozenset(row["scopes"]))
