"""Category requirements read from each platform's documented answer (docs/platforms/listings/), and a listing's
attributes checked against them."""

from __future__ import annotations

from decimal import Decimal

from nfsync.connectors.base.categories import (
    AttributeOption,
    AttributeRule,
    CategoryRequirements,
    check_attributes,
    choice_problems,
)
from nfsync.connectors.base.listing import AttributeValue, Package
from nfsync.connectors.lazada import mapping as lazada
from nfsync.connectors.shopee import LISTING_RULES as SHOPEE_RULES
from nfsync.connectors.shopee import mapping as shopee
from nfsync.connectors.tiktok import mapping as tiktok
from nfsync.workers.crm import CrmProduct, CrmVariant
from nfsync.workers.lab.sandbox_shops import LISTING_DEFAULTS
from nfsync.workers.listing.requirements import Requirements, profile_needs
from nfsync.workers.sync.catalog import Decision, ListingInput, apply_requirements, decide
from nfsync.workers.sync.rules import CatalogRules, StockRules

MATERIAL = AttributeRule(
    id="100134",
    name="Material",
    required=True,
    custom=False,
    values=[AttributeOption(id="1001", name="Cotton"), AttributeOption(id="1002", name="Linen")],
)
MODELS = AttributeRule(id="100200", name="Compatible Model", required=True, multiple=True)
COLOR = AttributeRule(id="100300", name="Color", required=True, sale_property=True)
SHIRTS = CategoryRequirements(category_id="100017", attributes=[MATERIAL, MODELS, COLOR])


def test_shopee_attribute_tree_and_brand_list() -> None:
    tree = {
        "list": [
            {
                "category_id": 100017,
                "attribute_tree": [
                    {
                        "attribute_id": 100134,
                        "mandatory": True,
                        "name": "Material",
                        "attribute_value_list": [{"value_id": 1001, "name": "Cotton"}],
                        "attribute_info": {"input_type": 1, "max_value_count": 1},
                    },
                    {"attribute_id": 100200, "mandatory": False, "name": "Style", "attribute_info": {"input_type": 5}},
                ],
            }
        ]
    }
    found = shopee.category_requirements("100017", tree, [{"is_mandatory": True}])
    material, style = found.attributes
    assert (material.required, material.multiple, material.custom, material.max_values) == (True, False, False, 1)
    assert material.values == [AttributeOption(id="1001", name="Cotton")]
    assert (style.required, style.multiple, style.custom) == (False, True, True)
    assert found.brand_required


def test_lazada_attributes_skip_the_listings_own_fields() -> None:
    data = [
        {"name": "name", "is_mandatory": 1, "input_type": "text"},
        {"name": "brand", "is_mandatory": 1, "input_type": "singleSelect"},
        {"name": "package_length", "is_mandatory": 1, "attribute_type": "sku"},
        {
            "name": "Material",
            "is_mandatory": "1",
            "is_sale_prop": 0,
            "input_type": "singleSelect",
            "options": [{"id": 7, "name": "Vải", "en_name": "Cotton"}],
        },
        {"name": "color_family", "is_mandatory": 0, "is_sale_prop": 1, "input_type": "multiEnumInput"},
    ]
    found = lazada.category_requirements("100017", data)
    assert [a.id for a in found.attributes] == ["Material", "color_family"]
    assert found.attributes[0].values == [AttributeOption(id="7", name="Cotton")], "en_name is what a payload sends"
    assert found.attributes[1].sale_property and found.attributes[1].multiple
    assert found.brand_required and found.package_dimensions_required


def test_tiktok_attributes_with_the_references_spelling_and_rules() -> None:
    attributes = {
        "attributes": [
            {
                "id": "100134",
                "name": "Material",
                "type": "PRODUCT_PROPERTY",
                "is_requried": True,
                "values": [{"id": "1001", "name": "Cotton"}],
                "is_customizable": False,
            },
            {"id": "100300", "name": "Color", "type": "SALES_PROPERTY", "values": []},
        ]
    }
    found = tiktok.category_requirements("100017", attributes, {"package_dimension": {"is_required": True}})
    assert [a.name for a in found.required()] == ["Material"]
    assert found.attributes[1].sale_property and found.package_dimensions_required


def test_check_attributes_names_what_is_missing_and_what_is_wrong() -> None:
    problems = check_attributes(SHIRTS, [AttributeValue(id="100134", values=["Wool", "Cotton"])])
    assert problems.missing == ['attribute "Compatible Model"'], "sale properties are not product attributes"
    assert problems.invalid == [
        "attribute \"Material\": 'Wool' is not one of its values",
        'attribute "Material" takes one value',
    ]
    unknown = check_attributes(SHIRTS, [AttributeValue(id="9", values=["x"])])
    assert unknown.invalid == ["attribute '9' is not an attribute of category 100017"]
    by_name = check_attributes(
        SHIRTS, [AttributeValue(id="Material", values=["Linen"]), AttributeValue(id="100200", values=["A", "B"])]
    )
    assert (by_name.missing, by_name.invalid) == ([], [])


def _create() -> Decision:
    product = CrmProduct(
        "p1",
        "Cotton shirt with a collar, short sleeves",
        "Soft.",
        None,
        True,
        [CrmVariant("v1", "SKU-1", Decimal(10), Decimal(1), Decimal(0), {}, True)],
    )
    profile = LISTING_DEFAULTS.model_copy(update={"category_id": "100017", "package": Package(weight_kg=Decimal(1))})
    return decide(product, {}, CatalogRules.parse({}), StockRules.parse({}), ListingInput(profile, SHOPEE_RULES))


def test_apply_requirements_fails_a_create_with_every_missing_field() -> None:
    decision = _create()
    needs = SHIRTS.model_copy(update={"brand_required": True, "package_dimensions_required": True})
    apply_requirements(decision, Requirements(found={"100017": needs}))
    assert decision.action == "fail"
    assert decision.reason == (
        'missing required fields: attribute "Material", attribute "Compatible Model", '
        "package_length, package_width, package_height"
    )


def test_a_category_whose_requirements_cannot_be_read_fails_its_creates_only() -> None:
    decision = _create()
    apply_requirements(decision, Requirements(unavailable={"100017": "shopee: error_invalid_category"}))
    assert decision.reason == "category 100017: its requirements could not be read: shopee: error_invalid_category"


def test_profile_needs_in_words() -> None:
    needs = profile_needs(SHOPEE_RULES, SHIRTS)
    assert needs == [
        "brand",
        "package.weight_kg",
        "logistics: an enabled channel",
        "images: 1 to 9",
        'attribute "Material" (id 100134): one of Cotton, Linen',
        'attribute "Compatible Model" (id 100200)',
    ]


def test_tiktok_requirement_conditions_make_an_attribute_required_by_another_ones_value() -> None:
    attributes = {
        "attributes": [
            {"id": "100134", "name": "Material", "is_requried": True, "values": [{"id": "1002", "name": "Linen"}]},
            {
                "id": "100135",
                "name": "Sleeve Length",
                "is_requried": False,
                "values": [{"id": "2001", "name": "Short"}],
                "requirement_conditions": [
                    {"condition_type": "VALUE_ID_MATCH", "attribute_id": "100134", "attribute_value_id": "1002"}
                ],
            },
        ]
    }
    found = tiktok.category_requirements("100017", attributes, {})
    for linen in ("1002", "Linen"):  # by value id or by its name
        problems = check_attributes(found, [AttributeValue(id="100134", values=[linen])])
        assert problems.missing == ['attribute "Sleeve Length"'], linen
    assert check_attributes(found, [AttributeValue(id="100134", values=["Cotton"])]).missing == []


def test_shopee_brands_are_held_only_when_every_page_was_read_and_channels_only_when_enabled() -> None:
    page = {"brand_list": [{"brand_id": 0, "original_brand_name": "No brand"}], "has_next_page": False}
    channels = {
        "logistics_channel_list": [
            {"logistics_channel_id": 1, "logistics_channel_name": "On", "enabled": True, "mask_channel_id": 0},
            {"logistics_channel_id": 2, "logistics_channel_name": "Off", "enabled": False, "mask_channel_id": 0},
            {"logistics_channel_id": 3, "logistics_channel_name": "Masked", "enabled": True, "mask_channel_id": 9},
        ]
    }
    found = shopee.category_requirements("100017", {}, [page], channels)
    assert [b.id for b in found.brands or []] == ["0"] and [c.id for c in found.logistics or []] == ["1"]
    partial = shopee.category_requirements("100017", {}, [{**page, "has_next_page": True, "next_offset": 100}])
    assert partial.brands is None and partial.logistics is None, "an unread page or list: nothing is refused"
    assert choice_problems(found, "0", ["1"]) == []
    assert choice_problems(found, "7", ["2"]) == [
        ("brand.id", "brand 7 is not one of the category's brands"),
        ("logistics.0.id", "logistics channel 2 is not enabled for this shop"),
    ]
    assert choice_problems(partial, "7", ["2"]) == []


def test_tiktok_usable_brands_follow_get_brands_rules() -> None:
    def brand(status: str, available: str = "AVAILABLE", t1: bool = False) -> dict[str, object]:
        return {"authorized_status": status, "brand_status": available, "is_t1_brand": t1}

    assert tiktok.usable(brand("AUTHORIZED")) and not tiktok.usable(brand("AUTHORIZED", "UNAVAILABLE"))
    assert tiktok.usable(brand("UNAUTHORIEZD")) and not tiktok.usable(brand("UNAUTHORIEZD", t1=True))
