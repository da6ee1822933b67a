"""The effective listing profile of every product of one shop, read once per plan: the stored layers
(``listing_profiles``) and each product's ``metadata.marketplace.<platform>`` from the CRM.

A product's ``metadata.marketplace.<platform>`` is a profile layer in the same shape (it pre-fills: a stored
profile overrides it). One that is not a valid profile is reported with the product (its create fails with the
reason) and otherwise ignored: a stock or price push never stops for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from nfsync.workers import crm
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.listing.profiles import ListingProfile, listing_text, merged


@dataclass(frozen=True)
class ShopProfiles:
    defaults: list[ListingProfile] = field(default_factory=list)  # the integration's, then the shop's
    products: dict[str, list[ListingProfile]] = field(default_factory=dict)  # the product's, then its shop override
    metadata: dict[str, ListingProfile] = field(default_factory=dict)
    metadata_errors: dict[str, str] = field(default_factory=dict)

    shared: list[tuple[ListingProfile, str]] = field(default_factory=list)  # the defaults merged, and their text

    def effective(self, product_id: str) -> tuple[ListingProfile, str]:
        """The product's profile and its ``listing_text``: for a product with no layer of its own (most of them)
        the defaults' merge, computed once."""
        own = [self.metadata.get(product_id), *self.products.get(product_id, [])]
        if any(own):
            profile = merged([*self.defaults, *own])
            return profile, listing_text(profile)
        if not self.shared:
            profile = merged(self.defaults)
            self.shared.append((profile, listing_text(profile)))
        return self.shared[0]


def _metadata_error(platform: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(["metadata.marketplace", platform, *(str(p) for p in first["loc"])])
    return f"{where}: {first['msg']}"


async def shop_profiles(
    conn: DbConn, integration_id: uuid.UUID, shop_id: uuid.UUID, platform: str, product_ids: Sequence[str]
) -> ShopProfiles:
    out = ShopProfiles()
    for row in await conn.fetch(QUERIES["profile_layers"], integration_id, shop_id, list(product_ids)):
        layer = ListingProfile.model_validate(row["profile"])
        if row["product_id"] is None:
            out.defaults.append(layer)
        else:
            out.products.setdefault(row["product_id"], []).append(layer)
    for product_id, value in (await crm.listing_metadata(conn, product_ids, platform)).items():
        try:
            out.metadata[product_id] = ListingProfile.model_validate(value)
        except ValidationError as exc:
            out.metadata_errors[product_id] = _metadata_error(platform, exc)
    return out
