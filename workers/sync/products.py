"""product_sync.

crm_to_marketplace: the shop's sale-channel products matching ``filter_criteria`` become listings. Unchanged
content (hash equal to the mapping's) is skipped, only changed prices and stock are written; a changed product
updates its mapped listing; an unmapped one is looked up by SKU on the platform before anything is created. A CRM
variant deactivated, soft-deleted or removed from the channel gets stock 0 and its mapping ``delisted`` (every
platform: a listing at zero stock cannot be bought and comes back with its reviews when the variant returns).

marketplace_to_crm: the shop's listings (all, or ``product_ids`` = platform item ids from a push) are matched to CRM
variants by SKU and recorded in product_mappings; nothing is created in the CRM - unmatched SKUs are reported.

bidirectional: the pull, then the push (the CRM wins for catalog fields).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded
from nfsync.connectors.base.listing import ListingRules
from nfsync.connectors.base.models import Listing, ListingDraft
from nfsync.connectors.base.spec import load
from nfsync.workers import crm
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import ProductSyncFilter
from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.listing.content import ShopProfiles, shop_profiles
from nfsync.workers.listing.media import platform_images
from nfsync.workers.listing.requirements import shop_requirements
from nfsync.workers.sync.catalog import (
    Decision,
    ListingInput,
    Mapping,
    ValueChange,
    apply_requirements,
    content_fields,
    decide,
)
from nfsync.workers.sync.common import bounded, chunks, concurrency, run_shop_task
from nfsync.workers.sync.item_log import ItemAction, ItemLog
from nfsync.workers.sync.mappings import MappingRow, MappingWriter, load_mappings
from nfsync.workers.sync.rules import CatalogRules, StockRules, catalog_filter
from nfsync.workers.sync.session import ShopSession
from nfsync.workers.sync.values import push_values, units

PULL_PAGE = 100


async def product_sync(ctx: TaskContext) -> dict[str, Any]:
    return await run_shop_task(ctx, _product_sync)


async def _product_sync(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    filters = shop.ctx.task.filters(ProductSyncFilter)
    if filters.reconcile:
        from nfsync.workers.sync.reconcile import reconcile_task  # noqa: PLC0415 - reconcile builds on this module

        return await reconcile_task(shop, items)
    direction = shop.ctx.task.direction
    out: dict[str, Any] = {}
    if direction in ("marketplace_to_crm", "bidirectional"):
        wanted = filters.product_ids if direction == "marketplace_to_crm" else None
        out["pulled_listings"] = await pull_listings(shop, items, wanted or [])
    if direction in ("crm_to_marketplace", "bidirectional"):
        out["actions"] = await push_catalog(shop, items, filters)
    return out


# ---------------------------------------------------------------------------------------------- CRM -> marketplace


async def plan_catalog(shop: ShopSession, filters: ProductSyncFilter) -> list[Decision]:
    """The decisions of a push, read-only (``nfsync plan`` and the push itself)."""
    channel = shop.row["sale_channel_id"]
    if not channel:
        raise PermanentError(f"shop {shop.row['shop_name']} has no sale channel: set sale_channel_id")
    catalog, stock = CatalogRules.parse(shop.rules("catalog")), StockRules.parse(shop.rules("inventory"))
    async with shop.pool.acquire() as conn:
        _, currency = await crm.channel_merchant(conn, channel, shop.row["organization_id"])
        read = crm.channel_products(
            conn,
            sale_channel_id=channel,
            shop_id=shop.shop_id,
            filters=catalog_filter(filters),
            currency=currency,
            locale=catalog.locale,
            per_location=bool(stock.warehouses),
        )
        products, mappings = await asyncio.gather(read, load_mappings(shop))  # two connections, read at once
        profiles = await shop_profiles(
            conn, shop.integration_id, shop.shop_id, shop.platform, [p.product_id for p in products]
        )
    rules = load(shop.platform).listing
    decisions = [decide(p, mappings, catalog, stock, _listing_input(profiles, rules, p.product_id)) for p in products]
    new = {d.draft.category_id for d in decisions if d.action == "create" and d.draft and d.draft.category_id}
    if new:
        found = await shop_requirements(shop.pool, shop.client, shop.shop_id, shop.row["organization_id"], new)
        for decision in decisions:
            apply_requirements(decision, found)
    return decisions


def _listing_input(profiles: ShopProfiles, rules: ListingRules, product_id: str) -> ListingInput:
    profile, text = profiles.effective(product_id)
    return ListingInput(profile, rules, profiles.metadata_errors.get(product_id), text)


async def push_catalog(shop: ShopSession, items: ItemLog, filters: ProductSyncFilter) -> dict[str, int]:
    decisions = await plan_catalog(shop, filters)
    shop.ctx.report(total=sum(_units(d) for d in decisions))
    writer = MappingWriter(shop)
    changes: list[ValueChange] = []
    try:
        for decision in decisions:
            await _log_quiet(items, decision)
            changes += decision.changes + decision.delists
        jobs = [_listing_job(shop, items, writer, d, changes) for d in decisions if d.action in ("create", "update")]
        await bounded(jobs, concurrency(shop))
    finally:
        await writer.flush()
    await push_values(shop, items, changes)
    counts: dict[str, int] = {}
    for decision in decisions:
        counts[decision.action] = counts.get(decision.action, 0) + 1
    return counts


def _write_action(decision: Decision) -> ItemAction:
    return "create" if decision.action == "create" else "update"


def _units(decision: Decision) -> int:
    listing = 1 if decision.action in ("create", "update", "skip") or decision.reason else 0
    return listing + len(decision.invalid) + len(decision.unlinked) + units(decision.changes) + units(decision.delists)


async def _log_quiet(items: ItemLog, d: Decision) -> None:
    """Outcomes decided without a call: skips, failures of the CRM data."""
    pid = d.product.product_id
    for variant, reason in d.invalid:
        await items.add(
            "variant",
            "create" if d.action == "create" else "update",
            "failed",
            entity_id=variant.variant_id,
            error_message=reason,
        )
    if d.action == "skip" and d.item_id is not None:  # unchanged since the last push: counted, no row
        items.tally("skip", "skipped")
    elif d.action == "skip":
        await items.add("product", "skip", "skipped", entity_id=pid, error_message=d.reason)
    for variant in d.unlinked:
        await items.add(
            "variant",
            "update",
            "skipped",
            entity_id=variant.variant_id,
            platform_entity_id=d.item_id,
            error_message="not on the linked listing, whose content the platform owns "
            "(config.catalog.content = crm lets nfsync add it)",
        )
    if d.action == "fail" and d.reason:
        await items.add(
            "product", "create" if d.item_id is None else "update", "failed", entity_id=pid, error_message=d.reason
        )


def _listing_job(
    shop: ShopSession, items: ItemLog, writer: MappingWriter, d: Decision, changes: list[ValueChange]
) -> Any:
    async def job() -> None:
        await shop.ctx.checkpoint()
        assert d.draft is not None
        try:
            origin = "created"
            draft = await with_sku_attributes(shop, await with_platform_images(shop, d.draft))
            if d.action == "create":
                created = await shop.client.create_or_adopt(draft)
                listing, origin = created.listing, "adopted" if created.adopted else "created"
                changes.extend(_drift(d, listing))
            else:
                listing = await shop.client.update_listing(str(d.item_id), draft)
        except ReauthorizationNeeded:
            raise
        except PermanentError as exc:
            code = getattr(exc, "code", None)
            await items.add(
                "product",
                _write_action(d),
                "failed",
                entity_id=d.product.product_id,
                platform_entity_id=d.item_id,
                error_code=code,
                error_message=str(exc),
            )
            return
        rows, missing = _rows(d, listing, origin)
        await writer.add(rows)
        await items.add(
            "product",
            _write_action(d),
            "success",
            entity_id=d.product.product_id,
            platform_entity_id=listing.platform_item_id,
            details={"variants": len(rows), "missing_on_platform": missing or None},
        )

    return job


async def with_platform_images(shop: ShopSession, draft: ListingDraft) -> ListingDraft:
    """The draft with each image as the platform takes it (uploaded once per shop, workers/listing/media.py); the
    decision keeps the source URLs, so content hashes do not depend on uploads."""
    urls = [*draft.images, *(url for v in draft.variants for url in v.images)]
    if not urls or not shop.client.uploads_images:
        return draft
    owner = (shop.shop_id, shop.row["organization_id"])
    async with shop.media_lock:  # concurrent listing jobs share one upload of the same image
        refs = await platform_images(shop.pool, shop.client, shop.res.images, owner, urls)
    variants = [v.model_copy(update={"images": [refs[u] for u in v.images]}) for v in draft.variants]
    return draft.model_copy(update={"images": [refs[u] for u in draft.images], "variants": variants})


async def with_sku_attributes(shop: ShopSession, draft: ListingDraft) -> ListingDraft:
    """The draft's attributes that its category takes per SKU, marked for the connector (the category's requirements,
    cached per shop). Unknown requirements mark none: the platform then says what it refuses."""
    if not draft.attributes or draft.category_id is None:
        return draft
    owner = shop.row["organization_id"]
    known = await shop_requirements(shop.pool, shop.client, shop.shop_id, owner, [draft.category_id])
    found = known.found.get(draft.category_id)
    per_sku = set(found.sku_level_ids()) if found else set()
    marked = [a.id for a in draft.attributes if a.id in per_sku]
    return draft.model_copy(update={"sku_attribute_ids": marked}) if marked else draft


def _rows(d: Decision, listing: Listing, origin: str) -> tuple[list[MappingRow], list[str]]:
    """Mapping rows for the draft's variants as the platform lists them (by SKU). An adopted listing records no
    pushed content: nothing of it was written. A written one records the stock the platform now shows (a content
    update may leave a multi-warehouse SKU's stock alone), so the next inventory_sync corrects what differs."""
    assert d.draft is not None
    adopted = origin == "adopted"
    pushed_hash, fields = (None, None) if adopted else (d.content_hash, content_fields(d.draft))
    by_sku = {v.sku: v for v in listing.variants}
    single = len(listing.variants) == 1 and len(d.draft.variants) == 1
    by_crm_sku = {str(v.sku): v for v in d.product.variants if v.sku in {x.sku for x in d.draft.variants}}
    rows, missing = [], []
    for wanted in d.draft.variants:
        found = by_sku.get(wanted.sku) or (listing.variants[0] if single else None)
        if found is None:
            missing.append(wanted.sku)
            continue
        crm_variant = by_crm_sku[wanted.sku]
        rows.append(
            MappingRow(
                d.product.product_id,
                crm_variant.variant_id,
                listing.platform_item_id,
                found.platform_variant_id,
                found.sku or wanted.sku,
                pushed_hash,
                wanted.price,
                wanted.stock if adopted else found.stock,
                "active" if crm_variant.active else "delisted",
                origin,
                fields,
            )
        )
    return rows, missing


def _drift(d: Decision, listing: Listing) -> list[ValueChange]:
    """After a create that adopted an existing listing: its prices and stock where they differ from the CRM's."""
    assert d.draft is not None
    by_sku = {v.sku: v for v in listing.variants}
    crm_by_sku = {str(v.sku): v for v in d.product.variants}
    drift = []
    for wanted in d.draft.variants:
        found = by_sku.get(wanted.sku)
        if found is None:
            continue
        price = wanted.price if found.price != wanted.price else None
        stock = wanted.stock if found.stock != wanted.stock else None
        if price is not None or stock is not None:
            mapping = Mapping(
                crm_by_sku[wanted.sku].variant_id,
                d.product.product_id,
                listing.platform_item_id,
                found.platform_variant_id,
                found.sku,
                "active",
                d.content_hash,
                None,
                None,
            )
            drift.append(ValueChange.of(mapping, wanted.sku, price=price, stock=stock))
    return drift


# ---------------------------------------------------------------------------------------------- marketplace -> CRM


async def pull_listings(shop: ShopSession, items: ItemLog, wanted: list[str]) -> int:
    """Match the shop's listings (those named, or all) to CRM variants by SKU; returns how many were read."""
    channel = shop.row["sale_channel_id"]
    if not channel:
        raise PermanentError(f"shop {shop.row['shop_name']} has no sale channel: set sale_channel_id")
    async with shop.pool.acquire() as conn:
        merchant, _ = await crm.channel_merchant(conn, channel, shop.row["organization_id"])
    writer = MappingWriter(shop)
    seen: set[str] = set()
    async for page in _listing_pages(shop, wanted):
        await shop.ctx.checkpoint()
        seen.update(listing.platform_item_id for listing in page)
        await _match_page(shop, items, writer, merchant, page)
    await writer.flush()
    gone = sorted(set(wanted) - seen)
    if gone:
        await _mark_deleted(shop, items, gone)
    return len(seen)


async def _listing_pages(shop: ShopSession, wanted: list[str]) -> AsyncIterator[list[Listing]]:
    if wanted:
        for chunk in chunks(wanted, 50):
            yield await shop.client.get_listings(chunk)
        return
    page: list[Listing] = []
    async for listing in shop.client.iter_listings():
        page.append(listing)
        if len(page) >= PULL_PAGE:
            yield page
            page = []
    if page:
        yield page


async def _match_page(
    shop: ShopSession, items: ItemLog, writer: MappingWriter, merchant: str, page: list[Listing]
) -> None:
    skus = [v.sku for listing in page for v in listing.variants if v.sku]
    async with shop.pool.acquire() as conn:
        known = await crm.variants_by_sku(conn, merchant, skus)
    rows = []
    for listing in page:
        for variant in listing.variants:
            match = known.get(variant.sku)
            if match is None:
                items.unmatched.append(variant.sku)
                await items.add(
                    "variant",
                    "match",
                    "skipped",
                    platform_entity_id=variant.platform_variant_id or listing.platform_item_id,
                    error_message=f"no CRM variant has SKU {variant.sku!r}",
                    details={
                        "sku": variant.sku,
                        "name": listing.name,
                        "platform_item_id": listing.platform_item_id,
                        "platform_variant_id": variant.platform_variant_id,
                        "barcode": variant.barcode,
                    },
                )
                continue
            # the listing's own price and stock count as pushed: an unchanged CRM writes nothing
            rows.append(
                MappingRow(
                    match[1],
                    match[0],
                    listing.platform_item_id,
                    variant.platform_variant_id,
                    variant.sku,
                    None,
                    variant.price,
                    variant.stock,
                    origin="pulled",
                )
            )
            await items.add(
                "variant",
                "match",
                "success",
                entity_id=match[0],
                platform_entity_id=variant.platform_variant_id or listing.platform_item_id,
            )
    await writer.add(rows)


async def _mark_deleted(shop: ShopSession, items: ItemLog, gone: list[str]) -> None:
    """Listings a push named that the platform no longer has: their mappings are marked deleted (a later push
    lists the CRM product again)."""
    rows = await shop.pool.fetch(QUERIES["sync_mappings_mark_deleted"], shop.shop_id, gone)
    for row in rows:
        await items.add(
            "product",
            "delete",
            "success",
            entity_id=row["variant_id"],
            platform_entity_id=row["platform_item_id"],
            error_message="the listing no longer exists on the platform",
        )
