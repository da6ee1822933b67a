"""``ListingVariant.barcode``: each connector reads the platform's barcode field where the platform's reference puts
it, and each sandbox answers it in that place and shape.

Sources (the facts, per platform; docs/platforms/listings/*.md and docs/platforms/woocommerce.md, "Barcodes"):

- Shopee: ``get_item_base_info`` ``item_list[].gtin_code`` (items without models; BR) and ``get_model_list``
  ``model[].gtin_code`` (TW, BR local sellers); "00" marks "no GTIN" (lazykern/ecommerce-api-docs@eba059e
  ``data/raw/shopee/apis/product/v2.product.get_item_base_info.json``, ``v2.product.get_model_list.json``);
- Lazada: the SKU-level category attribute ``gtin`` (GetCategoryAttributes sample, same repository,
  ``data/processed/lazada/guides/api-best-practice/product-operation/product-management/get-category-attributes.md``)
  read as ``skus[].gtin`` of GetProducts / GetProductItem: UNCONFIRMED;
- TikTok Shop: Get Product 202309 ``data.skus[].identifier_code{code, type}`` (``data/raw/tiktok/api-reference/
  products/get-product.spec.json``); Search Products 202502 has none (``search-products.spec.json``);
- WooCommerce: ``global_unique_id`` on v3 products and variations (WooCommerce 9.2, woocommerce/woocommerce PR #47364;
  ``class-wc-rest-products-controller.php`` schema; woocommerce-rest-api-docs PR #261).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nfsync.connectors.base.models import Listing, ListingDraft, VariantDraft, barcode_of
from nfsync.connectors.lazada import mapping as lazada
from nfsync.connectors.shopee import mapping as shopee
from nfsync.connectors.tiktok import mapping as tiktok
from nfsync.connectors.tiktok.client import PRODUCT_SEARCH, PRODUCTS
from nfsync.connectors.woocommerce import mapping as woocommerce
from tests.connectors.test_contract import Rig, rig
from tests.connectors.test_shopee import Env as ShopeeEnv
from tests.connectors.test_shopee import env as shopee_env
from tests.connectors.test_tiktok import Env as TikTokEnv
from tests.connectors.test_tiktok import env

__all__ = ["env", "rig", "shopee_env"]

EAN = "8934567890123"
LEADING_ZEROS = "0012345678905"  # a UPC-A as GTIN-13: the zeros are part of the code


def _barcodes(listings: list[Listing]) -> dict[str, str | None]:
    return {variant.sku: variant.barcode for listing in listings for variant in listing.variants}


# ------------------------------------------------------------------------------------------------ the shared rule


def test_barcode_text_rule() -> None:
    assert barcode_of(" 0012345678905 ") == LEADING_ZEROS
    assert barcode_of("") is None and barcode_of("   ") is None and barcode_of(None) is None
    assert barcode_of(12345678905) is None  # a number has lost its leading zeros: not a barcode
    assert barcode_of("00", placeholders={"00"}) is None and barcode_of("00") == "00"


# ------------------------------------------------------------------------------------------ every platform's sandbox


def _seed(rig: Rig) -> list[str]:
    """Single-SKU items with a barcode, none, an empty one, a blank one; an item with models holding a barcode,
    none and an empty one."""
    if rig.spec.name == "shopee":
        rig.shop.region = "BR"  # the only region where Shopee documents both gtin_code fields
    singles = {"ONE-EAN": EAN, "ONE-ZERO": LEADING_ZEROS, "ONE-NONE": None, "ONE-EMPTY": "", "ONE-BLANK": "  "}
    ids = []
    for sku, code in singles.items():
        variant = {"sku": sku, "price": "100", "stock": 1} | ({} if code is None else {"barcode": code})
        ids.append(rig.sandbox.add_listing(rig.shop, f"Single {sku}", [variant]).item_id)
    shirt = [
        {"sku": "SHIRT-R", "price": "100", "stock": 1, "options": {"Color": "Red"}, "barcode": EAN[::-1]},
        {"sku": "SHIRT-B", "price": "100", "stock": 1, "options": {"Color": "Blue"}},
        {"sku": "SHIRT-G", "price": "100", "stock": 1, "options": {"Color": "Green"}, "barcode": ""},
    ]
    return [*ids, rig.sandbox.add_listing(rig.shop, "Shirt with models", shirt).item_id]


EXPECTED = {
    "ONE-EAN": EAN,
    "ONE-ZERO": LEADING_ZEROS,
    "ONE-NONE": None,
    "ONE-EMPTY": None,
    "ONE-BLANK": None,
    "SHIRT-R": EAN[::-1],
    "SHIRT-B": None,
    "SHIRT-G": None,
}


async def test_get_listings_reads_the_barcode_the_sandbox_holds(rig: Rig) -> None:
    ids = _seed(rig)
    assert _barcodes(await rig.client.get_listings(ids)) == EXPECTED


async def test_iter_listings_reads_the_same_barcodes(rig: Rig) -> None:
    """A full pull: the same codes, except TikTok Shop, whose Search Products documents no identifier_code."""
    _seed(rig)
    found = _barcodes([listing async for listing in rig.client.iter_listings()])
    expected = {sku: None for sku in EXPECTED} if rig.spec.name == "tiktok" else EXPECTED
    assert found == expected


# ------------------------------------------------------------------------------------------------------- Shopee


def _shopee_seed(env: ShopeeEnv) -> tuple[str, str]:
    add = env.sandbox.add_listing
    single = add(env.shop, "Single", [{"sku": "S-1", "price": "100", "stock": 1, "barcode": EAN}]).item_id
    tiered = add(
        env.shop,
        "Tiered",
        [
            {"sku": "T-1", "price": "100", "stock": 1, "options": {"Size": "S"}, "barcode": LEADING_ZEROS},
            {"sku": "T-2", "price": "100", "stock": 1, "options": {"Size": "M"}, "barcode": "00"},
        ],
    ).item_id
    return single, tiered


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("BR", {"S-1": EAN, "T-1": LEADING_ZEROS, "T-2": None}),  # "00" is the no-GTIN marker
        ("TW", {"S-1": None, "T-1": LEADING_ZEROS, "T-2": None}),  # models only
        ("VN", {"S-1": None, "T-1": None, "T-2": None}),  # not documented there
    ],
)
async def test_shopee_gtin_code_by_region(shopee_env: ShopeeEnv, region: str, expected: dict[str, Any]) -> None:
    shopee_env.shop.region = region
    single, tiered = _shopee_seed(shopee_env)
    assert _barcodes(await shopee_env.client.get_listings([single, tiered])) == expected


# ------------------------------------------------------------------------------------------------- TikTok Shop


async def test_tiktok_identifier_code_is_in_get_product_only(env: TikTokEnv) -> None:
    listing = env.sandbox.add_listing(
        env.shop,
        "Socks with identifier codes",
        [
            {"sku": "SOCK-1", "price": "10", "stock": 1, "options": {"Size": "S"}, "barcode": EAN},
            {"sku": "SOCK-2", "price": "10", "stock": 1, "options": {"Size": "M"}, "barcode": "012345678905"},
            {"sku": "SOCK-3", "price": "10", "stock": 1, "options": {"Size": "L"}},
        ],
    )
    params = {"shop_cipher": env.cipher()}
    status, body = await env.raw("GET", f"{PRODUCTS}/{listing.item_id}", params=params)
    assert status == 200, body
    codes = [sku.get("identifier_code") for sku in body["data"]["skus"]]
    assert codes == [{"code": EAN, "type": "EAN"}, {"code": "012345678905", "type": "UPC"}, None]
    status, body = await env.raw("POST", PRODUCT_SEARCH, params={**params, "page_size": "10"}, body={})
    assert status == 200, body
    assert all("identifier_code" not in sku for product in body["data"]["products"] for sku in product["skus"])


async def test_tiktok_crm_edit_keeps_the_identifier_code(env: TikTokEnv) -> None:
    """nfsync's Partial Edit sends every SKU back as read, identifier_code included; the sandbox clears a code left
    out (an edit replaces the SKU), so a client dropping it would be caught here."""
    listing = env.sandbox.add_listing(
        env.shop,
        "Merchant title of the cotton socks",
        [{"sku": "E-1", "price": "100", "stock": 4, "options": {"Color": "Red"}, "barcode": EAN}],
        category_id="600001",
    )
    draft = ListingDraft(
        name="CRM title of the cotton socks",
        category_id="600001",
        variants=[VariantDraft(sku="E-1", price=Decimal(95), stock=4, options={"Color": "Red"})],
    )
    await env.client.update_listing(listing.item_id, draft)
    assert _barcodes(await env.client.get_listings([listing.item_id])) == {"E-1": EAN}
    status, body = await env.raw(
        "POST",
        f"/product/202509/products/{listing.item_id}/partial_edit",
        params={"shop_cipher": env.cipher()},
        body={
            "skus": [
                {
                    "id": listing.variants[0].variant_id,
                    "seller_sku": "E-1",
                    "sales_attributes": [{"name": "Color", "value_name": "Red"}],
                }
            ]
        },
    )
    assert status == 200, body
    assert _barcodes(await env.client.get_listings([listing.item_id])) == {"E-1": None}


# --------------------------------------------------------------------- parsers on responses shaped like the references


def test_shopee_parser_on_documented_shapes() -> None:
    """get_item_base_info ``response.item_list[]`` and get_model_list ``response`` as the reference samples shape
    them (v2.product.get_item_base_info.json, v2.product.get_model_list.json: the samples' "-" placeholders
    replaced by values)."""
    item = {
        "item_id": 34001,
        "item_name": "Bag",
        "item_sku": "BAG",
        "item_status": "NORMAL",
        "has_model": False,
        "price_info": [{"currency": "BRL", "original_price": 100, "current_price": 100}],
        "stock_info_v2": {"summary_info": {"total_reserved_stock": 0}, "seller_stock": [{"stock": 5}]},
        "gtin_code": LEADING_ZEROS,
    }
    assert shopee.listing(item, None).variants[0].barcode == LEADING_ZEROS
    assert shopee.listing({**item, "gtin_code": "00"}, None).variants[0].barcode is None
    assert shopee.listing({k: v for k, v in item.items() if k != "gtin_code"}, None).variants[0].barcode is None

    def model(model_id: int, sku: str, **extra: Any) -> dict[str, Any]:
        return {
            "price_info": [{"currency": "TWD", "current_price": 100, "original_price": 100}],
            "model_id": model_id,
            "tier_index": [model_id - 1],
            "model_sku": sku,
            "model_status": "MODEL_NORMAL",
            "stock_info_v2": {"seller_stock": [{"location_id": "-", "stock": 0, "if_saleable": True}]},
            **extra,
        }

    models = {
        "tier_variation": [{"name": "Color", "option_list": [{"option": "Blue"}, {"option": "Red"}, {"option": "X"}]}],
        "model": [model(1, "blue bag", gtin_code=EAN), model(2, "red bag", gtin_code=""), model(3, "x bag")],
    }
    tiered = {**item, "has_model": True, "gtin_code": EAN[::-1]}  # an item-level code is never a model's
    found = shopee.listing(tiered, models)
    assert [(v.sku, v.barcode) for v in found.variants] == [("blue bag", EAN), ("red bag", None), ("x bag", None)]


def test_lazada_parser_on_documented_shapes() -> None:
    """A GetProductItem ``data`` as the reference example shapes it (getproductitem.json), its SKU carrying the
    SKU-level ``gtin`` attribute (get-category-attributes.md sample: name gtin, attribute_type sku)."""
    sku = {
        "Status": "active",
        "quantity": 1719,
        "Images": [""],
        "SellerSku": "1pc",
        "ShopSku": "5758254690_ID-11212296431",
        "multiWarehouseInventories": [
            {
                "occupyQuantity": 26,
                "quantity": 1719,
                "totalQuantity": 1745,
                "withholdQuantity": 0,
                "warehouseCode": "dropshipping",
                "sellableQuantity": 1719,
            }
        ],
        "package_weight": "0.05",
        "price": 8500,
        "Available": 1719,
        "SkuId": 11212296431,
        "gtin": LEADING_ZEROS,
    }
    data = {"item_id": 5758254690, "attributes": {"name": "Ink"}, "status": "Active", "skus": [sku]}
    assert lazada.listing(data).variants[0].barcode == LEADING_ZEROS
    for blank in ("", " "):
        assert lazada.listing({**data, "skus": [{**sku, "gtin": blank}]}).variants[0].barcode is None
    without = {k: v for k, v in sku.items() if k != "gtin"}  # the reference example itself: no code
    assert lazada.listing({**data, "skus": [without]}).variants[0].barcode is None


def test_tiktok_parser_on_documented_shapes() -> None:
    """Get Product 202309 ``data.skus[]`` with the reference example's identifier_code (get-product.spec.json:
    code "10000000000010", type GTIN); Search Products 202502 SKUs carry none (search-products.spec.json)."""
    sku = {
        "id": "1729592969712207012",
        "seller_sku": "Color-Red-XM01",
        "price": {"tax_exclusive_price": "110", "sale_price": "117.5", "currency": "USD"},
        "inventory": [{"warehouse_id": "6966568648651605766", "quantity": 999}],
        "identifier_code": {"code": "10000000000010", "type": "GTIN"},
        "sales_attributes": [{"id": "100000", "name": "Color", "value_id": "100000", "value_name": "Red"}],
    }
    product = {"id": "1729592969712207008", "title": "Short Boat Invisible Socks", "status": "ACTIVATE"}
    assert tiktok.listing({**product, "skus": [sku]}).variants[0].barcode == "10000000000010"
    for identifier, expected in [
        ({"code": "9780596520687", "type": "ISBN"}, "9780596520687"),
        ({"code": LEADING_ZEROS}, LEADING_ZEROS),  # type is optional
        ({"code": "", "type": "EAN"}, None),
        ({"code": "MPN-1", "type": "MPN"}, None),  # not a documented barcode type
        ({}, None),
    ]:
        assert tiktok.listing({**product, "skus": [{**sku, "identifier_code": identifier}]}).variants[0].barcode == (
            expected
        )
    searched = {k: v for k, v in sku.items() if k != "identifier_code"}
    assert tiktok.listing({**product, "skus": [searched]}).variants[0].barcode is None


def test_woocommerce_parser_on_documented_shapes() -> None:
    """A simple product takes its own ``global_unique_id``; a variable product's variants take their variations'
    (the v3 products and variations fields, "" when unset; absent before WooCommerce 9.2)."""
    simple = {
        "id": 794,
        "name": "Premium Quality",
        "type": "simple",
        "status": "publish",
        "sku": "PQ-1",
        "global_unique_id": LEADING_ZEROS,
        "regular_price": "21.99",
        "stock_quantity": 5,
    }
    assert woocommerce.listing_of(simple, []).variants[0].barcode == LEADING_ZEROS
    assert woocommerce.listing_of({**simple, "global_unique_id": ""}, []).variants[0].barcode is None
    older = {k: v for k, v in simple.items() if k != "global_unique_id"}
    assert woocommerce.listing_of(older, []).variants[0].barcode is None
    variable = {**simple, "type": "variable", "sku": "SHIRT", "global_unique_id": EAN, "variations": [733, 732]}
    variations = [
        {
            "id": 733,
            "sku": "SHIRT-B",
            "status": "publish",
            "regular_price": "9",
            "global_unique_id": "9780596520687",
            "attributes": [{"id": 6, "name": "Color", "option": "Black"}],
        },
        {
            "id": 732,
            "sku": "SHIRT-G",
            "status": "publish",
            "regular_price": "9",
            "global_unique_id": "",
            "attributes": [{"id": 6, "name": "Color", "option": "Green"}],
        },
    ]
    found = woocommerce.listing_of(variable, variations)
    assert [(v.sku, v.barcode) for v in found.variants] == [("SHIRT-B", "9780596520687"), ("SHIRT-G", None)]
