"""The fast decision of an unchanged re-sync (issue #20) agrees with the decision built from the full listing draft.

``decide`` decides a mapped product whose content is unchanged, or owned by the platform, without building its draft.
``decide_by_draft`` always builds it, validates it and hashes it. For random catalogs, listing profiles, shop rules
and mappings (right and wrong hashes, prices and stock; active, delisted and failed; one or two listings; created,
adopted and pulled), the two must agree on every field of every decision: the fast one only leaves the draft out.
"""

from __future__ import annotations

from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nfsync.workers.crm import CrmProduct, CrmVariant
from nfsync.workers.listing.profiles import ListingProfile, VariantContent
from nfsync.workers.sync.catalog import Decision, ListingInput, Mapping, decide, decide_by_draft
from nfsync.workers.sync.rules import CatalogRules, StockRules, money

WORDS = st.sampled_from(["", " ", "Tee", "Áo thun", "Red", "M", "L", "x" * 30, "Size", "Color"])
SKUS = st.sampled_from([None, "A-1", "A-2", "B-1", "B-2", "dup", "dup", "C-1", "C-2", "C-3"])
AMOUNTS = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)
PRICES = st.one_of(st.none(), AMOUNTS, AMOUNTS, AMOUNTS)  # a quarter without a price (not listable)


@st.composite
def variants(draw: Any, product: int) -> list[CrmVariant]:
    made = []
    for number in range(draw(st.integers(1, 4))):
        options = draw(st.dictionaries(st.sampled_from(["Size", "Color", "Kích cỡ"]), WORDS, max_size=2))
        by_location = draw(st.dictionaries(st.sampled_from(["loc-1", "loc-2"]), st.integers(-3, 20), max_size=2))
        on_hand = draw(st.integers(-5, 50))
        made.append(
            CrmVariant(
                f"v{product}-{number}",
                draw(SKUS),
                draw(PRICES),
                Decimal(on_hand),
                Decimal(draw(st.integers(0, 10))),
                options,
                draw(st.integers(0, 4)) > 0,
                by_location,
            )
        )
    return made


@st.composite
def products(draw: Any) -> list[CrmProduct]:
    made = []
    for number in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(["Tee", "Tee", "Áo thun", "", " "]))
        product = CrmProduct(f"p{number}", name, draw(WORDS), draw(st.sampled_from([None, "c1", "c2"])), True)
        product.variants = draw(variants(number))
        made.append(product)
    return made


@st.composite
def profiles(draw: Any, ids: list[str]) -> ListingProfile:
    own = (
        {
            variant: VariantContent(
                images=draw(
                    st.lists(st.sampled_from(["https://img.example/a.jpg", "https://img.example/b.jpg"]), max_size=2)
                ),
                sale_properties=draw(
                    st.dictionaries(st.sampled_from(["Màu", "Kích"]), st.sampled_from(["Đỏ", "M"]), max_size=1)
                ),
            )
            for variant in draw(st.lists(st.sampled_from(ids), unique=True, max_size=3))
        }
        if ids
        else {}
    )
    return ListingProfile(
        category_id=draw(st.sampled_from([None, "100", "200"])),
        images=draw(st.lists(st.sampled_from(["https://img.example/p.jpg"]), max_size=1)),
        option_names=draw(
            st.dictionaries(st.sampled_from(["Size", "Color"]), st.sampled_from(["Kích", "Màu"]), max_size=2)
        ),
        variants=own,
    )


def catalog_rules(draw: Any) -> CatalogRules:
    return CatalogRules.parse(
        {
            "content": draw(st.sampled_from([None, "crm", "link"])),
            "category_map": draw(st.sampled_from([{}, {"c1": "100"}])),
            "default_category_id": draw(st.sampled_from([None, "900"])),
        }
    )


def stock_rules(draw: Any) -> StockRules:
    return StockRules.parse(
        {
            "safety_buffer": draw(st.integers(0, 3)),
            "allocation_percent": draw(st.sampled_from([100, 50])),
            "zero_below": draw(st.integers(0, 2)),
            "warehouses": draw(st.sampled_from([None, {"loc-1": "W1"}, {"loc-1": "W1", "loc-2": "W2"}])),
        }
    )


def mapping_of(draw: Any, product: CrmProduct, variant: CrmVariant, digest: str | None, stock: StockRules) -> Mapping:
    """Mostly what was last pushed (so that many products are unchanged), sometimes anything."""
    pushed_hash = draw(st.sampled_from([digest, digest, "stale", None]))
    price = money(variant.price) if draw(st.integers(0, 3)) else draw(PRICES)
    offered = stock.offer(variant.available, variant.by_location)[0]
    pushed_stock = offered if draw(st.integers(0, 3)) else draw(st.one_of(st.none(), st.integers(0, 50)))
    return Mapping(
        variant.variant_id,
        product.product_id,
        draw(st.sampled_from(["item-1", "item-1", "item-1", "item-2"])),
        draw(st.sampled_from([None, f"pv-{variant.variant_id}"])),
        draw(st.sampled_from([None, variant.sku, "other"])),
        "active",
        pushed_hash,
        price,
        pushed_stock,
        draw(st.sampled_from(["created", "created", "adopted", "pulled"])),
        draw(st.sampled_from([None, '{"name": "abc"}', {"variants": "def"}])),
    )


def same(fast: Decision, reference: Decision) -> None:
    for part in fields(Decision):
        if part.name == "draft" and fast.draft is None and reference.draft is not None:
            assert reference.action in ("values", "skip"), reference.describe()  # decided without its draft
            continue
        assert getattr(fast, part.name) == getattr(reference, part.name), (part.name, reference.describe())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_fast_decision_equals_the_decision_by_draft(data: st.DataObject) -> None:
    catalog, stock = catalog_rules(data.draw), stock_rules(data.draw)
    made = data.draw(products())
    ids = [v.variant_id for p in made for v in p.variants]
    profile = data.draw(profiles(ids))
    listing = ListingInput(profile, text=data.draw(st.sampled_from([None, None, ""])))
    for product in made:
        statuses = {
            v.variant_id: data.draw(st.sampled_from(["active", "active", "active", "delisted", "failed", None]))
            for v in product.variants
        }
        # the digest the CRM content gives under these mappings' statuses (which decide the kept variants)
        probe = {
            v.variant_id: Mapping(v.variant_id, product.product_id, "item-1", None, None, s, None, None, None)
            for v in product.variants
            if (s := statuses[v.variant_id]) is not None
        }
        digest = decide_by_draft(product, probe, catalog, stock, listing).content_hash
        mappings = {
            v.variant_id: replace(mapping_of(data.draw, product, v, digest, stock), status=statuses[v.variant_id])
            for v in product.variants
            if statuses[v.variant_id] is not None
        }
        fast = decide(product, mappings, catalog, stock, listing)
        reference = decide_by_draft(product, mappings, catalog, stock, listing)
        same(fast, reference)


def test_the_fast_path_is_taken_for_an_unchanged_product() -> None:
    """The equivalence above would hold trivially if the fast path were never taken."""
    product = CrmProduct("p1", "Tee", "Cotton", "c1", True)
    product.variants = [
        CrmVariant(f"v{n}", f"SKU-{n}", Decimal("10.00"), Decimal(5), Decimal(0), {"Size": f"S{n}"}, True)
        for n in range(3)
    ]
    catalog, stock, listing = CatalogRules.parse({"category_map": {"c1": "100"}}), StockRules(), ListingInput()
    digest = decide_by_draft(product, {}, catalog, stock, listing).content_hash
    mappings = {
        v.variant_id: Mapping(
            v.variant_id, "p1", "item-1", f"pv{v.variant_id}", v.sku, "active", digest, Decimal(10), 5
        )
        for v in product.variants
    }
    fast = decide(product, mappings, catalog, stock, listing)
    assert fast.action == "skip" and fast.draft is None and fast.content_hash == digest
    changed = replace(product, name="Tee v2")
    assert decide(changed, mappings, catalog, stock, listing).action == "update"
