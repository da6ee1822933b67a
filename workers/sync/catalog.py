"""What a product sync would do to one CRM product, decided without any write: the listing draft, its content hash,
and whether the product is to be created, updated, only re-priced / re-stocked, delisted or skipped.

``product_sync`` executes these decisions; ``nfsync plan`` prints them.
"""

from __future__ import annotations

import hashlib
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


@dataclass(frozen=True)
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
    fields: dict[str, str] | None = None  # digest per content field last pushed

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


@dataclass(frozen=True)
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


@dataclass
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
    parts = [v.sku, *(f"{k}\x1d{value}" for k, value in sorted(v.options.items()))]
    if v.images or v.sale_properties:  # only then: a draft without profile content hashes as it always did
        parts += ["\x1c".join(v.images), *(f"{k}\x1d{value}" for k, value in sorted(v.sale_properties.items()))]
    return "\x1f".join(parts)


def content_hash(draft: ListingDraft, listing: str | None = None) -> str:
    """SHA-256 of the catalog content of a listing (not its prices and stock, which are compared one by one);
    ``listing``: ``listing_text`` of the draft when the caller has it already.

    Fields are joined with ASCII separators (unit, record, group) that never occur in catalog text."""
    variants = sorted(_variant_text(v) for v in draft.variants)
    listing = listing_text(draft) if listing is None else listing
    content = "\x1e".join(
        [draft.name, draft.description, draft.category_id or "", *variants, *([listing] if listing else [])]
    )
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


def decide(
    product: CrmProduct,
    mappings: dict[str, Mapping],
    catalog: CatalogRules,
    stock: StockRules,
    listing: ListingInput = NO_LISTING_INPUT,
) -> Decision:
    """The action for one product against its mappings in the shop."""
    live = [m for m in (mappings.get(v.variant_id) for v in product.variants) if m and m.status == "active"]
    delists = [
        ValueChange.of(mappings[v.variant_id], v.sku, stock=0, status="delisted", warehouses=stock.nothing())
        for v in product.variants
        if not v.active and v.variant_id in mappings and mappings[v.variant_id].status == "active"
    ]
    active = [v for v in product.variants if v.active]
    invalid = [(v, reason) for v in active if (reason := _missing(v)) is not None]
    valid = [v for v in active if _missing(v) is None]
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
    profile = listing.profile
    category = profile.category_id or catalog.platform_category(product.category_id)
    if category is None:
        decision.action, decision.reason = (
            "fail",
            "missing required fields: platform category (listing profile or config.catalog)",
        )
        return decision
    # mapped variants no longer active stay on the listing at zero stock (they come back with their history)
    kept = [
        v
        for v in product.variants
        if not v.active
        and _missing(v) is None
        and v.variant_id in mappings
        and mappings[v.variant_id].status in ("active", "delisted")
    ]
    try:
        draft = ListingDraft(
            name=product.name,
            description=product.description,
            category_id=category,
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
                for v in [*valid, *kept]
            ],
        )
    except ValidationError as exc:
        decision.action = "fail"
        decision.reason = "missing required fields: " + ", ".join(str(e["loc"][0]) for e in exc.errors())
        return decision
    decision.draft, decision.content_hash = draft, content_hash(draft, listing.text)
    mapped = {
        v.variant_id: mappings[v.variant_id]
        for v in valid
        if v.variant_id in mappings and mappings[v.variant_id].status in ("active", "delisted")
    }
    if not mapped:
        decision.action, decision.delists = "create", []
        refusal = listing.error or _refusal(draft, listing.rules)
        if refusal:
            decision.action, decision.reason = "fail", refusal
        return decision
    decision.content = content_owner(catalog, mapped.values())
    return _mapped(decision, valid, mapped, live, draft)


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


def _mapped(
    decision: Decision, valid: list[CrmVariant], mapped: dict[str, Mapping], live: list[Mapping], draft: ListingDraft
) -> Decision:
    """A product already on the platform: update its content (the CRM owns it), or only its values."""
    items = {m.platform_item_id for m in mapped.values()} | {m.platform_item_id for m in live}
    decision.item_id = max(items, key=lambda i: sum(1 for m in mapped.values() if m.platform_item_id == i))
    if decision.content == "link":
        return _linked(decision, valid, mapped, draft)
    same_content = (
        len(mapped) == len(valid)
        and len(items) == 1
        and all(m.last_pushed_hash == decision.content_hash for m in mapped.values())
    )
    if not same_content:
        decision.action, decision.delists = "update", []  # the update writes the zero stock itself
        decision.fields = _changed_fields(draft, mapped.values())
        return decision
    decision.changes = _value_changes(valid, mapped, draft.variants[: len(valid)], decision.splits)
    decision.action = "values" if decision.changes or decision.delists else "skip"
    decision.fields = _value_fields(decision)
    return decision


def _linked(decision: Decision, valid: list[CrmVariant], mapped: dict[str, Mapping], draft: ListingDraft) -> Decision:
    """A listing whose content the platform owns: its mapped variants' stock and price, nothing else - no content
    write, no variant added or removed, no status change (a delisted variant goes to zero stock)."""
    linked = [v for v in valid if v.variant_id in mapped]
    decision.unlinked = [v for v in valid if v.variant_id not in mapped]
    wanted = {w.sku: w for w in draft.variants}
    decision.changes = _value_changes(linked, mapped, [wanted[str(v.sku)] for v in linked], decision.splits)
    decision.action = "values" if decision.changes or decision.delists else "skip"
    if decision.action == "skip":
        decision.reason = "unchanged since the last push (content owned by the platform listing)"
    decision.fields = _value_fields(decision)
    return decision


def _changed_fields(draft: ListingDraft, mappings: Iterable[Mapping]) -> list[str]:
    pushed = next((m.fields for m in mappings if m.fields), None)
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
    wanted_variants: list[VariantDraft],
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
