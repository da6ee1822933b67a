"""The Shopify sandbox over real HTTP with raw aiohttp requests (issue #19): the documents of
connectors/shopify/operations.py, the refusals of docs/platforms/shopify.md and tests/contracts/shopify.json, the
cost bucket, bulk JSONL, OAuth and webhooks. No client: the client is written separately against the same files."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.shopify import operations as ops
from nfsync.connectors.shopify.operations import gid
from nfsync.connectors.shopify.sandbox import SAMPLE_APP, shop_ref
from nfsync.connectors.shopify.sandbox import auth as sb_auth
from nfsync.connectors.shopify.sandbox.emulator import Sandbox
from nfsync.connectors.shopify.sandbox.gql import iso

CONTRACT = json.loads((Path(__file__).resolve().parents[1] / "contracts" / "shopify.json").read_text())
DOMAIN = "demo-shop.myshopify.com"
DAY = (time.time() // 86_400 - 1) * 86_400  # yesterday 00:00 UTC
TOKEN = "shpat_test_0000000000000000"
SECRET = SAMPLE_APP["client_secret"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    sandbox: Sandbox
    shop: SbShop
    session: aiohttp.ClientSession
    clock: Clock

    @property
    def url(self) -> str:
        return f"{self.sandbox.base_url}/{DOMAIN}{ops.GRAPHQL_PATH}"

    async def raw(self, body: Any, token: str | None = TOKEN, url: str | None = None) -> tuple[int, Any]:
        headers = {"X-Shopify-Access-Token": token} if token else {}
        async with self.session.post(url or self.url, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def call(self, op: ops.Operation, token: str | None = TOKEN, **variables: Any) -> dict[str, Any]:
        status, body = await self.raw({"query": op.document, "operationName": op.name, "variables": variables}, token)
        assert status == 200, body
        return dict(body)

    async def data(self, op: ops.Operation, **variables: Any) -> dict[str, Any]:
        body = await self.call(op, **variables)
        assert "errors" not in body, body
        return dict(body["data"])


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sandbox = Sandbox(SAMPLE_APP, seed=7, rate_limit=50)  # the standard plan's restore rate
    clock = Clock()
    sandbox.clock = clock
    shop = sandbox.add_shop(DOMAIN, "Demo", access_token=TOKEN)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        yield Rig(sandbox, shop, session, clock)


def seed(rig: Rig, products: int = 3, variants: int = 2) -> None:
    for n in range(products):
        rig.sandbox.add_listing(
            rig.shop,
            f"Tee {n}",
            [
                {"sku": f"TEE-{n}-{v}", "price": "100000", "stock": 5 + v, "options": {"Size": f"S{v}"}}
                for v in range(variants)
            ],
        )


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def user_codes(payload: dict[str, Any]) -> list[str | None]:
    return [e.get("code") for e in payload["userErrors"]]


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Background deliveries: wait on the condition with a deadline, never a fixed sleep."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------------------------- queries


async def test_shop_and_locations_answer_the_documents_with_the_cost_extension(rig: Rig) -> None:
    body = await rig.call(ops.SHOP)
    assert body["data"] == {"shop": {"name": "Demo", "currencyCode": "VND", "myshopifyDomain": DOMAIN}}
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    assert cost["throttleStatus"] == {"maximumAvailable": 1000.0, "currentlyAvailable": 999.0, "restoreRate": 50.0}
    second = rig.sandbox.add_location(rig.shop, "Warehouse 2", active=False)
    body = await rig.call(ops.LOCATIONS)
    nodes = body["data"]["locations"]["nodes"]
    assert nodes[1] == {"id": gid("Location", second), "name": "Warehouse 2", "isActive": False}
    assert nodes[0]["name"] == "Main" and nodes[0]["isActive"] is True
    assert body["extensions"]["cost"]["requestedQueryCost"] == ops.LOCATIONS.cost == 52
    assert body["extensions"]["cost"]["actualQueryCost"] == 2 + 2  # two locations returned


async def test_products_page_with_opaque_cursors_and_the_updated_at_filter(rig: Rig) -> None:
    seed(rig, products=12, variants=2)
    first = (await rig.data(ops.PRODUCTS))["products"]
    assert len(first["nodes"]) == ops.PRODUCTS_PAGE and first["pageInfo"]["hasNextPage"] is True
    node = first["nodes"][0]
    assert node["id"].startswith("gid://shopify/Product/") and node["status"] == "ACTIVE" and node["handle"] == "tee-0"
    variant = node["variants"]["nodes"][0]
    assert variant["sku"] == "TEE-0-0" and variant["price"] == "100000" and variant["inventoryQuantity"] == 5
    assert variant["inventoryItem"]["id"].startswith("gid://shopify/InventoryItem/")
    assert variant["selectedOptions"] == [{"name": "Size", "value": "S0"}]
    rest = (await rig.data(ops.PRODUCTS, after=first["pageInfo"]["endCursor"]))["products"]
    assert [n["title"] for n in rest["nodes"]] == ["Tee 10", "Tee 11"] and rest["pageInfo"]["hasNextPage"] is False
    listing = next(lst for lst in rig.shop.listings.values() if lst.name == "Tee 4")
    listing.updated_at = 2_000_000_000.0  # 2033-05-18T03:33:20Z
    changed = await rig.data(ops.PRODUCTS, q="updated_at:>'2033-01-01T00:00:00Z'")
    assert [n["title"] for n in changed["products"]["nodes"]] == ["Tee 4"]
    body = await rig.call(ops.PRODUCTS, after="not-a-cursor")
    assert "data" not in body and codes(body) == ["INVALID_CURSOR"]


async def test_variants_by_sku_product_id_and_updated_at(rig: Rig) -> None:
    seed(rig, products=2, variants=3)
    by_sku = (await rig.data(ops.VARIANTS, q="sku:TEE-1-2"))["productVariants"]["nodes"]
    assert [v["sku"] for v in by_sku] == ["TEE-1-2"] and by_sku[0]["updatedAt"].endswith("Z")
    product_id = by_sku[0]["product"]["id"]
    of_product = await rig.data(ops.VARIANTS, q=f"product_id:{ops.gid_number(product_id)}")
    assert [v["sku"] for v in of_product["productVariants"]["nodes"]] == ["TEE-1-0", "TEE-1-1", "TEE-1-2"]
    none = await rig.data(ops.VARIANTS, q="updated_at:>'2099-01-01T00:00:00Z'")
    assert none["productVariants"] == {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
    missing_q = await rig.call(ops.VARIANTS)  # $q: String! required
    assert codes(missing_q) == ["INVALID_VARIABLE"] and "data" not in missing_q
    unknown = await rig.call(ops.VARIANTS, q="title:Tee")
    assert codes(unknown) == ["SANDBOX_UNSUPPORTED_QUERY"]


async def test_orders_by_updated_range_sorted_by_update_and_one_order_by_gid(rig: Rig) -> None:
    seed(rig, products=1, variants=1)
    made = []
    for n in range(7):
        order = rig.sandbox.add_order(rig.shop, [{"sku": "TEE-0-0", "quantity": 2}], status="PAID/UNFULFILLED")
        order.created_at = order.updated_at = DAY + 60 * n  # n minutes into yesterday (inside the 60-day window)
        made.append(order)
    made[0].updated_at = DAY + 3600  # updated last: sorted last
    query = f"updated_at:>='{iso(DAY)}' updated_at:<'{iso(DAY + 86_400)}'"
    first = (await rig.data(ops.ORDERS, q=query))["orders"]
    assert len(first["nodes"]) == ops.ORDERS_PAGE and first["pageInfo"]["hasNextPage"] is True
    rest = (await rig.data(ops.ORDERS, q=query, after=first["pageInfo"]["endCursor"]))["orders"]
    ids = [n["id"] for n in first["nodes"] + rest["nodes"]]
    assert ids[-1] == gid("Order", made[0].order_id) and len(ids) == 7
    node = first["nodes"][0]
    assert node["displayFinancialStatus"] == "PAID" and node["displayFulfillmentStatus"] == "UNFULFILLED"
    assert node["cancelledAt"] is None and node["name"].startswith("#")
    assert node["totalPriceSet"] == {"shopMoney": {"amount": "200000", "currencyCode": "VND"}}
    assert node["customer"]["email"] is None and node["customer"]["firstName"] is None  # protected customer data
    line = node["lineItems"]["nodes"][0]
    assert line["sku"] == "TEE-0-0" and line["quantity"] == 2 and line["variant"]["id"].startswith("gid://")
    one = await rig.data(ops.ORDER, id=gid("Order", made[3].order_id))
    assert one["order"]["id"] == gid("Order", made[3].order_id)
    assert (await rig.data(ops.ORDER, id=gid("Order", 42)))["order"] is None
    bad = await rig.call(ops.ORDER, id="42")
    assert codes(bad) == ["INVALID_GLOBAL_ID"]
    old = rig.sandbox.add_order(rig.shop, [{"sku": "TEE-0-0"}], status="pending")
    old.created_at = old.updated_at = 1_600_000_000.0  # 2020: outside the 60-day window
    assert (await rig.data(ops.ORDER, id=gid("Order", old.order_id)))["order"] is None
    rig.sandbox.read_all_orders = True
    assert (await rig.data(ops.ORDER, id=gid("Order", old.order_id)))["order"]["displayFinancialStatus"] == "PENDING"


# ---------------------------------------------------------------------------------------------- mutations


def quantity(rig: Rig, sku: str, location: str, qty: int, change: Any = "omit") -> dict[str, Any]:
    found = rig.sandbox.find_variant(rig.shop, sku)
    assert found is not None
    item = {
        "inventoryItemId": gid("InventoryItem", rig.sandbox.inventory_item_id(found[1])),
        "locationId": gid("Location", location),
        "quantity": qty,
    }
    if change != "omit":
        item["changeFromQuantity"] = change
    return item


def stock_input(*quantities: dict[str, Any], name: str = "available", reason: str = "correction") -> dict[str, Any]:
    return {"name": name, "reason": reason, "referenceDocumentUri": "nfsync://task/1", "quantities": list(quantities)}


async def test_set_stock_compares_change_from_quantity_per_location(rig: Rig) -> None:
    seed(rig, products=1, variants=2)
    main = rig.sandbox.locations(rig.shop)[0]
    second = rig.sandbox.add_location(rig.shop, "Second")
    rig.sandbox.set_levels(rig.shop, "TEE-0-0", {main: 5, second: 3})
    ok = await rig.data(ops.SET_STOCK, input=stock_input(quantity(rig, "TEE-0-0", second, 10, 3)))
    assert ok["inventorySetQuantities"]["userErrors"] == []
    assert ok["inventorySetQuantities"]["inventoryAdjustmentGroup"]["id"].startswith("gid://shopify/")
    assert rig.sandbox.levels(rig.shop, "TEE-0-0") == {main: 5, second: 10}
    assert rig.sandbox.find_variant(rig.shop, "TEE-0-0")[1].stock == 15  # type: ignore[index]
    assert rig.sandbox.counters.writes_per_sku["TEE-0-0"] == 1
    # one stale quantity fails the whole call: nothing applied
    stale = await rig.data(
        ops.SET_STOCK,
        input=stock_input(quantity(rig, "TEE-0-1", main, 1, 6), quantity(rig, "TEE-0-0", main, 0, 4)),
    )
    payload = stale["inventorySetQuantities"]
    assert user_codes(payload) == ["CHANGE_FROM_QUANTITY_STALE"] and payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"][0]["field"] == ["input", "quantities", "1", "changeFromQuantity"]
    assert rig.sandbox.levels(rig.shop, "TEE-0-1") == {main: 6} and rig.sandbox.levels(rig.shop, "TEE-0-0")[main] == 5
    forced = await rig.data(ops.SET_STOCK, input=stock_input(quantity(rig, "TEE-0-1", main, 0, None)))
    assert forced["inventorySetQuantities"]["userErrors"] == [] and rig.sandbox.levels(rig.shop, "TEE-0-1") == {main: 0}
    omitted = await rig.data(ops.SET_STOCK, input=stock_input(quantity(rig, "TEE-0-1", main, 2)))
    assert user_codes(omitted["inventorySetQuantities"]) == ["CHANGE_FROM_QUANTITY_REQUIRED"]
    wrong = await rig.data(
        ops.SET_STOCK, input=stock_input(quantity(rig, "TEE-0-1", "999", 2, 0), name="on_hand", reason="because")
    )
    assert user_codes(wrong["inventorySetQuantities"]) == ["INVALID_NAME", "INVALID_REASON", "INVALID_LOCATION"]
    unknown_item = quantity(rig, "TEE-0-1", main, 2, 0) | {"inventoryItemId": gid("InventoryItem", 1)}
    assert user_codes((await rig.data(ops.SET_STOCK, input=stock_input(unknown_item)))["inventorySetQuantities"]) == [
        "INVALID_INVENTORY_ITEM"
    ]
    too_many = stock_input(*[quantity(rig, "TEE-0-1", main, 1, None)] * (ops.MAX_INPUT_ITEMS + 1))
    body = await rig.call(ops.SET_STOCK, input=too_many)
    assert codes(body) == ["MAX_INPUT_SIZE_EXCEEDED"] and "data" not in body
    no_reason = await rig.call(ops.SET_STOCK, input={"name": "available", "quantities": []})
    assert codes(no_reason) == ["INVALID_VARIABLE"]


async def test_set_prices_takes_decimal_strings_for_the_products_own_variants(rig: Rig) -> None:
    seed(rig, products=2, variants=2)
    first, other = list(rig.shop.listings.values())
    product = gid("Product", first.item_id)
    mine = [gid("ProductVariant", v.variant_id) for v in first.variants]
    done = await rig.data(ops.SET_PRICES, productId=product, variants=[{"id": mine[0], "price": "12.50"}])
    assert done["productVariantsBulkUpdate"] == {
        "productVariants": [{"id": mine[0], "price": "12.50"}],
        "userErrors": [],
    }
    assert first.variants[0].price == Decimal("12.50")
    foreign = gid("ProductVariant", other.variants[0].variant_id)
    refused = await rig.data(
        ops.SET_PRICES, productId=product, variants=[{"id": mine[1], "price": "1.00"}, {"id": foreign, "price": "2"}]
    )
    payload = refused["productVariantsBulkUpdate"]
    assert user_codes(payload) == ["MUST_BE_FOR_THIS_PRODUCT"] and payload["userErrors"][0]["field"] == [
        "variants",
        "1",
        "id",
    ]
    assert first.variants[1].price == Decimal(100000)  # nothing applied
    negative = await rig.data(ops.SET_PRICES, productId=product, variants=[{"id": mine[1], "price": "-1"}])
    assert user_codes(negative["productVariantsBulkUpdate"]) == ["GREATER_THAN_OR_EQUAL_TO"]
    gone = await rig.data(ops.SET_PRICES, productId=gid("Product", 1), variants=[{"id": mine[1], "price": "1"}])
    assert user_codes(gone["productVariantsBulkUpdate"]) == ["PRODUCT_DOES_NOT_EXIST"]
    for bad in (12.5, "12,50", "abc"):
        body = await rig.call(ops.SET_PRICES, productId=product, variants=[{"id": mine[1], "price": bad}])
        assert codes(body) == ["INVALID_VARIABLE"], bad
    too_many = [{"id": mine[1], "price": "1"}] * (ops.MAX_INPUT_ITEMS + 1)
    assert codes(await rig.call(ops.SET_PRICES, productId=product, variants=too_many)) == ["MAX_INPUT_SIZE_EXCEEDED"]


def product_input(title: str, *, handle: str | None = None, sizes: tuple[str, ...] = ("S", "M")) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": title,
        "status": "ACTIVE",
        "productOptions": [{"name": "Size", "values": [{"name": s} for s in sizes]}],
        "variants": [
            {
                "optionValues": [{"optionName": "Size", "name": s}],
                "price": "199000",
                "inventoryItem": {"sku": f"{title.upper()}-{s}", "tracked": True},
                "inventoryQuantities": [],
            }
            for s in sizes
        ],
    }
    if handle:
        data["handle"] = handle
    return data


async def test_create_product_makes_options_variants_skus_and_stock_per_location(rig: Rig) -> None:
    main = rig.sandbox.locations(rig.shop)[0]
    data = product_input("Hoodie", handle="hoodie")
    data["variants"][0]["inventoryQuantities"] = [
        {"locationId": gid("Location", main), "name": "available", "quantity": 7}
    ]
    made = (await rig.data(ops.CREATE_PRODUCT, input=data))["productSet"]
    assert made["userErrors"] == [] and made["product"]["handle"] == "hoodie" and made["product"]["title"] == "Hoodie"
    variants = made["product"]["variants"]["nodes"]
    assert [(v["sku"], v["price"], v["inventoryQuantity"]) for v in variants] == [
        ("HOODIE-S", "199000", 7),
        ("HOODIE-M", "199000", 0),
    ]
    assert rig.sandbox.levels(rig.shop, "HOODIE-S") == {main: 7} and rig.sandbox.counters.creates == 1
    again = (await rig.data(ops.CREATE_PRODUCT, input=product_input("Hoodie", handle="hoodie")))["productSet"]
    assert user_codes(again) == ["HANDLE_NOT_UNIQUE"] and again["product"] is None
    generated = (await rig.data(ops.CREATE_PRODUCT, input=product_input("Hoodie")))["productSet"]
    assert generated["product"]["handle"] == "hoodie-1"
    options = product_input("Cap")
    options["productOptions"] = [{"name": n, "values": [{"name": "x"}]} for n in ("A", "B", "C", "D")]
    assert "OPTIONS_OVER_LIMIT" in user_codes((await rig.data(ops.CREATE_PRODUCT, input=options))["productSet"])
    clash = product_input("Scarf", sizes=("S", "S"))
    assert user_codes((await rig.data(ops.CREATE_PRODUCT, input=clash))["productSet"]) == ["INVALID_VARIANT"]
    undeclared = product_input("Sock")
    undeclared["variants"][0]["optionValues"] = [{"optionName": "Colour", "name": "Red"}]
    assert user_codes((await rig.data(ops.CREATE_PRODUCT, input=undeclared))["productSet"]) == ["INVALID_VARIANT"]
    assert rig.sandbox.counters.creates == 2


# ---------------------------------------------------------------------------------------------- refusals


async def test_only_the_shared_documents_are_served(rig: Rig) -> None:
    status, body = await rig.raw({"query": "query Nope { shop { name } }", "operationName": "Nope"})
    assert status == 200 and codes(body) == ["OPERATION_NOT_FOUND"] and "data" not in body
    altered = ops.SHOP.document.replace("currencyCode ", "")
    status, body = await rig.raw({"query": altered, "operationName": "Shop"})
    assert status == 200 and codes(body) == ["DOCUMENT_MISMATCH"]
    reflowed = ops.SHOP.document.replace(" ", "\n  ").replace("name currencyCode", "name, currencyCode")
    status, body = await rig.raw({"query": reflowed, "operationName": "Shop"})
    assert "errors" not in body and body["data"]["shop"]["name"] == "Demo"  # whitespace and commas do not matter
    status, body = await rig.raw({"query": ops.SHOP.document})
    assert codes(body) == ["OPERATION_NOT_FOUND"]
    status, body = await rig.raw({"operationName": "Shop"})
    assert codes(body) == ["MISSING_QUERY"]
    assert rig.sandbox.counters.writes_per_sku == {}


async def test_a_bad_token_or_shop_is_refused_before_any_graphql(rig: Rig) -> None:
    body = {"query": ops.SHOP.document, "operationName": "Shop"}
    status, answer = await rig.raw(body, token="shpat_wrong")
    unauthorized = next(e for e in CONTRACT["calls"]["query shop"]["errors"] if e["status"] == 401)
    assert status == 401 and answer == unauthorized["response"]
    assert (await rig.raw(body, token=None))[0] == 401
    other = f"{rig.sandbox.base_url}/nobody.myshopify.com{ops.GRAPHQL_PATH}"
    assert (await rig.raw(body, url=other))[0] == 404
    old_version = f"{rig.sandbox.base_url}/{DOMAIN}/admin/api/2024-01/graphql.json"
    assert (await rig.raw(body, url=old_version))[0] == 404


# ---------------------------------------------------------------------------------------------- cost bucket


async def test_the_cost_bucket_charges_requested_refunds_to_actual_and_restores_on_the_clock(rig: Rig) -> None:
    empty = await rig.call(ops.ORDERS, q="updated_at:>='2026-01-01T00:00:00Z'")  # no orders: refunded to 3
    cost = empty["extensions"]["cost"]
    assert cost["requestedQueryCost"] == ops.ORDERS.cost == 808 and cost["actualQueryCost"] == 2 + 0 + 1
    assert cost["throttleStatus"]["currentlyAvailable"] == 997
    seed(rig, products=10, variants=20)  # a full Products page: actual 2 + 10 x (3 + 20 x 3) + 1 = requested
    body = await rig.call(ops.PRODUCTS)
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == ops.PRODUCTS.cost == 633 and cost["actualQueryCost"] == 633
    assert cost["throttleStatus"]["currentlyAvailable"] == 997 - 633
    throttled = await rig.call(ops.PRODUCTS)  # 633 > 364 available: refused before execution
    sample = next(e for e in CONTRACT["calls"]["query products"]["errors"] if e["kind"] == "throttled")
    assert throttled["errors"] == sample["response"]["errors"] and "data" not in throttled
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    assert throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 364
    assert rig.sandbox.counters.throttled == 1
    rig.clock.now += 5.0  # 364 + 5 x 50 = 614 < 633
    assert codes(await rig.call(ops.PRODUCTS)) == ["THROTTLED"] and rig.sandbox.counters.throttled == 2
    rig.clock.now += 0.5  # 639 >= 633
    body = await rig.call(ops.PRODUCTS)
    assert "errors" not in body and body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 639 - 633
    rig.clock.now += 100.0  # never above the maximum
    assert (await rig.call(ops.SHOP))["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 999
    rig.sandbox.rate_limit = 100  # the sandbox's rate_limit is the restore rate
    assert (await rig.call(ops.SHOP))["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 100.0


async def test_max_cost_and_throttle_storms_answer_as_shopify(rig: Rig) -> None:
    big = ops.Operation("Big", "query Big { shop { name } }", 1032)
    rig.sandbox.operations[big.name] = big
    status, body = await rig.raw({"query": big.document, "operationName": big.name})
    sample = next(e for e in CONTRACT["calls"]["query shop"]["errors"] if e["kind"] == "permanent")
    assert status == 200 and body == sample["response"]
    rig.sandbox.faults.throttle_until = 4_000_000_000.0
    body = await rig.call(ops.SHOP)
    assert codes(body) == ["THROTTLED"] and body["extensions"]["cost"]["requestedQueryCost"] == 1
    assert rig.sandbox.counters.throttled == 1


async def test_a_lost_write_response_still_applies_the_write(rig: Rig) -> None:
    seed(rig, products=1, variants=1)
    listing = next(iter(rig.shop.listings.values()))
    rig.sandbox.faults.lose_next_writes = 1
    variables = {
        "productId": gid("Product", listing.item_id),
        "variants": [{"id": gid("ProductVariant", listing.variants[0].variant_id), "price": "5"}],
    }
    with pytest.raises(aiohttp.ClientError):
        await rig.raw({"query": ops.SET_PRICES.document, "operationName": "SetPrices", "variables": variables})
    assert listing.variants[0].price == Decimal(5) and rig.sandbox.counters.lost_writes == 1


# ---------------------------------------------------------------------------------------------- bulk


async def test_bulk_query_runs_one_at_a_time_and_serves_jsonl_with_parent_ids(rig: Rig) -> None:
    seed(rig, products=2, variants=2)
    assert (await rig.data(ops.BULK_POLL))["currentBulkOperation"] is None
    started = (await rig.data(ops.BULK_RUN, q=ops.BULK_PRODUCTS_QUERY))["bulkOperationRunQuery"]
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    second = (await rig.data(ops.BULK_RUN, q=ops.BULK_PRODUCTS_QUERY))["bulkOperationRunQuery"]
    assert second["bulkOperation"] is None and second["userErrors"] == [
        {"field": None, "message": "A bulk query operation for this app and shop is already in progress"}
    ]
    running = (await rig.data(ops.BULK_POLL))["currentBulkOperation"]
    assert running["status"] == "RUNNING" and running["url"] is None
    rig.clock.now += rig.sandbox.bulk_seconds
    done = (await rig.data(ops.BULK_POLL))["currentBulkOperation"]
    assert done["status"] == "COMPLETED" and done["objectCount"] == "6" and done["id"] == started["bulkOperation"]["id"]
    async with rig.session.get(done["url"]) as response:
        lines = [json.loads(line) for line in (await response.text()).splitlines()]
    products = [row for row in lines if "__parentId" not in row]
    assert [p["title"] for p in products] == ["Tee 0", "Tee 1"]
    children = [row for row in lines if row.get("__parentId") == products[0]["id"]]
    assert [c["sku"] for c in children] == ["TEE-0-0", "TEE-0-1"]
    assert lines.index(children[0]) > lines.index(products[0])
    other = (await rig.data(ops.BULK_RUN, q="{ orders { edges { node { id } } } }"))["bulkOperationRunQuery"]
    assert other["userErrors"][0]["field"] == ["query"]


# ---------------------------------------------------------------------------------------------- OAuth


def test_callback_hmac_matches_the_contract_vectors() -> None:
    for vector in CONTRACT["auth"]["callback"]["test_vectors"]:
        params = dict(pair.split("=", 1) for pair in vector["message"].split("&"))
        assert sb_auth.callback_hmac({**params, "hmac": "ignored"}, vector["secret"]) == vector["hmac"]


async def test_oauth_redirect_is_signed_and_a_code_is_single_use(rig: Rig) -> None:
    callback = "http://127.0.0.1:9/oauth/callback/shopify"
    query = {"client_id": SAMPLE_APP["client_id"], "scope": "read_products,write_inventory", "redirect_uri": callback}
    authorize = f"{rig.sandbox.base_url}/{DOMAIN}/admin/oauth/authorize"
    async with rig.session.get(authorize, params={**query, "state": "nonce-1"}, allow_redirects=False) as response:
        assert response.status == 302
        location = URL(response.headers["Location"])
    params = dict(location.query)
    assert str(location.with_query(None)) == callback
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"} and params["shop"] == DOMAIN
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "hmac")
    expected = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert params["hmac"] == expected and params["state"] == "nonce-1"
    token_url = f"{rig.sandbox.base_url}/{DOMAIN}/admin/oauth/access_token"
    form = {"client_id": SAMPLE_APP["client_id"], "client_secret": SECRET, "code": params["code"]}
    async with rig.session.post(token_url, data=form) as response:
        granted = await response.json()
    assert set(granted) == {"access_token", "scope"} and granted["scope"] == "read_products,write_inventory"
    assert "errors" not in await rig.call(ops.SHOP, token=granted["access_token"])
    async with rig.session.post(token_url, json=form) as response:
        again = await response.json()
    assert (
        response.status == 400 and again == CONTRACT["calls"]["POST /admin/oauth/access_token"]["errors"][0]["response"]
    )
    bad = {**query, "state": "n", "client_id": "someone-else"}
    async with rig.session.get(authorize, params=bad, allow_redirects=False) as response:
        assert response.status == 400


async def test_expiring_offline_tokens_expire_and_refresh_rotates(rig: Rig) -> None:
    code = rig.sandbox.issue_code(rig.shop.shop_id)
    token_url = f"{rig.sandbox.base_url}/{DOMAIN}/admin/oauth/access_token"
    creds = {"client_id": SAMPLE_APP["client_id"], "client_secret": SECRET}
    async with rig.session.post(token_url, json={**creds, "code": code, "expiring": "1"}) as response:
        granted = await response.json()
    assert granted["expires_in"] == 3600 and granted["refresh_token"]
    async with rig.session.post(
        token_url, json={**creds, "grant_type": "refresh_token", "refresh_token": granted["refresh_token"]}
    ) as response:
        renewed = await response.json()
    assert renewed["access_token"] != granted["access_token"] and renewed["refresh_token"] != granted["refresh_token"]
    async with rig.session.post(
        token_url, json={**creds, "grant_type": "refresh_token", "refresh_token": granted["refresh_token"]}
    ) as response:
        assert response.status == 400  # the spent refresh token no longer works
    rig.shop.access[renewed["access_token"]].expires_at = 0.0
    assert (await rig.raw({"query": ops.SHOP.document, "operationName": "Shop"}, renewed["access_token"]))[0] == 401


# ---------------------------------------------------------------------------------------------- webhooks


@dataclass
class Receiver:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    holder: list[Receiver] = []

    async def receive(request: web.Request) -> web.Response:
        holder[0].received.append((dict(request.headers), await request.read()))
        return web.Response(status=holder[0].status)

    app = web.Application()
    app.router.add_post("/webhooks/shopify/1", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    holder.append(Receiver(f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/shopify/1"))
    try:
        yield holder[0]
    finally:
        await runner.cleanup()


async def subscribe(rig: Rig, topic: str, uri: str) -> dict[str, Any]:
    body = await rig.data(ops.SUBSCRIBE, topic=topic, sub={"uri": uri, "format": "JSON"})
    return dict(body["webhookSubscriptionCreate"])


async def test_subscriptions_get_signed_deliveries_with_shopify_headers(rig: Rig, receiver: Receiver) -> None:
    made = await subscribe(rig, "ORDERS_CREATE", receiver.url)
    assert made["userErrors"] == [] and made["webhookSubscription"]["topic"] == "ORDERS_CREATE"
    assert made["webhookSubscription"]["id"].startswith("gid://shopify/WebhookSubscription/")
    await subscribe(rig, "ORDERS_CANCELLED", receiver.url)
    taken = await subscribe(rig, "ORDERS_CREATE", receiver.url)
    assert taken["userErrors"] == [
        {"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"}
    ]
    assert (await subscribe(rig, "ORDERS_CREATE", "http://example.com/hook"))["userErrors"][0]["field"] == [
        "webhookSubscription",
        "callbackUrl",
    ]
    bad_topic = await rig.call(ops.SUBSCRIBE, topic="ORDERS_PAID", sub={"uri": receiver.url})
    assert codes(bad_topic) == ["INVALID_VARIABLE"]
    seed(rig, products=1, variants=1)
    order = rig.sandbox.add_order(rig.shop, [{"sku": "TEE-0-0"}], status=rig.sandbox.initial_order_status())
    rig.sandbox.push(rig.shop, {"kind": "order_status_changed", "order": order})
    await until(lambda: len(receiver.received) == 1)
    headers, body = receiver.received[0]
    for name in CONTRACT["webhook_topics"]["headers"]:
        assert headers.get(name), name
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["X-Shopify-Hmac-Sha256"] == digest and headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"] == DOMAIN and headers["X-Shopify-API-Version"] == ops.API_VERSION
    payload = json.loads(body)
    assert payload["id"] == int(order.order_id) and payload["admin_graphql_api_id"] == gid("Order", order.order_id)
    order.status, order.updated_at = "cancelled", order.updated_at + 5
    rig.sandbox.push(rig.shop, {"kind": "order_status_changed", "order": order})
    await until(lambda: len(receiver.received) == 2)
    assert receiver.received[1][0]["X-Shopify-Topic"] == "orders/cancelled"
    assert json.loads(receiver.received[1][1])["cancelled_at"] is not None


async def test_failed_deliveries_are_retried_with_the_same_webhook_id_then_the_subscription_goes(
    rig: Rig, receiver: Receiver
) -> None:
    rig.sandbox.webhook_retry_scale = 0.00001  # 4 hours -> about 0.15 s
    await subscribe(rig, "PRODUCTS_UPDATE", receiver.url)
    seed(rig, products=1, variants=1)
    listing = next(iter(rig.shop.listings.values()))
    receiver.status = 500
    rig.sandbox.push(rig.shop, {"kind": "product_changed", "listing": listing})
    await until(lambda: rig.sandbox.counters.webhooks_failed == 1)
    assert len(receiver.received) == 8  # removed after 8 consecutive failed attempts
    assert len({h["X-Shopify-Webhook-Id"] for h, _ in receiver.received}) == 1
    assert rig.sandbox.store.subscriptions[rig.shop.shop_id] == []
    body = json.loads(receiver.received[0][1])
    assert body["admin_graphql_api_id"] == gid("Product", listing.item_id) and body["variants"][0]["sku"] == "TEE-0-0"


async def test_without_subscriptions_pushes_go_to_the_webhook_url_and_uninstall_revokes(
    rig: Rig, receiver: Receiver
) -> None:
    rig.sandbox.webhook_url = receiver.url
    rig.sandbox.uninstall(rig.shop)
    await until(lambda: len(receiver.received) == 1)
    headers, body = receiver.received[0]
    assert headers["X-Shopify-Topic"] == "app/uninstalled" and json.loads(body)["myshopify_domain"] == DOMAIN
    assert (await rig.raw({"query": ops.SHOP.document, "operationName": "Shop"}))[0] == 401


# ---------------------------------------------------------------------------------------------- shared helpers


async def test_the_base_helpers_work_with_shopify_statuses(rig: Rig) -> None:
    seed(rig, products=1, variants=1)
    first = rig.sandbox.initial_order_status()
    assert first == "PENDING/UNFULFILLED" and rig.sandbox.next_order_status(first) == "PAID/UNFULFILLED"
    assert rig.sandbox.next_order_status("PAID/FULFILLED") == "PAID/FULFILLED"
    order = rig.sandbox.add_order(rig.shop, [{"sku": "TEE-0-0", "quantity": 1}], status=first)
    assert order.lines[0].variant_id == rig.sandbox.find_variant(rig.shop, "TEE-0-0")[1].variant_id  # type: ignore[index]
    node = (await rig.data(ops.ORDER, id=gid("Order", order.order_id)))["order"]
    assert (node["displayFinancialStatus"], node["displayFulfillmentStatus"]) == ("PENDING", "UNFULFILLED")
    assert rig.sandbox.counters.requests == 1


def test_shop_ref_gives_the_domain_and_store_url() -> None:
    sandbox = Sandbox(SAMPLE_APP)
    shop = sandbox.add_shop("lab-1", "Lab")
    ref = shop_ref(shop, "http://127.0.0.1:8080/")
    assert ref.platform_shop_id == "lab-1.myshopify.com"
    assert ref.extra == {"shop_domain": "lab-1.myshopify.com", "store_url": "http://127.0.0.1:8080/lab-1.myshopify.com"}


def test_the_spec_is_built_once_the_platform_lands(monkeypatch: pytest.MonkeyPatch) -> None:
    """``connectors.shopify.PLATFORM`` is the client engineer's; a stand-in here until it lands."""
    import nfsync.connectors.shopify as package
    import nfsync.connectors.shopify.sandbox as kit

    stand_in = object()
    monkeypatch.setattr(package, "PLATFORM", getattr(package, "PLATFORM", stand_in), raising=False)
    monkeypatch.delitem(kit.__dict__, "SANDBOX", raising=False)
    spec = kit.SANDBOX
    assert spec.sandbox is Sandbox and spec.sample_app == SAMPLE_APP and spec.shop_ref is shop_ref
    monkeypatch.delitem(kit.__dict__, "SANDBOX", raising=False)
