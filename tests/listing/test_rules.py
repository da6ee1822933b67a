"""A product checked against its listing profile and the platform's rules before any call (issue #16): what each
platform refuses a new listing without is a failed decision with the exact fields, and changes nothing else."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from nfsync.connectors.base.spec import PLATFORM_PACKAGES, load
from nfsync.workers.crm import CrmProduct, CrmVariant
from nfsync.workers.lab.sandbox_shops import LISTING_DEFAULTS
from nfsync.workers.listing.profiles import ListingProfile, merged
from nfsync.workers.sync.catalog import ListingInput, Mapping, content_hash, decide
from nfsync.workers.sync.rules import CatalogRules, StockRules

CATALOG = CatalogRules.parse({"default_category_id": "100100"})
STOCK = StockRules.parse({})
LONG_NAME = "Cotton shirt with a collar, short sleeves"
PACKAGE = "package_weight, package_length, package_width, package_height"


def _product(name: str = LONG_NAME, description: str = "Soft cotton.", variants: int = 2) -> CrmProduct:
    return CrmProduct(
        "p1",
        name,
        description,
        None,
        True,
        [
            CrmVariant(f"v{i}", f"SKU-{i}", Decimal(100), Decimal(5), Decimal(0), {"Color": f"c{i}"}, True)
            for i in range(variants)
        ],
    )


def _input(platform: str, profile: ListingProfile | None = None, error: str | None = None) -> ListingInput:
    return ListingInput(profile or ListingProfile(), load(platform).listing, error)


@pytest.mark.parametrize(
    ("platform", "missing"),
    [
        ("shopee", "missing required fields: brand, package_weight, logistics, images"),
        (
            "lazada",
            "missing required fields: brand, package_weight, package_length, package_width, package_height, images",
        ),
        ("tiktok", "missing required fields: package_weight, package_length, package_width, package_height, images"),
    ],
)
def test_a_new_listing_without_a_profile_fails_with_what_the_platform_needs(platform: str, missing: str) -> None:
    decision = decide(_product(), {}, CATALOG, STOCK, _input(platform))
    assert (decision.action, decision.reason) == ("fail", missing)


def test_woocommerce_needs_nothing_more() -> None:
    assert decide(_product(), {}, CATALOG, STOCK, _input("woocommerce")).action == "create"


@pytest.mark.parametrize("platform", PLATFORM_PACKAGES)
def test_the_lab_defaults_satisfy_every_platform(platform: str) -> None:
    decision = decide(_product(), {}, CATALOG, STOCK, _input(platform, LISTING_DEFAULTS))
    assert decision.action == "create", decision.reason
    assert decision.draft is not None and decision.draft.brand == LISTING_DEFAULTS.brand


def test_tiktok_titles_outside_25_to_255_characters_are_refused() -> None:
    decision = decide(_product(name="Shirt"), {}, CATALOG, STOCK, _input("tiktok", LISTING_DEFAULTS))
    assert decision.reason == "the title must be 25 to 255 characters (it has 5)"


def test_limits_beyond_presence() -> None:
    heavy = merged([LISTING_DEFAULTS, ListingProfile.model_validate({"package": {"weight_kg": 41, "length_cm": 290}})])
    decision = decide(_product(variants=51), {}, CATALOG, STOCK, _input("lazada", heavy))
    assert decision.action == "fail"
    assert decision.reason == (
        "at most 50 variants (it has 51); the package may weigh at most 40 kg; "
        "length + width + height may be at most 300 cm"
    )


def test_the_profile_category_and_content_reach_the_draft() -> None:
    profile = merged(
        [
            LISTING_DEFAULTS,
            ListingProfile.model_validate(
                {
                    "category_id": "777",
                    "attributes": [{"id": "100134", "values": ["Cotton"]}],
                    "option_names": {"Color": "Colour"},
                    "variants": {
                        "v1": {"images": ["https://img.example.com/v1.jpg"], "sale_properties": {"Size": "M"}}
                    },
                }
            ),
        ]
    )
    decision = decide(_product(), {}, CATALOG, STOCK, _input("shopee", profile))
    draft = decision.draft
    assert draft is not None and draft.category_id == "777" and draft.attributes[0].values == ["Cotton"]
    assert [v.sale_properties for v in draft.variants] == [{"Colour": "c0"}, {"Colour": "c1", "Size": "M"}]
    assert draft.variants[1].images == ["https://img.example.com/v1.jpg"]


def test_a_bad_metadata_layer_fails_a_create_only() -> None:
    error = "metadata.marketplace.shopee.brand: Value error, a brand needs an id or a name"
    created = decide(_product(), {}, CATALOG, STOCK, _input("shopee", LISTING_DEFAULTS, error))
    assert (created.action, created.reason) == ("fail", error)
    product = _product()
    draft = decide(product, {}, CATALOG, STOCK).draft
    assert draft is not None
    mappings = {
        v.variant_id: Mapping(
            v.variant_id, "p1", "item-1", f"m{i}", v.sku, "active", content_hash(draft), Decimal(90), 5
        )
        for i, v in enumerate(product.variants)
    }
    mapped = decide(product, mappings, CATALOG, STOCK, _input("shopee", None, error))
    assert mapped.action == "values" and [c.price for c in mapped.changes] == [Decimal(100), Decimal(100)]


def test_a_listed_product_without_a_profile_keeps_its_stock_and_price_flow() -> None:
    """A product listed before profiles existed: no refusal, its hash unchanged, so the upgrade rewrites nothing."""
    product = _product()
    draft = decide(product, {}, CATALOG, STOCK).draft
    assert draft is not None
    mappings = {
        v.variant_id: Mapping(
            v.variant_id, "p1", "item-1", f"m{i}", v.sku, "active", content_hash(draft), Decimal(100), 5
        )
        for i, v in enumerate(product.variants)
    }
    assert decide(product, mappings, CATALOG, STOCK, _input("lazada")).action == "skip"


def _mapped(product: CrmProduct, pushed_hash: str, price: Decimal) -> dict[str, Mapping]:
    return {
        v.variant_id: Mapping(v.variant_id, "p1", "item-1", f"m{i}", v.sku, "active", pushed_hash, price, 5)
        for i, v in enumerate(product.variants)
    }


def _legacy_hash(product: CrmProduct) -> str:
    """The content hash as releases before listing profiles computed it."""
    variants = sorted(
        "\x1f".join([str(v.sku), *(f"{k}\x1d{value}" for k, value in sorted(v.options.items()))])
        for v in product.variants
    )
    content = "\x1e".join([product.name, product.description, "100100", *variants])
    return hashlib.sha256(content.encode()).hexdigest()


def test_a_draft_without_profile_content_hashes_as_before() -> None:
    product = _product()
    plain = decide(product, {}, CATALOG, STOCK)
    assert plain.content_hash == _legacy_hash(product)
    branded = decide(product, {}, CATALOG, STOCK, _input("woocommerce", LISTING_DEFAULTS))
    assert branded.content_hash != plain.content_hash, "a profile's content is content"
