"""WooCommerce ``crm`` content mode (issue #14): ``update_listing`` is a read-modify-write that never damages what
the merchant made. The sandbox applies core's write semantics (status as sent, categories/images/attributes
replaced, batch deletes permanent, variation attributes matched to the parent), so a careless client fails here.

Core behaviour: github woocommerce/woocommerce, includes/rest-api/Controllers Version3 products and variations
controllers (``prepare_object_for_database``, ``set_product_images``) and Version2 ``save_taxonomy_terms``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import ListingDraft, StockUpdate, VariantDraft
from nfsync.connectors.woocommerce.sandbox.content import GlobalAttribute
from tests.connectors.test_woocommerce import API, Store, signed, store

__all__ = ["store"]
# What a crm-mode update may change: the CRM-owned fields, and what WooCommerce derives from them.
DERIVED = {"date_modified", "date_modified_gmt", "price"}


def merchant_product(store: Store) -> tuple[str, GlobalAttribute]:
    """A draft variable product as a merchant keeps it: two categories, a gallery, a global attribute (pa_color) and
    a non-variation spec, meta data, one variation nfsync knows, one without SKU, one with a SKU the CRM lacks."""
    catalog, shop = store.sandbox.catalog, store.shop
    color = catalog.content.add_global("Color", ["Red", "Blue", "Green"])
    product = catalog.create_product(
        shop,
        {
            "name": "Tee",
            "type": "variable",
            "status": "draft",
            "sku": "TEE-PARENT",
            "description": "Merchant text",
            "categories": [{"id": 9}, {"id": 12}],
            "images": [{"src": "https://merchant.example/front.jpg"}, {"src": "https://merchant.example/back.jpg"}],
            "attributes": [
                {"id": color.id, "position": 0, "visible": True, "variation": True, "options": ["Red", "Blue"]},
                {"name": "Material", "position": 1, "visible": True, "variation": False, "options": ["Cotton"]},
            ],
            "meta_data": [{"key": "merchant_note", "value": "keep"}],
        },
    )
    item_id = product.item_id
    for sku, option, stock in (("TEE-RED", "Red", 3), ("", "Blue", 2), ("MERCH-9", "Blue", 1)):
        attributes = [{"id": color.id, "option": option}]
        catalog.create_variation(
            shop,
            item_id,
            {
                "sku": sku,
                "regular_price": "100",
                "manage_stock": True,
                "stock_quantity": stock,
                "attributes": attributes,
            },
        )
    return item_id, color


async def snapshot(store: Store, item_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The product and its variations as the REST API shows them (variations keyed by id)."""
    status, _, product = await signed(store, "GET", f"{API}/products/{item_id}")
    assert status == 200
    status, _, variations = await signed(store, "GET", f"{API}/products/{item_id}/variations", {"per_page": "100"})
    assert status == 200
    return product, {str(v["id"]): v for v in variations}


def without(payload: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in keys}


def crm_draft(**changes: Any) -> ListingDraft:
    fields: dict[str, Any] = {
        "name": "Tee by CRM",
        "description": "CRM text",
        "category_id": "30",
        "variants": [
            VariantDraft(sku="TEE-RED", price=Decimal(120), stock=7, options={"Color": "Red"}),
            VariantDraft(sku="TEE-GREEN", price=Decimal(130), stock=4, options={"Color": "Green"}),
        ],
    }
    return ListingDraft(**{**fields, **changes})


async def test_crm_update_keeps_everything_the_crm_does_not_own(store: Store) -> None:
    """Before: the update published the draft, replaced the categories with the CRM's one, turned the global
    attribute into a custom one and dropped the Material spec, and deleted the SKU-less and the unknown-SKU
    variations for good."""
    item_id, color = merchant_product(store)
    before, variations_before = await snapshot(store, item_id)
    listing = await store.client.update_listing(item_id, crm_draft())
    after, variations_after = await snapshot(store, item_id)

    assert after["status"] == "draft"
    assert (after["name"], after["description"]) == ("Tee by CRM", "CRM text")
    assert [c["id"] for c in after["categories"]] == [9, 12, 30]  # the CRM's category added, none removed
    assert after["attributes"][0] == {**before["attributes"][0], "options": ["Red", "Blue", "Green"]}
    assert after["attributes"][1:] == before["attributes"][1:]  # the spec stays, as it was
    owned = DERIVED | {"name", "description", "categories", "attributes", "variations"}
    assert without(after, owned) == without(before, owned)  # images, meta, sku, type, status: byte-identical

    new_ids = set(variations_after) - set(variations_before)
    assert set(variations_before) <= set(variations_after) and len(new_ids) == 1  # nothing deleted, one created
    for variation_id, old in variations_before.items():
        new = variations_after[variation_id]
        if old["sku"] == "TEE-RED":
            assert (new["regular_price"], new["stock_quantity"]) == ("120", 7)
            assert without(new, DERIVED | {"regular_price", "stock_quantity"}) == without(
                old, DERIVED | {"regular_price", "stock_quantity"}
            )
        else:
            assert without(new, DERIVED) == without(old, DERIVED)  # merchant-made and unknown SKU: untouched
    green = variations_after[new_ids.pop()]
    assert (green["sku"], green["regular_price"], green["stock_quantity"]) == ("TEE-GREEN", "130", 4)
    assert green["attributes"] == [{"id": color.id, "name": "Color", "option": "Green"}]
    assert {v.sku for v in listing.variants} == {"TEE-RED", "TEE-GREEN", "", "MERCH-9"}


async def test_an_unchanged_crm_update_writes_nothing(store: Store) -> None:
    item_id, _ = merchant_product(store)
    await store.client.update_listing(item_id, crm_draft())
    writes = dict(store.sandbox.counters.writes_per_sku)
    before = await snapshot(store, item_id)
    await store.client.update_listing(item_id, crm_draft())
    assert dict(store.sandbox.counters.writes_per_sku) == writes
    assert await snapshot(store, item_id) == before


async def test_crm_images_are_uploaded_once_and_merchant_images_stay(store: Store) -> None:
    """Before: every update sent ``images: [{src}]``, which core downloads into a new attachment each time and
    which replaces the merchant's gallery."""
    item_id, _ = merchant_product(store)
    merchant_images = [i["id"] for i in (await snapshot(store, item_id))[0]["images"]]
    draft = crm_draft(images=["https://crm.example/tee.jpg"])
    await store.client.update_listing(item_id, draft)
    images = [i["id"] for i in (await snapshot(store, item_id))[0]["images"]]
    assert images[1:] == merchant_images and images[0] not in merchant_images  # the CRM's image leads
    downloads = list(store.sandbox.catalog.content.downloads)
    await store.client.update_listing(item_id, draft)
    await store.client.update_listing(item_id, draft.model_copy(update={"name": "Renamed"}))
    assert store.sandbox.catalog.content.downloads == downloads  # the same src is never downloaded again
    assert [i["id"] for i in (await snapshot(store, item_id))[0]["images"]] == images


async def test_simple_product_update_keeps_status_and_categories(store: Store) -> None:
    product = store.sandbox.catalog.create_product(
        store.shop,
        {
            "name": "Mug",
            "status": "private",
            "sku": "MUG-1",
            "regular_price": "50",
            "stock_quantity": 2,
            "categories": [{"id": 4}, {"id": 5}],
            "images": [{"src": "https://merchant.example/mug.jpg"}],
        },
    )
    before, _ = await snapshot(store, product.item_id)
    draft = ListingDraft(name="Mug", category_id="5", variants=[VariantDraft(sku="MUG-1", price=Decimal(55), stock=9)])
    listing = await store.client.update_listing(product.item_id, draft)
    after, _ = await snapshot(store, product.item_id)
    assert (after["status"], after["regular_price"], after["stock_quantity"]) == ("private", "55", 9)
    assert without(after, DERIVED | {"regular_price", "stock_quantity", "stock_status"}) == without(
        before, DERIVED | {"regular_price", "stock_quantity", "stock_status"}
    )
    assert (listing.variants[0].price, listing.variants[0].stock) == (Decimal(55), 9)


async def test_an_option_the_product_cannot_take_is_reported_not_silently_skipped(store: Store) -> None:
    """Core silently skips a variation attribute the parent does not have (or a term that does not exist): the
    variation would match any colour. The client checks what the store kept and fails the listing."""
    item_id, _ = merchant_product(store)
    draft = crm_draft(variants=[VariantDraft(sku="TEE-PURPLE", price=Decimal(1), stock=1, options={"Color": "Purple"})])
    with pytest.raises(PermanentError, match=r"TEE-PURPLE.*Color=Purple"):
        await store.client.update_listing(item_id, draft)
    _, variations = await snapshot(store, item_id)
    assert "TEE-PURPLE" not in {v["sku"] for v in variations.values()}


async def test_a_split_over_several_warehouses_fails_that_item_only(store: Store) -> None:
    """WooCommerce core keeps one stock quantity per product or variation: a split cannot be written."""
    simple = store.sandbox.add_listing(store.shop, "Cup", [{"sku": "CUP-1", "price": "10", "stock": 1}]).item_id
    other = store.sandbox.add_listing(store.shop, "Bowl", [{"sku": "BOWL-1", "price": "10", "stock": 1}]).item_id
    results = await store.client.update_stock(
        [
            StockUpdate(
                platform_item_id=simple,
                platform_variant_id=None,
                sku="CUP-1",
                quantity=5,
                warehouses={"north": 2, "south": 3},
            ),
            StockUpdate(platform_item_id=other, platform_variant_id=None, sku="BOWL-1", quantity=4),
        ]
    )
    assert [(r.sku, r.ok) for r in results] == [("CUP-1", False), ("BOWL-1", True)]
    assert "one stock quantity" in (results[0].error_message or "")
    assert store.shop.listings[simple].variants[0].stock == 1
    assert store.shop.listings[other].variants[0].stock == 4
