"""TikTok Shop ``crm`` content mode on an existing product (issue #14): a read-modify-write that changes only what
the CRM models and keeps the rest of the product exactly as it was.

Edit Product (``PUT /product/202509/products/{id}``) replaces the whole product: what is left out is cleared and SKU
ids left out are deleted, only SKU price and inventory are kept when left out; Partial Edit (``POST
.../partial_edit``) replaces only the top-level properties sent (lazykern/ecommerce-api-docs@eba059e
``data/raw/tiktok/api-reference/products/edit-product.spec.json``, ``partial-edit-product.spec.json``; changelog
``price-and-inventory-is-optional-when-editing-products.md``). The sandbox applies both literally, so a careless
client is caught. Before: ``update_listing`` sent a PUT (at the undocumented 202309) with only title, description,
category, images from the draft, an invented package weight and the draft's SKUs with their stock: brand,
attributes, images, package dimensions and every SKU the CRM lacks were wiped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nfsync.connectors.base.models import ListingDraft, VariantDraft
from nfsync.connectors.tiktok import errors as codes
from tests.connectors.test_tiktok import Env, env

__all__ = ["env"]
GET = "/product/202309/products/{}"
EDIT = "/product/202509/products/{}"
CONTENT: dict[str, Any] = {
    "brand_id": "7082427311584347905",
    "main_images": [
        {"uri": "tos-maliva-i-o3syd03w52-us/a"},
        {"uri": "tos-maliva-i-o3syd03w52-us/b"},
        {"uri": "tos-maliva-i-o3syd03w52-us/c"},
    ],
    "product_attributes": [
        {"id": "100392", "values": [{"id": "1001533"}]},
        {"id": "100107", "values": [{"name": "Cotton"}]},
    ],
    "package_weight": {"value": "1.32", "unit": "KILOGRAM"},
    "package_dimensions": {"length": "10", "width": "12", "height": "3", "unit": "CENTIMETER"},
    "certifications": [{"id": "7182427311584347905", "images": [{"uri": "tos-maliva-i-o3syd03w52-us/cert"}]}],
    "size_chart": {"image": {"uri": "tos-maliva-i-o3syd03w52-us/size"}},
    "video": {"id": "v09ea0g40000cj91373c77u3mid3g1s0"},
    "delivery_option_ids": ["1729592969712203232"],
    "external_product_id": "ext-product-1",
    "is_cod_allowed": True,
}


def _merchant_product(env: Env) -> str:
    """A live product as a merchant made it: brand, attributes, 3 images, package data, certification, size
    chart, video, delivery option; SKUs E-1 and E-2 (the CRM's) and MKT-1 (marketplace only), each with an
    external id and sales attribute ids; E-2 stocked in two warehouses."""
    listing = env.sandbox.add_listing(
        env.shop,
        "Merchant title of the shirt",
        [
            {"sku": "E-1", "price": "100", "stock": 4, "options": {"Color": "Red"}},
            {"sku": "E-2", "price": "110", "stock": 0, "options": {"Color": "Blue"}},
            {"sku": "MKT-1", "price": "120", "stock": 9, "options": {"Color": "Green"}},
        ],
        description="<p>merchant copy</p>",
        category_id="600001",
    )
    env.sandbox.set_content(listing, **CONTENT)
    for variant in listing.variants:
        env.sandbox.set_sku_fields(
            variant, external_sku_id=f"ext-{variant.sku}", list_price={"amount": "200", "currency": "VND"}
        )
    env.sandbox.set_stock(env.shop, "E-2", {env.shop.extra["warehouse_id"]: 2, env.sandbox.add_warehouse(env.shop): 5})
    return listing.item_id


async def _stored(env: Env, item_id: str) -> dict[str, Any]:
    """The product as the sandbox's Get Product shows it, without its update time."""
    status, body = await env.raw("GET", GET.format(item_id), params={"shop_cipher": env.cipher()})
    assert status == 200, body
    return {key: value for key, value in body["data"].items() if key != "update_time"}


def _draft(title: str, *, category: str | None = "600001", e1: str = "100", stock: int = 4) -> ListingDraft:
    return ListingDraft(
        name=title,
        description="",
        category_id=category,
        variants=[
            VariantDraft(sku="E-1", price=Decimal(e1), stock=stock, options={"Colour": "red"}),
            VariantDraft(sku="E-2", price=Decimal(110), stock=7, options={"Colour": "blue"}),
        ],
    )


def _with(product: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**product, **changes}


def _sku_price(product: dict[str, Any], sku: str, price: str) -> dict[str, Any]:
    changed = {"tax_exclusive_price": price, "sale_price": price}
    skus = [{**s, "price": {**s["price"], **changed}} if s["seller_sku"] == sku else s for s in product["skus"]]
    return {**product, "skus": skus}


async def test_crm_update_changes_title_and_price_and_keeps_everything_else(env: Env) -> None:
    """The brief's regression: brand, attributes, 3 images and a SKU unknown to the CRM survive; only the title
    and the CRM's SKU price change (Partial Edit; E-2's two warehouses keep their stock: no split in a draft)."""
    item_id = _merchant_product(env)
    before = await _stored(env, item_id)
    listing = await env.client.update_listing(item_id, _draft("CRM title of the cotton shirt", e1="95.5"))
    after = await _stored(env, item_id)
    assert after == _sku_price(_with(before, title="CRM title of the cotton shirt"), "E-1", "95.5")
    assert [v.sku for v in listing.variants] == ["E-1", "E-2", "MKT-1"]
    assert (listing.name, listing.description, listing.category_id) == (
        "CRM title of the cotton shirt",
        "<p>merchant copy</p>",
        "600001",
    )
    assert listing.variants[0].price == Decimal("95.5") and listing.variants[1].stock == 7  # live: 2 + 5


async def test_a_category_move_is_a_full_edit_that_sends_everything_back(env: Env) -> None:
    """Partial Edit has no category_id: a new category takes Edit Product, built from Get Product's answer
    (brand -> brand_id, delivery_options -> delivery_option_ids, images -> uri); nothing is lost."""
    item_id = _merchant_product(env)
    before = await _stored(env, item_id)
    calls = env.client.stats["calls"]
    await env.client.update_listing(item_id, _draft("CRM title of the cotton shirt", category="600002"))
    assert env.client.stats["calls"] - calls == 2  # Get Product, Edit Product (stock unchanged: no write)
    after = await _stored(env, item_id)
    chain = [{"id": "600002", "parent_id": "0", "local_name": "", "is_leaf": True}]
    assert after == _with(before, title="CRM title of the cotton shirt", category_chains=chain)


async def test_stock_is_written_by_update_inventory_never_by_the_edit(env: Env) -> None:
    """A draft stock differing from the live one: the edit leaves inventory out, Update Inventory writes the SKU's
    one warehouse afterwards; a SKU stocked in several warehouses keeps its stock."""
    item_id = _merchant_product(env)
    first = env.shop.extra["warehouse_id"]
    listing = await env.client.update_listing(item_id, _draft("CRM title of the cotton shirt", stock=1))
    stock = {v.sku: env.sandbox.store.stock_of(env.shop, v) for v in env.shop.listings[item_id].variants}
    assert stock["E-1"] == {first: 1} and sum(stock["E-2"].values()) == 7 and stock["MKT-1"] == {first: 9}
    assert [(v.sku, v.stock) for v in listing.variants] == [("E-1", 1), ("E-2", 7), ("MKT-1", 9)]


async def test_a_draft_sku_the_product_lacks_is_added_and_nothing_removed(env: Env) -> None:
    item_id = _merchant_product(env)
    draft = _draft("CRM title of the cotton shirt")
    grown = draft.model_copy(
        update={
            "variants": [
                *draft.variants,
                VariantDraft(sku="E-3", price=Decimal(130), stock=3, options={"Color": "Black"}),
            ]
        }
    )
    listing = await env.client.update_listing(item_id, grown)
    assert [v.sku for v in env.shop.listings[item_id].variants] == ["E-1", "E-2", "MKT-1", "E-3"]
    added = listing.variants[3]
    assert added.platform_variant_id == env.shop.listings[item_id].variants[3].variant_id and added.stock == 3
    assert env.sandbox.duplicate_listings() == 0


# ------------------------------------------------------------------------------------- the sandbox, literally


async def _edit(env: Env, item_id: str, body: dict[str, Any], *, full: bool) -> tuple[int, dict[str, Any]]:
    path = EDIT.format(item_id) + ("" if full else "/partial_edit")
    return await env.raw("PUT" if full else "POST", path, params={"shop_cipher": env.cipher()}, body=body)


async def test_the_sandbox_full_edit_clears_what_is_left_out_and_deletes_unlisted_skus(env: Env) -> None:
    """The old client's kind of body: required fields only, the CRM's SKUs only, with stock."""
    item_id = _merchant_product(env)
    before = await _stored(env, item_id)
    e1 = before["skus"][0]
    body = {
        "title": "CRM title of the cotton shirt",
        "description": "d",
        "category_id": "600001",
        "main_images": [{"uri": env.sandbox.store.issue_image()}],
        "package_weight": {"value": "0.5", "unit": "KILOGRAM"},
        "skus": [{"id": e1["id"], "seller_sku": "E-1", "sales_attributes": e1["sales_attributes"]}],
    }
    status, answer = await _edit(env, item_id, body, full=True)
    assert (status, answer["code"]) == (200, 0), answer
    after = await _stored(env, item_id)
    for gone in (
        "brand",
        "product_attributes",
        "package_dimensions",
        "certifications",
        "video",
        "size_chart",
        "delivery_options",
        "external_product_id",
    ):
        assert gone not in after, gone
    assert [s["seller_sku"] for s in after["skus"]] == ["E-1"]
    assert "external_sku_id" not in after["skus"][0] and "list_price" not in after["skus"][0]
    assert (after["skus"][0]["price"], after["skus"][0]["inventory"]) == (e1["price"], e1["inventory"])


async def test_the_sandbox_partial_edit_changes_only_the_properties_sent(env: Env) -> None:
    item_id = _merchant_product(env)
    before = await _stored(env, item_id)
    status, _ = await _edit(env, item_id, {"title": "Another title of the shirt"}, full=False)
    assert status == 200 and await _stored(env, item_id) == _with(before, title="Another title of the shirt")
    kept = [
        {"id": s["id"], "seller_sku": s["seller_sku"], "sales_attributes": s["sales_attributes"]}
        for s in before["skus"][:2]
    ]
    status, _ = await _edit(env, item_id, {"skus": kept}, full=False)
    after = await _stored(env, item_id)
    assert status == 200 and [s["seller_sku"] for s in after["skus"]] == ["E-1", "E-2"]  # MKT-1 deleted
    assert "external_sku_id" not in after["skus"][0], "a nested property left out is blanked"
    assert after["brand"] == before["brand"] and after["main_images"] == before["main_images"]


async def test_the_sandbox_refuses_what_edit_product_refuses(env: Env) -> None:
    item_id = _merchant_product(env)
    product = await _stored(env, item_id)
    skus = [
        {"id": s["id"], "seller_sku": s["seller_sku"], "sales_attributes": s["sales_attributes"]}
        for s in product["skus"]
    ]
    base = {
        "title": "T" * 30,
        "description": "d",
        "category_id": "600001",
        "main_images": [{"uri": env.sandbox.store.issue_image()}],
        "package_weight": {"value": "1", "unit": "KILOGRAM"},
        "skus": skus,
    }
    e2_one_warehouse = [*skus[:1], {**skus[1], "inventory": [product["skus"][1]["inventory"][0]]}, skus[2]]
    cases = [
        ({**base, "main_images": []}, codes.MAIN_IMAGE_REQUIRED, True),
        ({**base, "main_images": [{"uri": "tos-never-uploaded"}]}, codes.MAIN_IMAGE_URI_ILLEGAL, True),
        ({"main_images": [base["main_images"][0]] * 10}, codes.TOO_MANY_MAIN_IMAGES, False),
        ({**base, "title": "Too short a title"}, codes.INPUT_INVALID, True),
        ({"title": "T" * 256}, codes.TITLE_TOO_LONG, False),
        ({**base, "description": ""}, codes.DESCRIPTION_REQUIRED, True),
        ({**base, "skus": e2_one_warehouse}, codes.WAREHOUSE_DETAILS_MISSING, True),
        ({"skus": e2_one_warehouse}, codes.WAREHOUSES_CHANGED, False),
        ({"skus": [*skus, {"seller_sku": "NEW-1"}]}, codes.PRICE_MISSING, False),
        ({"skus": [{**skus[0], "sales_attributes": []}]}, codes.INPUT_INVALID, False),
        ({"skus": [{**skus[0], "id": "1"}]}, codes.SKU_NOT_IN_PRODUCT, False),
    ]
    for body, code, full in cases:
        status, answer = await _edit(env, item_id, body, full=full)
        assert (status, str(answer["code"])) == (400, code), (code, answer)
    assert await _stored(env, item_id) == product, "a refused edit changes nothing"
