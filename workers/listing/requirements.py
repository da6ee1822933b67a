"""The platforms' category requirements for one shop, from the cache (``category_requirements``) or, when absent or
expired, from the platform through the shop's client; kept for ``TTL``.

A category whose requirements cannot be read (the platform refuses the id, a timeout) comes back as the reason, so
the product that needs it fails with that reason and the others go on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg
from pydantic import ValidationError

from nfsync.connectors.base.categories import CategoryRequirements, check_attributes, choice_problems
from nfsync.connectors.base.client import BaseClient, MissingCredential
from nfsync.connectors.base.errors import ReauthorizationNeeded, RetryableError, TaskError
from nfsync.connectors.base.listing import ListingRules
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.listing.profiles import ListingProfile
from nfsync.workers.listing.store import Executor
from nfsync.workers.marketplaces import ClientFactory

TTL = 24 * 3600.0  # seconds: category trees and their attributes change rarely


@dataclass
class Requirements:
    found: dict[str, CategoryRequirements] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # category -> why its requirements are unknown
    transient: set[str] = field(default_factory=set)  # of unavailable: a failure worth retrying (timeout, 5xx)


async def shop_requirements(
    db: Executor,
    client: BaseClient,
    shop_id: uuid.UUID,
    organization_id: uuid.UUID,
    category_ids: Iterable[str],
) -> Requirements:
    wanted = sorted(set(category_ids))
    out = Requirements()
    for row in await db.fetch(QUERIES["requirements_cached"], shop_id, wanted):
        try:
            out.found[row["category_id"]] = CategoryRequirements.model_validate(row["requirements"])
        except ValidationError:
            continue  # written by another release: asked again below
    for category in (c for c in wanted if c not in out.found):
        try:
            found = await client.category_requirements(category)
        except (ReauthorizationNeeded, MissingCredential):
            raise  # the shop's or the integration's problem, not the category's
        except TaskError as exc:
            out.unavailable[category] = str(exc)[:300]
            if isinstance(exc, RetryableError):
                out.transient.add(category)
            continue
        await db.execute(
            QUERIES["requirements_store"], shop_id, category, organization_id, found.model_dump(mode="json"), TTL
        )
        out.found[category] = found
    return out


@dataclass(frozen=True)
class PlatformCheck:
    """Profiles checked against what the platform has (a category it knows, attribute values it takes, a brand of
    the category, an enabled channel), through one of the integration's shops: the override's own, else the oldest
    active one. No shop yet, a platform that cannot answer now (timeout, 5xx) or an account that needs
    re-authorization leave the check to product_sync, which makes it again before any create."""

    pool: asyncpg.Pool  # the system pool: the caller has already checked the integration is the tenant's
    clients: ClientFactory

    async def refusals(
        self, integration_id: uuid.UUID, shop_id: uuid.UUID | None, profile: ListingProfile
    ) -> list[tuple[str, str]]:
        category = profile.category_id
        if category is None:
            return []
        found_shop = await self.pool.fetchval(QUERIES["profile_check_shop"], integration_id, shop_id)
        row = await self.pool.fetchrow(QUERIES["sync_shop_context"], found_shop) if found_shop else None
        if row is None or row["platform"] not in PLATFORM_PACKAGES:
            return []
        client = self.clients.shop_client(self.pool, row)
        try:
            found = await shop_requirements(self.pool, client, found_shop, row["organization_id"], [category])
        except (ReauthorizationNeeded, MissingCredential):
            return []
        if category in found.transient:
            return []
        if category in found.unavailable:
            return [("category_id", f"category {category}: {found.unavailable[category]}")]
        return profile_refusals(found.found[category], profile)


def profile_refusals(found: CategoryRequirements, profile: ListingProfile) -> list[tuple[str, str]]:
    """What a profile names that the platform does not have, as (field path, reason): an attribute the category
    lacks or a value it does not take, a brand outside the category's list, a channel the shop has not enabled.
    What the profile lacks is no refusal: another layer (the defaults) may hold it."""
    out = []
    for index, attribute in enumerate(profile.attributes):
        out += [(f"attributes.{index}", reason) for reason in check_attributes(found, [attribute]).invalid]
    brand_id = profile.brand.id if profile.brand else None
    return out + choice_problems(found, brand_id, [c.id for c in profile.logistics])


def profile_needs(rules: ListingRules, found: CategoryRequirements) -> list[str]:
    """What a listing profile must hold for a new listing in this category, in words (the platform's rules and the
    category's): the answer of ``GET /v1/shops/{shop}/categories/{category}/requirements``."""
    needs = ["brand"] if rules.brand or found.brand_required else []
    package = list(rules.package)
    if found.package_dimensions_required:
        package += [f for f in ("length_cm", "width_cm", "height_cm") if f not in package]
    needs += [f"package.{f}" for f in package]
    if rules.logistics:
        needs.append("logistics: an enabled channel")
    if rules.images[0]:
        needs.append(f"images: {rules.images[0]} to {rules.images[1]}")
    for attribute in found.required():
        choice = f": one of {', '.join(o.name for o in attribute.values[:20])}" if not attribute.custom else ""
        where = " (written on each SKU)" if attribute.sku_level else ""
        needs.append(f'attribute "{attribute.name}" (id {attribute.id}){where}{choice}')
    return needs
