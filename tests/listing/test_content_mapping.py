"""The listing profile's content in each platform's create body (docs/platforms/listings/): units, id types and
field names as the references give them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.listing import AttributeValue, Brand, LogisticsChannel, Package
from nfsync.connectors.base.models import ListingDraft, VariantDraft
from nfsync.connectors.lazada import mapping as lazada
from nfsync.connectors.shopee import mapping as shopee
from nfsync.connectors.tiktok import mapping as tiktok
from nfsync.connectors.woocommerce import mapping as woo

DRAFT = ListingDraft(
    name="Cotton shirt with a collar, short sleeves",
    description="Soft.",
    category_id="100017",
    images=["img-1"],
    brand=Brand(id="0", name="No brand"),
    attributes=[AttributeValue(id="100134", values=["7", "Linen blend"], unit="cm")],
    package=Package(
        weight_kg=Decimal("0.35"), length_cm=Decimal("20.2"), width_cm=Decimal(15), height_cm=Decimal("2.5")
    ),
    logistics=[LogisticsChannel(id="80001", shipping_fee=Decimal("1.50")), LogisticsChannel(id="80003", enabled=False)],
    variants=[
        VariantDraft(
            sku="S-1", price=Decimal(100), stock=3, options={"Color": "Red"}, sale_properties={"color_family": "Red"}
        ),
        VariantDraft(sku="S-2", price=Decimal(100), stock=4, options={"Color": "Blue"}),
    ],
)


def test_shopee_add_item_carries_brand_attributes_weight_dimension_and_logistics() -> None:
    body = shopee.add_item_body(DRAFT, {"weight_kg": "9", "logistic_ids": "1"})
    assert body["brand"] == {"brand_id": 0, "original_brand_name": "No brand"}
    assert body["attribute_list"] == [
        {
            "attribute_id": 100134,
            "attribute_value_list": [
                {"value_id": 7},
                {"value_id": 0, "original_value_name": "Linen blend", "value_unit": "cm"},
            ],
        }
    ]
    assert body["weight"] == 0.35, "the profile's weight wins over the shop's setting"
    assert body["dimension"] == {"package_length": 21, "package_width": 15, "package_height": 3}
    assert body["logistic_info"] == [
        {"logistic_id": 80001, "enabled": True, "shipping_fee": 1.5},
        {"logistic_id": 80003, "enabled": False},
    ]


def test_shopee_refuses_ids_that_are_not_int64_before_the_call() -> None:
    draft = DRAFT.model_copy(update={"brand": Brand(id="no-brand")})
    with pytest.raises(PermanentError, match=r"brand\.id must be a Shopee id"):
        shopee.add_item_body(draft, {})
    with pytest.raises(PermanentError, match="category_id"):
        shopee.add_item_body(DRAFT.model_copy(update={"category_id": str(2**63)}), {})


def test_shopee_without_profile_content_keeps_the_shop_settings() -> None:
    plain = ListingDraft(name="Shirt", category_id="1", variants=[VariantDraft(sku="A", price=Decimal(1), stock=1)])
    body = shopee.add_item_body(plain, {"weight_kg": "2", "logistic_ids": "5,6"})
    assert body["weight"] == 2.0 and [c["logistic_id"] for c in body["logistic_info"]] == [5, 6]
    assert "brand" not in body and "dimension" not in body


def test_lazada_create_payload_puts_brand_and_attributes_on_the_product_and_the_package_on_every_sku() -> None:
    product = json.loads(lazada.create_payload(DRAFT))["Request"]["Product"]
    assert product["Attributes"]["brand_id"] == "0" and product["Attributes"]["brand"] == "No brand"
    assert product["Attributes"]["100134"] == "7,Linen blend"
    first, second = product["Skus"]["Sku"]
    package = {"package_weight": "0.35", "package_length": "20.20", "package_width": "15.00", "package_height": "2.50"}
    assert {k: first[k] for k in package} == package and {k: second[k] for k in package} == package
    assert first["saleProp"] == {"color_family": "Red"} and second["saleProp"] == {"Color": "Blue"}
    assert all(isinstance(v, str) for sku in (first, second) for k, v in sku.items() if k != "saleProp")


def test_tiktok_create_body_has_the_sea_units() -> None:
    body = tiktok.product_payload(DRAFT, "wh-1", "VND", {"value": "9", "unit": "KILOGRAM"})
    assert body["brand_id"] == "0"
    assert body["product_attributes"] == [{"id": "100134", "values": [{"id": "7"}, {"name": "Linen blend"}]}]
    assert body["package_weight"] == {"value": "0.35", "unit": "KILOGRAM"}
    assert body["package_dimensions"] == {"length": "21", "width": "15", "height": "3", "unit": "CENTIMETER"}
    assert body["skus"][0]["sales_attributes"] == [{"name": "color_family", "value_name": "Red"}]
    assert body["skus"][1]["sales_attributes"] == [{"name": "Color", "value_name": "Blue"}]


def test_woocommerce_gets_the_package_in_the_stores_units() -> None:
    package = Package(weight_kg=Decimal("0.5"), length_cm=Decimal(20), width_cm=Decimal("15.5"), height_cm=Decimal(5))
    assert woo.package_body(package, woo.StoreUnits()) == {
        "weight": "0.5",
        "dimensions": {"length": "20", "width": "15.5", "height": "5"},
    }
    assert woo.package_body(package, woo.StoreUnits("lbs", "in")) == {
        "weight": "1.102",
        "dimensions": {"length": "7.874", "width": "6.102", "height": "1.969"},
    }
    assert woo.package_body(package, woo.StoreUnits("g", "mm"))["weight"] == "500"
    assert woo.package_body(package, woo.StoreUnits("oz", "yd"))["weight"] == "17.637"
    assert woo.package_body(None, woo.StoreUnits("stone", "cubit")) == {}
    with pytest.raises(PermanentError, match="units nfsync does not know"):
        woo.package_body(package, woo.StoreUnits("stone", "cm"))
