"""Shopify product edits, long orders and webhook removal (issue #19), the client against its sandbox over real HTTP.

- ``update_listing`` is a read-modify-write: ``productUpdate`` with what changed, prices and stock of the variants the
  product holds, ``productVariantsBulkCreate`` for the SKUs it lacks; it deletes nothing and leaves the merchant's
  variants, status and options as they were. Before: it wrote prices and stock only and failed any new variant.
- An order with more line items than the first page reads them all (before: the first 30, with a warning).
- ``unregister_webhooks`` removes the subscriptions to one address (before: it refused).
- The sandbox refuses what the reference refuses (tests/contracts/shopify.json).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider
from nfsync.connectors.base.client import AppCredentials, ClientSettings
from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import ListingDraft, TokenPair, VariantDraft
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.shopify import Client
from nfsync.connectors.shopify import operations as ops
from nfsync.connectors.shopify.operations import gid
from nfsync.connectors.shopify.sandbox import SAMPLE_APP, shop_ref
from nfsync.connectors.shopify.sandbox.emulator import Sandbox

DOMAIN = "edits-shop.myshopify.com"
TOKEN = "shpat_edits_000000000000000"


@dataclass
class Rig:
    sandbox: Sandbox
    shop: SbShop
    client: Client
    session: aiohttp.ClientSession

    async def raw(self, op: ops.Operation, **variables: Any) -> dict[str, Any]:
        url = f"{self.sandbox.base_url}/{DOMAIN}{ops.GRAPHQL_PATH}"
        body = {"query": op.document, "operationName": op.name, "variables": variables}
        async with self.session.post(url, json=body, headers={"X-Shopify-Access-Token": TOKEN}) as response:
            assert response.status == 200
            return dict(await response.json())


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sandbox = Sandbox(SAMPLE_APP, seed=11)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop(DOMAIN, "Edits", access_token=TOKEN)
        settings = ClientSettings(base_url=sandbox.base_url, backoff_base=0.01, backoff_cap=0.3, read_timeout=3.0)
        client = Client(
            settings,
            AppCredentials(dict(SAMPLE_APP)),
            shop_ref(shop, sandbox.base_url),
            session=session,
            tokens=MemoryTokenProvider(TokenPair(access_token=Secret(TOKEN), refresh_token=None)),
            limiter=LocalRateLimiter(),
        )
        yield Rig(sandbox, shop, client, session)


def merchant_product(rig: Rig) -> str:
    """A product the merchant made: two sizes and a variant nfsync does not know, drafted, with its own copy."""
    listing = rig.sandbox.add_listing(
        rig.shop,
        "Merchant tee",
        [
            {"sku": "TEE-S", "price": "100000", "stock": 5, "options": {"Size": "S"}},
            {"sku": "TEE-M", "price": "100000", "stock": 5, "options": {"Size": "M"}},
            {"sku": "MERCHANT-ONLY", "price": "7", "stock": 2, "options": {"Size": "XS"}},
        ],
        description="<p>Merchant copy</p>",
        status="draft",
    )
    return listing.item_id


def draft(name: str = "CRM tee", description: str = "<p>CRM copy</p>", *extra: VariantDraft) -> ListingDraft:
    return ListingDraft(
        name=name,
        description=description,
        variants=[
            VariantDraft(sku="TEE-S", price=Decimal("120000"), stock=9, options={"Size": "S"}),
            VariantDraft(sku="TEE-M", price=Decimal("130000"), stock=0, options={"Size": "M"}),
            *extra,
        ],
    )


async def test_update_writes_changes_adds_missing_variants_and_keeps_the_merchants(rig: Rig) -> None:
    item_id = merchant_product(rig)
    new = VariantDraft(sku="TEE-L", price=Decimal("140000"), stock=4, options={"Size": "L"})
    listing = await rig.client.update_listing(item_id, draft("CRM tee", "<p>CRM copy</p>", new))
    stored = rig.sandbox.shops[rig.shop.shop_id].listings[item_id]
    assert (stored.name, stored.description, stored.status) == ("CRM tee", "<p>CRM copy</p>", "draft")
    by_sku = {v.sku: v for v in stored.variants}
    assert set(by_sku) == {"TEE-S", "TEE-M", "MERCHANT-ONLY", "TEE-L"}
    assert (by_sku["TEE-S"].price, by_sku["TEE-M"].price, by_sku["MERCHANT-ONLY"].price) == (120000, 130000, 7)
    assert rig.sandbox.levels(rig.shop, "TEE-L") == {rig.sandbox.locations(rig.shop)[0]: 4}
    assert rig.sandbox.levels(rig.shop, "TEE-S")[rig.sandbox.locations(rig.shop)[0]] == 9
    assert by_sku["TEE-L"].options == {"Size": "L"}
    assert {v.sku for v in listing.variants} == set(by_sku) and listing.name == "CRM tee"
    assert listing.description == "<p>CRM copy</p>"


async def test_an_update_with_nothing_new_sends_no_product_or_variant_mutation(rig: Rig) -> None:
    item_id = merchant_product(rig)
    await rig.client.update_listing(item_id, draft())
    served: list[str] = []
    for name in (ops.UPDATE_PRODUCT.name, ops.CREATE_VARIANTS.name, ops.SET_PRICES.name):
        original = rig.sandbox._prepare[name]
        rig.sandbox._prepare[name] = lambda shop, v, _o=original, _n=name: (served.append(_n), _o(shop, v))[1]
    await rig.client.update_listing(item_id, draft())
    # prices and stock are written again (product_sync skips unchanged values before it calls); title, copy and
    # variants are not
    assert served == [ops.SET_PRICES.name]
    assert len(rig.sandbox.shops[rig.shop.shop_id].listings[item_id].variants) == 3


async def test_a_variant_that_does_not_fit_the_options_fails_by_name_after_the_safe_writes(rig: Rig) -> None:
    item_id = merchant_product(rig)
    odd = VariantDraft(sku="TEE-RED", price=Decimal(1), stock=1, options={"Color": "Red"})
    with pytest.raises(PermanentError, match=r"TEE-RED: not added") as failure:
        await rig.client.update_listing(item_id, draft("CRM tee", "<p>CRM copy</p>", odd))
    assert "Color" in str(failure.value)
    stored = rig.sandbox.shops[rig.shop.shop_id].listings[item_id]
    assert stored.name == "CRM tee" and {v.sku for v in stored.variants} == {"TEE-S", "TEE-M", "MERCHANT-ONLY"}
    assert {v.sku: v.price for v in stored.variants}["TEE-S"] == 120000


async def test_a_single_variant_product_takes_no_new_variant(rig: Rig) -> None:
    listing = rig.sandbox.add_listing(rig.shop, "Mug", [{"sku": "MUG", "price": "5", "stock": 1}])
    second = ListingDraft(
        name="Mug",
        variants=[
            VariantDraft(sku="MUG", price=Decimal(6), stock=2),
            VariantDraft(sku="MUG-2", price=Decimal(6), stock=2),
        ],
    )
    with pytest.raises(PermanentError, match="MUG-2: not added: the product has no variant options"):
        await rig.client.update_listing(listing.item_id, second)
    assert [v.sku for v in rig.sandbox.shops[rig.shop.shop_id].listings[listing.item_id].variants] == ["MUG"]


async def test_update_of_a_product_that_is_gone_is_permanent(rig: Rig) -> None:
    with pytest.raises(PermanentError, match="not found"):
        await rig.client.update_listing("999999", draft())


async def test_get_listings_reads_title_description_and_status_by_product_id(rig: Rig) -> None:
    item_id = merchant_product(rig)
    [listing] = await rig.client.get_listings([item_id, "424242"])
    assert (listing.name, listing.description, listing.status) == ("Merchant tee", "<p>Merchant copy</p>", "inactive")
    assert {v.sku for v in listing.variants} == {"TEE-S", "TEE-M", "MERCHANT-ONLY"}


async def test_a_product_with_more_variants_than_a_page_is_read_whole(rig: Rig) -> None:
    count = ops.PRODUCT_VARIANTS_PAGE + 7
    rows = [{"sku": f"BIG-{n}", "price": "1", "stock": 1, "options": {"Size": f"{n}"}} for n in range(count)]
    listing = rig.sandbox.add_listing(rig.shop, "Big", rows)
    [found] = await rig.client.get_listings([listing.item_id])
    assert len(found.variants) == count and found.name == "Big"


# ---------------------------------------------------------------------------------------------- orders


async def test_an_order_with_many_lines_is_read_whole_through_line_pages(rig: Rig) -> None:
    lines = ops.ORDER_LINES_PAGE + ops.MORE_LINES_PAGE + 5  # three pages of lines
    rig.sandbox.add_listing(rig.shop, "Pen", [{"sku": f"PEN-{n}", "price": "2", "stock": 500} for n in range(lines)])
    order = rig.sandbox.add_order(
        rig.shop, [{"sku": f"PEN-{n}", "quantity": 1} for n in range(lines)], status="PAID/UNFULFILLED"
    )
    [read] = await rig.client.get_orders([order.order_id])
    assert [line.sku for line in read.lines] == [f"PEN-{n}" for n in range(lines)]
    assert rig.client.stats["orders_lines_paged"] == 1
    since = time.time() - 3600
    window = [o async for o in rig.client.iter_orders(_at(since), _at(time.time() + 60))]
    assert len(window) == 1 and len(window[0].lines) == lines


def _at(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


# ---------------------------------------------------------------------------------------------- webhooks


async def test_unregister_removes_the_subscriptions_to_that_address_only(rig: Rig) -> None:
    ours, theirs = "https://nfsync.example/webhooks/shopify/1", "https://other.example/hook"
    created = await rig.client.register_webhooks(ours)
    assert len(created) == 5
    await rig.client.register_webhooks(theirs, topics=("orders/create",))
    assert await rig.client.unregister_webhooks(ours) == 5
    left = rig.sandbox.store.subscriptions[rig.shop.shop_id]
    assert [(s.topic, s.uri) for s in left] == [("ORDERS_CREATE", theirs)]
    assert await rig.client.unregister_webhooks(ours) == 0


# ---------------------------------------------------------------------------------------------- sandbox refusals


async def test_the_sandbox_refuses_variants_the_reference_refuses(rig: Rig) -> None:
    item_id = merchant_product(rig)
    product = gid("Product", item_id)
    location = gid("Location", rig.sandbox.locations(rig.shop)[0])

    async def create(variant: dict[str, Any]) -> list[str | None]:
        body = await rig.raw(ops.CREATE_VARIANTS, productId=product, variants=[variant])
        return [e.get("code") for e in body["data"]["productVariantsBulkCreate"]["userErrors"]]

    base = {"price": "1", "inventoryItem": {"sku": "NEW"}}
    assert await create({**base, "optionValues": []}) == ["NEED_TO_ADD_OPTION_VALUES"]
    extra = [{"optionName": "Size", "name": "L"}, {"optionName": "Color", "name": "Red"}]
    assert await create({**base, "optionValues": extra}) == ["OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS"]
    assert await create({**base, "optionValues": [{"optionName": "Size", "name": "S"}]}) == ["VARIANT_ALREADY_EXISTS"]
    size_l = [{"optionName": "Size", "name": "L"}]
    assert await create({**base, "optionValues": size_l, "id": gid("ProductVariant", 1)}) == ["NO_KEY_ON_CREATE"]
    assert await create({**base, "optionValues": size_l, "price": "-1"}) == ["NEGATIVE_PRICE_VALUE"]
    missing_place = {
        **base,
        "optionValues": size_l,
        "inventoryQuantities": [{"locationId": gid("Location", 999999), "availableQuantity": 1}],
    }
    assert await create(missing_place) == ["TRACKED_VARIANT_LOCATION_NOT_FOUND"]
    body = await rig.raw(ops.CREATE_VARIANTS, productId=gid("Product", 999999), variants=[base])
    assert body["data"]["productVariantsBulkCreate"]["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"
    # productSet's inventory shape is not productVariantsBulkCreate's: a top-level error, nothing charged
    wrong = {
        **base,
        "optionValues": size_l,
        "inventoryQuantities": [{"locationId": location, "name": "available", "quantity": 1}],
    }
    body = await rig.raw(ops.CREATE_VARIANTS, productId=product, variants=[wrong])
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE" and body.get("data") is None
    assert len(rig.sandbox.shops[rig.shop.shop_id].listings[item_id].variants) == 3  # nothing applied


async def test_the_sandbox_refuses_product_updates_the_reference_refuses(rig: Rig) -> None:
    item_id = merchant_product(rig)
    body = await rig.raw(ops.UPDATE_PRODUCT, product={"id": gid("Product", item_id), "variants": []})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"  # not a ProductUpdateInput field
    body = await rig.raw(ops.UPDATE_PRODUCT, product={"id": gid("Product", item_id), "title": "  "})
    assert body["data"]["productUpdate"]["userErrors"] == [{"field": ["title"], "message": "Title can't be blank"}]
    body = await rig.raw(ops.UPDATE_PRODUCT, product={"id": gid("Product", 999999), "title": "x"})
    assert body["data"]["productUpdate"]["userErrors"][0]["field"] == ["id"]
    body = await rig.raw(ops.UPDATE_PRODUCT, product={"title": "x"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"  # id is required
    assert rig.sandbox.shops[rig.shop.shop_id].listings[item_id].name == "Merchant tee"


async def test_the_sandbox_refuses_an_unknown_subscription_and_cursor(rig: Rig) -> None:
    body = await rig.raw(ops.UNSUBSCRIBE, id=gid("WebhookSubscription", 4242))
    assert body["data"]["webhookSubscriptionDelete"]["deletedWebhookSubscriptionId"] is None
    body = await rig.raw(ops.WEBHOOKS, after="not-a-cursor")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    body = await rig.raw(ops.ORDER_LINES, id=gid("Order", 1), after=None)
    assert body["data"] == {"order": None}
