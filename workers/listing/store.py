"""Reading and writing listing profiles (``workers/sql/profiles.sql``), for the API, the import and the CLI.

``tenant`` is the caller's organization, or None for an operator; the API's pool adds row-level security on top.
What the database refuses because a product, shop or integration is not the organization's (the scope trigger in
``schema.sql``) comes back as ``NotFound``, with one message for "does not exist" and "is another's".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from nfsync.connectors.base.errors import NotFound
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.listing.profiles import ListingProfile

Source = Literal["api", "import"]
Executor = asyncpg.Pool | DbConn


@dataclass(frozen=True)
class Scope:
    """Which layer: a product's (or the defaults when ``product_id`` is None), for every shop or one."""

    integration_id: uuid.UUID
    product_id: str | None = None
    shop_id: uuid.UUID | None = None

    def describe(self) -> str:
        what = f"product {self.product_id}" if self.product_id else "the defaults"
        return what + (f" in shop {self.shop_id}" if self.shop_id else "")


@dataclass(frozen=True)
class StoredProfile:
    id: uuid.UUID
    organization_id: uuid.UUID
    scope: Scope
    profile: ListingProfile
    source: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> StoredProfile:
        return cls(
            row["id"],
            row["organization_id"],
            Scope(row["integration_id"], row["product_id"], row["shop_id"]),
            ListingProfile.model_validate(row["profile"]),
            row["source"],
            row["created_at"],
            row["updated_at"],
        )


_TENANT_CONSTRAINTS = {
    "listing_profiles_product_tenant": "product",
    "listing_profiles_product_id_fkey": "product",
    "listing_profiles_shop_integration": "shop",
    "listing_profiles_shop_id_fkey": "shop",
    "listing_profiles_integration_tenant": "integration",
    "listing_profiles_integration_id_fkey": "integration",
}


def _not_found(scope: Scope, exc: asyncpg.ForeignKeyViolationError) -> NotFound:
    what = _TENANT_CONSTRAINTS.get(exc.constraint_name or "", "product")
    named = {"product": scope.product_id, "shop": scope.shop_id, "integration": scope.integration_id}[what]
    return NotFound(f"{what} {named} not found")


async def save(
    db: Executor, organization_id: uuid.UUID, scope: Scope, profile: ListingProfile, source: Source
) -> StoredProfile:
    try:
        row = await db.fetchrow(
            QUERIES["profile_upsert"],
            organization_id,
            scope.integration_id,
            scope.shop_id,
            scope.product_id,
            profile.stored(),
            source,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise _not_found(scope, exc) from None
    if row is None:
        raise NotFound(f"integration {scope.integration_id} not found")
    return StoredProfile.of(row)


async def get(db: Executor, scope: Scope, tenant: uuid.UUID | None) -> StoredProfile:
    row = await db.fetchrow(QUERIES["profile_get"], scope.integration_id, scope.product_id, scope.shop_id, tenant)
    if row is None:
        raise NotFound(f"no listing profile for {scope.describe()}")
    return StoredProfile.of(row)


async def delete(db: Executor, scope: Scope, tenant: uuid.UUID | None) -> None:
    row = await db.fetchrow(QUERIES["profile_delete"], scope.integration_id, scope.product_id, scope.shop_id, tenant)
    if row is None:
        raise NotFound(f"no listing profile for {scope.describe()}")


async def page(
    db: Executor,
    integration_id: uuid.UUID,
    tenant: uuid.UUID | None,
    *,
    product_id: str | None = None,
    shop_id: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    limit: int = 100,
) -> list[StoredProfile]:
    rows = await db.fetch(QUERIES["profile_list"], integration_id, tenant, product_id, shop_id, after, limit)
    return [StoredProfile.of(r) for r in rows]
