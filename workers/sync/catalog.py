"""What a product sync would do to one CRM product, decided without any write: the listing draft, its content hash,
and whether the product is to be created, updated, only re-priced / re-stocked, delisted or skipped.

``product_sync`` executes these decisions; ``nfsync plan`` prints them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import asyncpg
from pydantic import ValidationError

from nfsync.connectors.base.categories import check_attributes, choice_problems
from nfsync.connectors.base.listing import DraftShape, ListingRules, Package, check_rules
from nfsync.connectors.base.models import ListingDraft, VariantDraft
from nfsync.workers.crm import CrmProduct, CrmVariant
from nfsync.workers.listing.profiles import ListingProfile, listing_text
from nfsync.workers.listing.requirements import Requirements
from nfsync.workers.sync.rules import CatalogRules, StockRules, money


@dataclass(frozen=True, slots=True)
class Mapping:
    variant_id: str
    product_id: str
    platform_item_id: str
    platform_variant_id: str | None
    platform_sku: str | None
    status: str
    last_pushed_hash: str | None
    last_pushed_price: Decimal | None
    last_pushed_stock: int | None
    origin: str = "created"  # created | adopted | pulled
    fields: dict[str, str] | str | None = None
    """Digest per content field last pushed; as read, the JSON text (decoded only when a plan names the changed
    fields: an unchanged re-sync never needs it)."""

    def pushed_fields(self) -> dict[str, str] | None:
        if isinstance(self.fields, str):
            decoded = json.loads(self.fields)
            return {str(k): str(v) for k, v in decoded.items()} if isinstance(decoded, dict) else None
        return self.fields

    @classmethod
    def of(cls, row: asyncpg.Record) -> Mapping:
        return cls(
            row["variant_id"],
            row["product_id"],
            row["platform_item_id"],
            row["platform_variant_id"],
            row["platform_sku"],
            row["status"],
            row["last_pushed_hash"],
            row["last_pushed_price"],
            row["last_pushed_stock"],
            row["origin"],
            row["last_pushed_fields"],
        )


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A price and/or stock write of one mapped variant (None = leave it)."""

    variant_id: str
    platform_item_id: str
    platform_variant_id: str | None
    sku: str
    price: Decimal | None = None
    stock: int | None = None
    status: str = "active"
    warehouses: dict[str, int] = field(default_factory=dict)  # the stock per platform warehouse (StockUpdate)

    @classmethod
    def of(
        cls,
        mapping: Mapping,
        sku: str | None,
        *,
        price: Decimal | None = None,
        stock: int | None = None,
        status: str = "active",
        warehouses: dict[str, int] | None = None,
    ) -> ValueChange:
        return cls(
            mapping.variant_id,
            mapping.platform_item_id,
            mapping.platform_variant_id,
            mapping.platform_sku or sku or mapping.variant_id,
            price,
            stock,
            status,
            warehouses or {},
        )


@dataclass(frozen=True)
class ListingInput:
    """What a listing needs beyond the CRM: the product's effective listing profile and the platform's rules."""

    profile: ListingProfile = field(default_factory=ListingProfile)
    rules: ListingRules = field(default_factory=ListingRules)
    error: str | None = None  # the product's metadata.marketplace layer is not a valid profile
    text: str | None = None  # listing_text(profile), when the caller computed it once for many products


NO_LISTING_INPUT = ListingInput()


Action = Literal["create", "update", "values", "skip", "delist", "fail"]
"""create/update: write the listing; values: stock and price only; delist: zero what left the channel; skip: nothing
to do; fail: the product cannot be listed (``reason`` says why)."""


@dataclass(slots=True)
class Decision:
    product: CrmProduct
    action: Action
    draft: ListingDraft | None = None
    content_hash: str | None = None
    item_id: str | None = None
    changes: list[ValueChange] = field(default_factory=list)
    delists: list[ValueChange] = field(default_factory=list)
    invalid: list[tuple[CrmVariant, str]] = field(default_factory=list)  # (variant, reason)
    reason: str | None = None
    content: str | None = None  # link | crm: who owns the listing's content (None: nothing mapped yet)
    fields: list[str] = field(default_factory=list)  # what a push would change on the listing
    unlinked: list[CrmVariant] = field(default_factory=list)  # CRM variants a linked listing does not have
    splits: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)  # variant -> StockRules.offer

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"product_id": self.product.product_id, "name": self.product.name, "action": self.action}
        if self.item_id:
            out["platform_item_id"] = self.item_id
        if self.changes:
            out["prices"] = sum(1 for c in self.changes if c.price is not None)
            out["stocks"] = sum(1 for c in self.changes if c.stock is not None)
        if self.delists:
            out["delist_variants"] = [c.variant_id for c in self.delists]
        if self.invalid:
            out["invalid"] = [{"variant_id": v.variant_id, "reason": r} for v, r in self.invalid]
        if self.reason:
            out["reason"] = self.reason
        if self.content:
            out["content"] = self.content
        if self.fields:
            out["fields"] = self.fields
        if self.unlinked:
            out["not_on_listing"] = [v.variant_id for v in self.unlinked]
        return out


def _variant_text(v: VariantDraft) -> str:
    return _text_of(v.sku, v.options, v.images, v.sale_properties)


def _text_of(sku: str, options: dict[str, str], images: list[str], sale_properties: dict[str, str]) -> str:
    parts = [sku, *(f"{k}\x1d{value}" for k, value in sorted(options.items()))]
    if images or sale_properties:  # only then: a draft without profile content hashes as it always did
        parts += ["\x1c".join(images), *(f"{k}\x1d{value}" for k, value in sorted(sale_properties.items()))]
    return "\x1f".join(parts)


def content_hash(draft: ListingDraft, listing: str | None = None) -> str:
    """SHA-256 of the catalog content of a listing (not its prices and stock, which are compared one by one);
    ``listing``: ``listing_text`` of the draft when the caller has it already.

    Fields are joined with ASCII separators (unit, record, group) that never occur in catalog text."""
    texts = [_variant_text(v) for v in draft.variants]
    text = listing_text(draft) if listing is None else listing
    return _hash_of(draft.name, draft.description, draft.category_id, texts, text)


def _hash_of(name: str, description: str, category_id: str | None, variants: list[str], listing: str) -> str:
    content = "\x1e".join([name, description, category_id or "", *sorted(variants), *([listing] if listing else [])])
    return hashlib.sha256(content.encode()).hexdigest()


def content_fields(draft: ListingDraft) -> dict[str, str]:
    """A short digest per content field, so a plan can say which fields a push would change."""
    values = {
        "name": draft.name,
        "description": draft.description,
        "category_id": draft.category_id or "",
        "variants": "\x1e".join(sorted(_variant_text(v) for v in draft.variants)),
    }
    listing = listing_text(draft)
    if listing:
        values["listing"] = listing
    return {name: hashlib.sha256(value.encode()).hexdigest()[:16] for name, value in values.items()}


def content_owner(catalog: CatalogRules, mappings: Iterable[Mapping]) -> str:
    """``config.catalog.content`` when set; otherwise the CRM owns only listings nfsync created itself."""
    if catalog.content is not None:
        return catalog.content
    return "crm" if all(m.origin == "created" for m in mappings) else "link"


def _missing(variant: CrmVariant) -> str | None:
    """Why the variant cannot be listed: a required field missing, or a malformed bundle (workers/bundles.py)."""
    fields = [name for name, value in (("sku", variant.sku), ("price", variant.price)) if value is None]
    if fields:
        return f"missing required fields: {', '.join(fields)}"
    return variant.bundle.error if variant.bundle is not None else None


@dataclass
class _Start:
    """What every decision of a product with valid variants and a platform category starts from."""

    decision: Decision
    valid: list[CrmVariant]
    kept: list[CrmVariant]  # mapped variants no longer active: they stay on the listing at zero stock
    live: list[Mapping]
    category: str


@dataclass(frozen=True)
class Wanted:
    """What a listing variant should carry: the draft's SKU, price and stock, without building the draft."""

    sku: str
    price: Decimal
    stock: int


def decide(
    product: CrmProduct,
    mappings: dict[str, Mapping],
    catalog: CatalogRules,
    stock: StockRules,
    listing: ListingInput = NO_LISTING_INPUT,
) -> Decision:
    """The action for one product against its mappings in the shop. A mapped product whose content is unchanged (or
    owned by the platform) is decided without building its draft (``_without_draft``, issue #20: the unchanged
    re-sync); every other one by ``decide_by_draft``. The two agree on every product (tests/test_decide_fast.py)."""
    start = _start(product, mappings, catalog, stock, listing)
    if isinstance(start, Decision):
        return start
    fast = _without_draft(start, product, mappings, catalog, listing)
    return fast if fast is not None else _by_draft(start, product, mappings, catalog, listing)


def decide_by_draft(
    product: CrmProduct,
    mappings: dict[str, Mapping],
    catalog: CatalogRules,
    stock: StockRules,
    listing: ListingInput = NO_LISTING_INPUT,
) -> Decision:
    """The decision from the product's full listing draft (validated, hashed): the reference ``decide`` keeps."""
    start = _start(product, mappings, catalog, stock, listing)
    return start if isinstance(start, Decision) else _by_draft(start, product, mappings, catalog, listing)


def _start(
    product: CrmProduct, mappings: dict[str, Mapping], catalog: CatalogRules, stock: StockRules, listing: ListingInput
) -> Decision | _Start:
    """The delists, invalid variants and stock offers; a final decision when nothing valid can be listed."""
    live = [m for m in (mappings.get(v.variant_id) for v in product.variants) if m and m.status == "active"]
    delists = [
        ValueChange.of(mappings[v.variant_id], v.sku, stock=0, status="delisted", warehouses=stock.nothing())
        for v in product.variants
        if not v.active and v.variant_id in mappings and mappings[v.variant_id].status == "active"
    ]
    missing = {v.variant_id: _missing(v) for v in product.variants}
    active = [v for v in product.variants if v.active]
    invalid = [(v, reason) for v in active if (reason := missing[v.variant_id]) is not None]
    valid = [v for v in active if missing[v.variant_id] is None]
    decision = Decision(
        product,
        "skip",
        delists=delists,
        invalid=invalid,
        splits={v.variant_id: stock.offer(v.available, v.by_location) for v in valid},
    )
    if not valid:
        decision.action = "delist" if delists else ("fail" if invalid else "skip")
        decision.reason = None if delists or invalid else "no active variant on this channel"
        return decision
    category = listing.profile.category_id or catalog.platform_category(product.category_id)
    if category is None:
        decision.action, decision.reason = (
            "fail",
            "missing required fields: platform category (listing profile or config.catalog)",
        )
        return decision
    kept = [
        v
        for v in product.variants
        if not v.active
        and missing[v.variant_id] is None
        and v.variant_id in mappings
        and mappings[v.variant_id].status in ("active", "delisted")
    ]
    return _Start(decision, valid, kept, live, category)


def _listed(valid: list[CrmVariant], mappings: dict[str, Mapping]) -> dict[str, Mapping]:
    return {
        v.variant_id: mappings[v.variant_id]
        for v in valid
        if v.variant_id in mappings and mappings[v.variant_id].status in ("active", "delisted")
    }


def _by_draft(
    start: _Start, product: CrmProduct, mappings: dict[str, Mapping], catalog: CatalogRules, listing: ListingInput
) -> Decision:
    decision, valid, profile = start.decision, start.valid, listing.profile
    try:
        draft = ListingDraft(
            name=product.name,
            description=product.description,
            category_id=start.category,
            images=profile.images,
            brand=profile.brand,
            attributes=profile.attributes,
            package=profile.package,
            logistics=profile.logistics,
            variants=[
                VariantDraft(
                    sku=str(v.sku),
                    price=money(v.price) or Decimal(0),
                    stock=decision.splits[v.variant_id][0] if v.active else 0,
                    options=v.options,
                    **_variant_content(profile, v),
                )
                for v in [*valid, *start.kept]
            ],
        )
    except ValidationError as exc:
        decision.action = "fail"
        decision.reason = "missing required fields: " + ", ".join(str(e["loc"][0]) for e in exc.errors())
        return decision
    decision.draft, decision.content_hash = draft, content_hash(draft, listing.text)
    mapped = _listed(valid, mappings)
    if not mapped:
        decision.action, decision.delists = "create", []
        refusal = listing.error or _refusal(draft, listing.rules)
        if refusal:
            decision.action, decision.reason = "fail", refusal
        return decision
    decision.content = content_owner(catalog, mapped.values())
    wanted = [Wanted(v.sku, v.price, v.stock) for v in draft.variants]
    decision.item_id = _item_id(mapped, start.live)
    if decision.content == "link":
        return _linked(decision, valid, mapped, wanted)
    if not _same_content(decision.content_hash, valid, mapped, start.live):
        decision.action, decision.delists = "update", []  # the update writes the zero stock itself
        decision.fields = _changed_fields(draft, mapped.values())
        return decision
    return _values(decision, valid, mapped, wanted)


def _without_draft(
    start: _Start, product: CrmProduct, mappings: dict[str, Mapping], catalog: CatalogRules, listing: ListingInput
) -> Decision | None:
    """The decision of a mapped product that needs no listing write (its content unchanged, or the platform's), or
    None: the same values as ``_by_draft`` computes from the draft, read straight from the CRM variants. The draft
    would validate (``_valid_draft``), so ``_by_draft`` would not have failed it."""
    decision, valid = start.decision, start.valid
    mapped = _listed(valid, mappings)
    if not mapped:
        return None
    variants = [*valid, *start.kept]
    wanted = [
        Wanted(str(v.sku), money(v.price) or Decimal(0), decision.splits[v.variant_id][0] if v.active else 0)
        for v in variants
    ]
    if not _valid_draft(product, wanted):
        return None
    content = content_owner(catalog, mapped.values())
    digest = _digest(product, start.category, listing, variants)
    if content == "crm" and not _same_content(digest, valid, mapped, start.live):
        return None
    decision.content_hash, decision.content = digest, content
    decision.item_id = _item_id(mapped, start.live)
    if content == "link":
        return _linked(decision, valid, mapped, wanted)
    return _values(decision, valid, mapped, wanted)


def _valid_draft(product: CrmProduct, wanted: list[Wanted]) -> bool:
    """Whether ``ListingDraft`` would accept the product (its other fields come from a validated profile)."""
    text = isinstance(product.name, str) and isinstance(product.description, str)
    return text and len(product.name) >= 1 and all(w.stock >= 0 for w in wanted)


def _digest(product: CrmProduct, category: str, listing: ListingInput, variants: list[CrmVariant]) -> str:
    """``content_hash`` of the draft ``_by_draft`` would build, from the same values."""
    texts = []
    for v in variants:
        content = _variant_content(listing.profile, v)
        texts.append(_text_of(str(v.sku), v.options, content["images"], content["sale_properties"]))
    text = listing_text(listing.profile) if listing.text is None else listing.text
    return _hash_of(product.name, product.description, category, texts, text)


def _variant_content(profile: ListingProfile, variant: CrmVariant) -> dict[str, Any]:
    """A variant's images and sale-property values: its own in the profile, else its CRM options renamed by
    ``option_names`` (an option the profile does not name is no sale property)."""
    own = profile.variants.get(variant.variant_id)
    renamed = {profile.option_names[k]: v for k, v in variant.options.items() if k in profile.option_names}
    return {
        "images": own.images if own else [],
        "sale_properties": renamed | (own.sale_properties if own else {}),
    }


def _refusal(draft: ListingDraft, rules: ListingRules) -> str | None:
    """What the platform would refuse in this new listing (no call is made for it)."""
    names = {name for v in draft.variants for name in v.sale_properties} or {
        n for v in draft.variants for n in v.options
    }
    shape = DraftShape(
        title=draft.name,
        description=draft.description,
        images=len(draft.images),
        brand=draft.brand,
        package=draft.package,
        logistics=len([c for c in draft.logistics if c.enabled]),
        variants=len(draft.variants),
        sale_properties=len(names),
    )
    refusal = check_rules(rules, shape)
    return refusal.reason() if refusal else None


def apply_requirements(decision: Decision, requirements: Requirements) -> None:
    """A new listing checked against its category's requirements (attributes, their values, brand and package
    rules): what it lacks fails it before any call."""
    if decision.action != "create" or decision.draft is None or decision.draft.category_id is None:
        return
    draft, category = decision.draft, decision.draft.category_id
    if category in requirements.unavailable:
        decision.action = "fail"
        decision.reason = (
            f"category {category}: its requirements could not be read: {requirements.unavailable[category]}"
        )
        return
    found = requirements.found.get(category)
    if found is None:
        return
    problems = check_attributes(found, draft.attributes)
    if found.brand_required and draft.brand is None:
        problems.missing.insert(0, "brand")
    package = draft.package
    sides = (package.length_cm, package.width_cm, package.height_cm) if package else (None, None, None)
    if found.package_dimensions_required:
        problems.missing += [
            f"package_{n}" for n, v in zip(("length", "width", "height"), sides, strict=True) if v is None
        ]
    brand_id = draft.brand.id if draft.brand else None
    problems.invalid += [reason for _, reason in choice_problems(found, brand_id, [c.id for c in draft.logistics])]
    if problems.missing or problems.invalid:
        head = [f"missing required fields: {', '.join(problems.missing)}"] if problems.missing else []
        decision.action, decision.reason = "fail", "; ".join(head + problems.invalid)


def _missing_sides(package: Package | None) -> list[str]:
    sides: dict[str, Decimal | None] = {"length": None, "width": None, "height": None}
    if package is not None:
        sides = {"length": package.length_cm, "width": package.width_cm, "height": package.height_cm}
    return [f"package_{name}" for name, value in sides.items() if value is None]


def _item_id(mapped: dict[str, Mapping], live: list[Mapping]) -> str:
    """The listing holding most of the product's mapped variants."""
    items = {m.platform_item_id for m in mapped.values()} | {m.platform_item_id for m in live}
    return max(items, key=lambda i: sum(1 for m in mapped.values() if m.platform_item_id == i))


def _same_content(digest: str | None, valid: list[CrmVariant], mapped: dict[str, Mapping], live: list[Mapping]) -> bool:
    """Every valid variant mapped, on one listing, each last pushed with this content."""
    items = {m.platform_item_id for m in mapped.values()} | {m.platform_item_id for m in live}
    return len(mapped) == len(valid) and len(items) == 1 and all(m.last_pushed_hash == digest for m in mapped.values())


def _values(decision: Decision, valid: list[CrmVariant], mapped: dict[str, Mapping], wanted: list[Wanted]) -> Decision:
    """A listing whose content stays: only its changed prices and stock."""
    decision.changes = _value_changes(valid, mapped, wanted[: len(valid)], decision.splits)
    decision.action = "values" if decision.changes or decision.delists else "skip"
    decision.fields = _value_fields(decision)
    return decision


def _linked(decision: Decision, valid: list[CrmVariant], mapped: dict[str, Mapping], wanted: list[Wanted]) -> Decision:
    """A listing whose content the platform owns: its mapped variants' stock and price, nothing else - no content
    write, no variant added or removed, no status change (a delisted variant goes to zero stock)."""
    linked = [v for v in valid if v.variant_id in mapped]
    decision.unlinked = [v for v in valid if v.variant_id not in mapped]
    by_sku = {w.sku: w for w in wanted}
    decision.changes = _value_changes(linked, mapped, [by_sku[str(v.sku)] for v in linked], decision.splits)
    decision.action = "values" if decision.changes or decision.delists else "skip"
    if decision.action == "skip":
        decision.reason = "unchanged since the last push (content owned by the platform listing)"
    decision.fields = _value_fields(decision)
    return decision


def _changed_fields(draft: ListingDraft, mappings: Iterable[Mapping]) -> list[str]:
    pushed = next((f for m in mappings if (f := m.pushed_fields())), None)
    wanted = content_fields(draft)
    changed = [name for name, digest in wanted.items() if pushed is None or pushed.get(name) != digest]
    return [*(changed or list(wanted)), "price", "stock"]


def _value_fields(decision: Decision) -> list[str]:
    changes = [*decision.changes, *decision.delists]
    return [
        name
        for name, present in (
            ("price", any(c.price is not None for c in changes)),
            ("stock", any(c.stock is not None for c in changes)),
        )
        if present
    ]


def _value_changes(
    valid: list[CrmVariant],
    mapped: dict[str, Mapping],
    wanted_variants: list[Wanted],
    splits: dict[str, tuple[int, dict[str, int]]],
) -> list[ValueChange]:
    changes = []
    for variant, wanted in zip(valid, wanted_variants, strict=True):
        mapping = mapped[variant.variant_id]
        price = wanted.price if money(mapping.last_pushed_price) != wanted.price else None
        quantity = wanted.stock if mapping.last_pushed_stock != wanted.stock or mapping.status != "active" else None
        if price is not None or quantity is not None:
            split = splits[variant.variant_id][1] if quantity is not None else None
            changes.append(ValueChange.of(mapping, variant.sku, price=price, stock=quantity, warehouses=split))
    return changes
