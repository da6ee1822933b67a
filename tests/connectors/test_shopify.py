"""Shopify connector (issue #19): mapping of the contract's samples, error classification, the cost planner, webhooks
and the client over real HTTP against a minimal canned GraphQL server on 127.0.0.1 (answers shaped as the samples
of tests/contracts/shopify.json; the real sandbox comes separately)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider
from nfsync.connectors.base.client import AppCredentials, ClientSettings, HttpResponse, ShopRef
from nfsync.connectors.base.errors import (
    PermanentError,
    ReauthorizationNeeded,
    ValidationFailed,
)
from nfsync.connectors.base.models import ListingDraft, PriceUpdate, StockUpdate, TokenPair, VariantDraft
from nfsync.connectors.base.outbound import OutboundPolicy, OutboundRefused, check_url
from nfsync.connectors.base.policy import Action
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.shopify import PLATFORM, cost, operations, webhooks
from nfsync.connectors.shopify.client import Client, check_shop
from nfsync.connectors.shopify.cost import CostBucket, cost_of, throttle_wait
from nfsync.connectors.shopify.errors import ERROR_TABLE, error_index
from nfsync.connectors.shopify.mapping import listing_of, order_of, order_status
from nfsync.connectors.shopify.signing import callback_hmac, webhook_signature
from nfsync.workers.sync.orders import STATUS_MAP, crm_status

CONTRACT = json.loads((Path(__file__).parents[1] / "contracts" / "shopify.json").read_text())
CALLS = CONTRACT["calls"]
SHOP = "demo.myshopify.com"
TOKEN = "shpat_0123456789abcdef"
SECRET = "hush"


def sample(call: str) -> dict[str, Any]:
    return copy.deepcopy(CALLS[call]["response_sample"])


def contract_error(call: str, kind: str, status: int = 200) -> dict[str, Any]:
    return copy.deepcopy(
        next(e for e in CALLS[call]["errors"] if e["kind"] == kind and e["status"] == status and "response" in e)
    )


# ---------------------------------------------------------------------------------------------- mapping


def test_product_sample_maps_to_a_listing_with_gids() -> None:
    product = sample("query products")["data"]["products"]["nodes"][0]
    listing = listing_of(product)
    assert listing.platform_item_id == "123" and listing.name == "Tee"
    assert listing.status == "active" and listing.updated_at == datetime(2026, 5, 1, 10, tzinfo=UTC)
    [variant] = listing.variants
    assert variant.platform_variant_id == "456" and variant.sku == "TEE-1"
    assert variant.price == Decimal("9.90") and variant.stock == 0 and variant.barcode is None  # absent in the sample
    with_more = {**product, "status": "DRAFT"}
    with_more["variants"]["nodes"][0] |= {
        "barcode": " 0123456789012 ",
        "inventoryQuantity": 7,
        "selectedOptions": [{"name": "Size", "value": "M"}],
    }
    variant = listing_of(with_more).variants[0]
    assert (variant.barcode, variant.stock, variant.options) == ("0123456789012", 7, {"Size": "M"})
    assert listing_of(with_more).status == "inactive"


def test_order_sample_maps_money_lines_status_and_customer() -> None:
    node = sample("query orders")["data"]["orders"]["nodes"][0]
    order = order_of(node)
    assert order.platform_order_id == "1001" and order.currency == "VND"
    assert (order.total, order.subtotal, order.shipping_fee) == (Decimal(120000), Decimal(100000), Decimal(20000))
    assert order.status == "unfulfilled" and crm_status("shopify", order.status) == "CONFIRMED"
    [line] = order.lines
    assert line.platform_line_id == "9" and line.unit_price == Decimal(50000)
    assert (line.platform_item_id, line.platform_variant_id) == ("123", "456")
    assert line.sku == "TEE-1" and line.quantity == 2
    # protected customer data comes back null: only the buyer id is known
    assert order.customer is not None and order.customer.platform_buyer_id == "5"
    assert order.customer.name is None and order.customer.email is None
    node["customer"] = {
        "id": "5",
        "email": "a@b.c",
        "phone": None,
        "firstName": "An",
        "lastName": "Le",
    }
    named = order_of(node).customer
    assert named is not None and (named.name, named.email) == ("An Le", "a@b.c")
    node["customer"] = None
    assert order_of(node).customer is None


@pytest.mark.parametrize(
    ("cancelled", "financial", "fulfillment", "key"),
    [
        ("2026-05-01T00:00:00Z", "PAID", "FULFILLED", "cancelled"),
        (None, "REFUNDED", "FULFILLED", "refunded"),
        (None, "VOIDED", "UNFULFILLED", "voided"),
        (None, "PENDING", "UNFULFILLED", "pending"),
        (None, "AUTHORIZED", "UNFULFILLED", "authorized"),
        (None, "PAID", "FULFILLED", "fulfilled"),
        (None, "PARTIALLY_REFUNDED", "PARTIALLY_FULFILLED", "partially_fulfilled"),
        (None, "PAID", "ON_HOLD", "on_hold"),
        (None, "PAID", None, "unfulfilled"),
        (None, "PAID", "FULFILLMENT_NOT_REQUIRED", "fulfillment_not_required"),
    ],
)
def test_order_status_derivation(cancelled: str | None, financial: str, fulfillment: str | None, key: str) -> None:
    assert order_status(cancelled, financial, fulfillment) == key


def test_status_map_is_the_contract_proposal_and_covers_every_derived_key() -> None:
    statuses = CONTRACT["order_statuses"]
    assert STATUS_MAP["shopify"] == statuses["proposed_crm"]
    assert set(statuses["values"]) == set(STATUS_MAP["shopify"])
    for financial in statuses["financial"]:
        for fulfillment in statuses["fulfillment"]:
            assert order_status(None, financial, fulfillment) in STATUS_MAP["shopify"]


# ---------------------------------------------------------------------------------------------- errors


def _response(entry: dict[str, Any]) -> HttpResponse:
    return HttpResponse(entry["status"], {}, json.dumps(entry["response"]).encode())


def _classify(entry: dict[str, Any]) -> Action:
    client = Client.__new__(Client)
    code, _ = client.error_of(_response(entry))
    return ERROR_TABLE.classify(entry["status"], code)


def test_errors_are_classified_as_the_contract_says() -> None:
    expected = {"throttled": {Action.THROTTLE}, "permanent": {Action.PERMANENT}, "reauthorize": {Action.REFRESH}}
    for call, spec in CALLS.items():
        for entry in spec["errors"]:
            if "response" in entry and call.startswith(("query", "mutation")):
                assert _classify(entry) in expected[entry["kind"]], (call, entry)


def test_throttled_wait_comes_from_the_bucket() -> None:
    throttled = contract_error("query products", "throttled")
    client = Client.__new__(Client)
    # requested 833, currently 12, restoring 50/s: (833 - 12) / 50
    assert client.retry_after(_response(throttled)) == pytest.approx(16.42)
    assert client.retry_after(HttpResponse(429, {"Retry-After": "3"}, b"{}")) == 3.0


def test_user_error_fields_name_the_item() -> None:
    assert error_index({"field": ["input", "quantities", "3", "changeFromQuantity"]}, "quantities") == 3
    assert error_index({"field": ["variants", "0", "price"]}, "variants") == 0
    assert error_index({"field": ["variants"]}, "variants") is None
    assert error_index({"field": None}, "quantities") is None


# ---------------------------------------------------------------------------------------------- cost planner


def test_cost_bucket_reserves_waits_and_settles_from_throttle_status() -> None:
    bucket = CostBucket()
    assert bucket.reserve(833, now=0.0) == 0.0  # 1000 - 833 = 167 left
    assert bucket.reserve(808, now=0.0) == pytest.approx((808 - 167) / 50)  # waits for the difference
    assert bucket.available == pytest.approx(167 - 808)  # debt: the next caller queues behind
    assert bucket.reserve(52, now=0.0) == pytest.approx((52 + 808 - 167) / 50)
    answer = cost_of(
        {
            "extensions": {
                "cost": {
                    "requestedQueryCost": 833,
                    "actualQueryCost": 400,
                    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1500.0, "restoreRate": 100.0},
                }
            }
        }
    )
    bucket.settle(833, answer, now=1.0)  # Shopify refunded 433; 808 + 52 still in flight here
    assert (bucket.maximum, bucket.restore_rate) == (2000.0, 100.0)
    assert bucket.available == pytest.approx(1500 - 860) and bucket.level(2.0) == pytest.approx(740)
    bucket.release(808)
    bucket.release(52)
    assert bucket.in_flight == 0


def test_cost_bucket_refunds_requested_minus_actual_without_throttle_status() -> None:
    bucket = CostBucket()
    bucket.reserve(303, now=0.0)
    bucket.settle(303, cost.CallCost(requested=303, actual=3, status=None), now=0.0)
    assert bucket.level(0.0) == pytest.approx(1000 - 3)
    assert bucket.level(100.0) == 1000  # never above the maximum


def test_cost_bucket_refuses_a_call_it_can_never_pay() -> None:
    with pytest.raises(PermanentError):
        CostBucket(maximum=100).reserve(101, now=0.0)


def test_throttle_wait() -> None:
    throttled = cost_of(contract_error("query shop", "throttled")["response"])
    assert throttled is not None and throttled.actual is None
    assert throttle_wait(throttled) == pytest.approx((833 - 12) / 50)
    assert throttle_wait(None) is None and throttle_wait(cost_of({})) is None


def test_every_operation_fits_the_default_bucket() -> None:
    assert all(op.cost <= cost.DEFAULT_MAXIMUM for op in operations.OPERATIONS.values())


# ---------------------------------------------------------------------------------------------- webhooks


def _headers(body: bytes, topic: str, secret: str = SECRET, **extra: str) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-Sha256": webhook_signature(body, secret),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": "wh-1",
        "X-Shopify-Triggered-At": "2026-05-01T10:00:00.000Z",
        "X-Shopify-API-Version": "2026-04",
        **extra,
    }


APP = AppCredentials({"client_id": "cid", "client_secret": Secret(SECRET)})


def test_webhook_verify_refuses_a_bad_signature() -> None:
    body = json.dumps(CALLS["POST {uri} (inbound webhook delivery)"]["response_sample"]).encode()
    headers = _headers(body, "products/update")
    assert webhooks.verify(headers, body, APP, [SECRET], "https://nfsync.example/webhooks/shopify/1")
    assert webhooks.verify(headers, body, APP, ["new-secret", SECRET], "")  # rotation: the previous secret
    assert not webhooks.verify(headers, body + b" ", APP, [SECRET], "")
    assert not webhooks.verify(_headers(body, "products/update", secret="x"), body, APP, [SECRET], "")
    assert not webhooks.verify({"X-Shopify-Topic": "products/update"}, body, APP, [SECRET], "")
    assert PLATFORM.verify_webhook is webhooks.verify and PLATFORM.push_signed_with == "client_secret"


def test_webhook_parse_topics_ids_and_dedupe_keys() -> None:
    product = json.dumps(CALLS["POST {uri} (inbound webhook delivery)"]["response_sample"]).encode()
    [event] = webhooks.parse(_headers(product, "products/update"), product)
    assert event.kind == "product_changed" and event.entity_id == "9554194432293"
    assert event.platform_shop_id == SHOP and event.dedupe_key == "wh-1"
    assert event.occurred_at == datetime(2026, 5, 1, 10, tzinfo=UTC)
    order = json.dumps(
        {
            "id": 1001,
            "admin_graphql_api_id": "gid://shopify/Order/1001",
            "financial_status": "paid",
            "fulfillment_status": None,
            "cancelled_at": None,
        }
    ).encode()
    for topic in ("orders/create", "orders/updated", "orders/cancelled"):
        [event] = webhooks.parse(_headers(order, topic, **{"X-Shopify-Event-Id": "ev-9"}), order)
        assert event.kind == "order_status_changed" and event.entity_id == "1001"
        assert event.dedupe_key == "ev-9" and event.status == "unfulfilled"
    numeric = json.dumps({"id": 77, "cancelled_at": "2026-05-01T00:00:00Z"}).encode()
    [event] = webhooks.parse(_headers(numeric, "orders/cancelled"), numeric)
    assert event.entity_id == "77" and event.status == "cancelled"
    [event] = webhooks.parse(_headers(b"{}", "app/uninstalled"), b"{}")
    assert event.kind == "shop_deauthorized" and event.platform_shop_id == SHOP and event.entity_id is None
    [event] = webhooks.parse(_headers(b"{}", "customers/create"), b"{}")
    assert event.kind == "ignored"
    [event] = webhooks.parse(_headers(b"not json", "orders/updated"), b"not json")
    assert event.kind == "ignored"


# ---------------------------------------------------------------------------------------------- spec and shop domain


def test_spec_refuses_api_hosts_other_than_the_shops_own() -> None:
    for url in ("https://evil.example.com", "https://demo.myshopify.com", "http://127.0.0.1:9"):
        with pytest.raises(OutboundRefused):
            check_url(url, PLATFORM.api_hosts, OutboundPolicy())
    check_url("http://127.0.0.1:9", PLATFORM.api_hosts, OutboundPolicy(frozenset({"127.0.0.1"})))  # operator's sandbox
    assert PLATFORM.name == "shopify" and PLATFORM.client is Client


@pytest.mark.parametrize(
    "domain",
    ["evil.com", "demo.myshopify.com.evil.com", "-demo.myshopify.com", "de_mo.myshopify.com", "", "demo.myshopify.io"],
)
def test_shop_domain_rule(domain: str) -> None:
    with pytest.raises(ValidationFailed):
        check_shop(domain)


# ---------------------------------------------------------------------------------------------- client over HTTP

Answer = dict[str, Any] | tuple[int, Any] | Callable[[dict[str, Any]], Any]
COST_OK = {"maximumAvailable": 1000.0, "currentlyAvailable": 990.0, "restoreRate": 50.0}


@dataclass
class Fake:
    url: str = ""
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def on(self, name: str, *answers: Answer) -> None:
        self.answers.setdefault(name, []).extend(answers)

    def sent(self, name: str) -> list[dict[str, Any]]:
        return [body for _, body in self.requests if body.get("operationName") == name]


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    state = Fake()

    async def graphql(request: web.Request) -> web.Response:
        body = await request.json()
        state.requests.append((dict(request.headers), body))
        queue = state.answers.get(body.get("operationName"), [])
        answer: Any = queue.pop(0) if len(queue) > 1 else queue[0] if queue else {"errors": [{"message": "no answer"}]}
        if callable(answer):
            answer = answer(body.get("variables") or {})
        status, payload = answer if isinstance(answer, tuple) else (200, answer)
        if status == 200 and isinstance(payload, dict) and "extensions" not in payload:
            op = operations.OPERATIONS.get(body.get("operationName"), operations.SHOP)
            payload = {
                **payload,
                "extensions": {
                    "cost": {"requestedQueryCost": op.cost, "actualQueryCost": op.cost, "throttleStatus": COST_OK}
                },
            }
        return web.json_response(payload, status=status)

    async def token(request: web.Request) -> web.Response:
        body = await request.json()
        state.requests.append((dict(request.headers), {"operationName": "token", **body}))
        if body.get("code") != "good-code":
            return web.json_response(CALLS["POST /admin/oauth/access_token"]["errors"][0]["response"], status=400)
        return web.json_response(sample("POST /admin/oauth/access_token"))

    async def files(request: web.Request) -> web.Response:
        return web.Response(body=state.files[request.match_info["name"]])

    app = web.Application()
    app.router.add_post(
        "/{shop}" + operations.GRAPHQL_PATH, graphql
    )  # a proxy base_url serves shops under their domain
    app.router.add_post("/{shop}/admin/oauth/access_token", token)
    app.router.add_get("/files/{name}", files)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    cost.BUCKETS.clear()
    try:
        yield state
    finally:
        await runner.cleanup()
        cost.BUCKETS.clear()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def client_for(fake: Fake, session: aiohttp.ClientSession, shop: str | None = SHOP, **extra: str) -> Client:
    settings = ClientSettings(base_url=fake.url, backoff_base=0.01, backoff_cap=0.05, read_timeout=3)
    return Client(
        settings,
        APP,
        ShopRef(shop, extra) if shop is not None else None,
        session=session,
        tokens=MemoryTokenProvider(TokenPair(access_token=Secret(TOKEN))),
        limiter=LocalRateLimiter(),
    )


LOCATIONS = sample("query locations")
VARIANTS = sample("query productVariants")


async def test_calls_carry_the_token_and_the_operation_verbatim(fake: Fake, session: aiohttp.ClientSession) -> None:
    fake.on("Shop", sample("query shop"))
    info = await client_for(fake, session).get_shop_info()
    assert info.platform_shop_id == SHOP and info.name == "Demo" and info.data["currency"] == "VND"
    [(headers, body)] = fake.requests
    assert headers["X-Shopify-Access-Token"] == TOKEN and headers["Content-Type"] == "application/json"
    assert body == {"query": operations.SHOP.document, "variables": {}, "operationName": "Shop"}


async def test_a_shop_that_is_not_myshopify_is_refused_before_any_call(
    fake: Fake, session: aiohttp.ClientSession
) -> None:
    for shop in ("evil.example.com", None):
        client = client_for(fake, session, shop=shop)
        with pytest.raises(ValidationFailed):
            await client.get_shop_info()
        with pytest.raises(ValidationFailed):
            await client.update_prices([PriceUpdate(platform_item_id="1", platform_variant_id="2", sku="A", price=1)])
    assert fake.requests == []


async def test_throttled_is_retried_after_the_bucket_refills(fake: Fake, session: aiohttp.ClientSession) -> None:
    throttled = contract_error("query shop", "throttled")["response"]
    throttled["extensions"]["cost"] |= {"requestedQueryCost": 1}
    throttled["extensions"]["cost"]["throttleStatus"] |= {"currentlyAvailable": 0.5}  # (1 - 0.5) / 50 = 10 ms
    fake.on("Shop", throttled, sample("query shop"))
    client = client_for(fake, session)
    assert (await client.get_shop_info()).name == "Demo"
    assert len(fake.sent("Shop")) == 2 and client.stats["throttled"] == 1
    bucket = cost.BUCKETS[client.limiter_key("graphql")]
    assert bucket.level(bucket.stamp or 0.0) == pytest.approx(999.0) and bucket.in_flight == 0  # the answer's


async def test_max_cost_exceeded_is_permanent_and_not_repeated(fake: Fake, session: aiohttp.ClientSession) -> None:
    fake.on("Shop", contract_error("query shop", "permanent")["response"])
    with pytest.raises(PermanentError) as caught:
        await client_for(fake, session).get_shop_info()
    assert caught.value.fields["code"] == "MAX_COST_EXCEEDED" and len(fake.requests) == 1


async def test_unauthorized_ends_in_reauthorization(fake: Fake, session: aiohttp.ClientSession) -> None:
    fake.on("Shop", (401, contract_error("query shop", "reauthorize", 401)["response"]))
    with pytest.raises(ReauthorizationNeeded):  # an offline token without refresh token: nothing to refresh
        await client_for(fake, session).get_shop_info()


async def test_a_call_waits_when_the_bucket_lacks_its_cost(fake: Fake, session: aiohttp.ClientSession) -> None:
    low = {"maximumAvailable": 1000.0, "currentlyAvailable": 0.0, "restoreRate": 1000.0}
    fake.on(
        "Shop",
        {
            **sample("query shop"),
            "extensions": {"cost": {"requestedQueryCost": 1, "actualQueryCost": 1, "throttleStatus": low}},
        },
    )
    client = client_for(fake, session)
    await client.get_shop_info()
    await client.get_shop_info()  # 1 point at 1000/s: a wait of about 1 ms, planned, not throttled
    bucket = cost.BUCKETS[client.limiter_key("graphql")]
    assert bucket.waits[0] == 0 and 0 < bucket.waits[1] <= 0.001 and client.stats["throttled"] == 0


async def test_stock_per_location_with_user_errors_per_item(fake: Fake, session: aiohttp.ClientSession) -> None:
    ok = sample("mutation inventorySetQuantities")
    refused = copy.deepcopy(ok)
    refused["data"]["inventorySetQuantities"]["userErrors"] = [
        {
            "field": ["input", "quantities", "1", "inventoryItemId"],
            "message": "The specified inventory item could not be found.",
            "code": "INVALID_INVENTORY_ITEM",
        }
    ]
    fake.on("Locations", LOCATIONS)
    fake.on("Variants", lambda v: _variants_of(v, 3))
    fake.on("SetStock", refused, ok)
    client = client_for(fake, session)
    updates = [
        StockUpdate(
            platform_item_id="gid://shopify/Product/123",
            platform_variant_id=f"gid://shopify/ProductVariant/{n}",
            sku=f"TEE-{n}",
            quantity=n,
        )
        for n in (1, 2, 3)
    ]
    results = await client.update_stock(updates)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_code == "INVALID_INVENTORY_ITEM"
    first, again = fake.sent("SetStock")
    payload = first["variables"]["input"]
    assert payload["name"] == "available" and payload["reason"] == "correction"
    assert payload["quantities"][0] == {
        "inventoryItemId": "gid://shopify/InventoryItem/1",
        "locationId": "gid://shopify/Location/1",
        "quantity": 1,
        "changeFromQuantity": None,
    }
    assert [q["quantity"] for q in again["variables"]["input"]["quantities"]] == [1, 3]  # the rest went on


def _product_of(variables: dict[str, Any], count: int) -> dict[str, Any]:
    """PRODUCT's answer for product 123 with ``count`` variants (below the first page: no VARIANTS call)."""
    answer = sample("query product")
    variants = _variants_of({}, count)["data"]["productVariants"]["nodes"]
    answer["data"]["product"]["variants"]["nodes"] = variants
    return answer


def _variants_of(variables: dict[str, Any], count: int) -> dict[str, Any]:
    nodes = [
        {
            "id": f"gid://shopify/ProductVariant/{n}",
            "sku": f"TEE-{n}",
            "price": "9.90",
            "updatedAt": "2026-05-01T10:00:00Z",
            "product": {"id": "gid://shopify/Product/123"},
            "inventoryItem": {"id": f"gid://shopify/InventoryItem/{n}"},
        }
        for n in range(1, count + 1)
    ]
    query = variables.get("q", "")
    if query.startswith("sku:"):
        nodes = [n for n in nodes if n["sku"] == query[4:]]
    return {"data": {"productVariants": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}}}


async def test_stock_needs_a_split_when_the_shop_has_several_locations(
    fake: Fake, session: aiohttp.ClientSession
) -> None:
    two = copy.deepcopy(LOCATIONS)
    two["data"]["locations"]["nodes"].append({"id": "gid://shopify/Location/2", "name": "Store", "isActive": True})
    fake.on("Locations", two)
    fake.on("Variants", lambda v: _variants_of(v, 2))
    fake.on("SkuLookup", lambda v: _variants_of(v, 2))
    fake.on("SetStock", sample("mutation inventorySetQuantities"))
    client = client_for(fake, session)
    base = {"platform_item_id": "gid://shopify/Product/123", "platform_variant_id": None, "quantity": 5}
    results = await client.update_stock(
        [
            StockUpdate(**base, sku="TEE-1"),
            StockUpdate(**base, sku="TEE-2", warehouses={"2": 5}),
            StockUpdate(**base, sku="TEE-2", warehouses={"gid://shopify/Location/9": 5}),
            StockUpdate(**base, sku="NOPE"),
        ]
    )
    assert [(r.ok, r.error_code) for r in results] == [
        (False, "warehouse_split_required"),
        (True, None),
        (False, "location_unknown"),
        (False, "sku_not_found"),
    ]
    [sent] = fake.sent("SetStock")
    assert sent["variables"]["input"]["quantities"] == [
        {
            "inventoryItemId": "gid://shopify/InventoryItem/2",
            "locationId": "gid://shopify/Location/2",
            "quantity": 5,
            "changeFromQuantity": None,
        }
    ]


async def test_stock_is_sent_in_calls_of_at_most_250(fake: Fake, session: aiohttp.ClientSession) -> None:
    fake.on("Locations", LOCATIONS)
    fake.on("Variants", lambda v: _variants_of(v, 300))
    fake.on("SetStock", sample("mutation inventorySetQuantities"))
    updates = [
        StockUpdate(platform_item_id="gid://shopify/Product/123", platform_variant_id=None, sku=f"TEE-{n}", quantity=1)
        for n in range(1, 301)
    ]
    assert all(r.ok for r in await client_for(fake, session).update_stock(updates))
    assert [len(b["variables"]["input"]["quantities"]) for b in fake.sent("SetStock")] == [250, 50]


async def test_prices_per_product_as_decimal_strings(fake: Fake, session: aiohttp.ClientSession) -> None:
    refused = sample("mutation productVariantsBulkUpdate")
    refused["data"]["productVariantsBulkUpdate"]["userErrors"] = [
        {
            "field": ["variants", "0", "id"],
            "message": "Input must be for this product.",
            "code": "MUST_BE_FOR_THIS_PRODUCT",
        }
    ]
    fake.on("SetPrices", refused, sample("mutation productVariantsBulkUpdate"))
    results = await client_for(fake, session).update_prices(
        [
            PriceUpdate(
                platform_item_id="gid://shopify/Product/9",
                platform_variant_id="gid://shopify/ProductVariant/456",
                sku="X",
                price=Decimal("12.50"),
            ),
            PriceUpdate(
                platform_item_id="gid://shopify/Product/123",
                platform_variant_id="gid://shopify/ProductVariant/456",
                sku="TEE-1",
                price=Decimal("12.50"),
            ),
        ]
    )
    assert [(r.ok, r.error_code) for r in results] == [(False, "MUST_BE_FOR_THIS_PRODUCT"), (True, None)]
    first, second = fake.sent("SetPrices")
    assert first["variables"] == {
        "productId": "gid://shopify/Product/9",
        "variants": [{"id": "gid://shopify/ProductVariant/456", "price": "12.50"}],
    }
    assert second["variables"]["productId"] == "gid://shopify/Product/123"


async def test_create_through_product_set_and_update_never_rewrites_the_product(
    fake: Fake, session: aiohttp.ClientSession
) -> None:
    fake.on("Locations", LOCATIONS)
    fake.on("SkuLookup", lambda v: _variants_of(v, 0))
    fake.on("Variants", lambda v: _variants_of(v, 1))
    fake.on("CreateProduct", sample("mutation productSet"))
    fake.on("SetPrices", sample("mutation productVariantsBulkUpdate"))
    fake.on("SetStock", sample("mutation inventorySetQuantities"))
    client = client_for(fake, session)
    draft = ListingDraft(name="Tee", variants=[VariantDraft(sku="TEE-1", price=Decimal("9.90"), stock=4)])
    created = await client.create_or_adopt(draft)
    assert not created.adopted and created.listing.platform_item_id == "123"
    [sent] = fake.sent("CreateProduct")
    variant = sent["variables"]["input"]["variants"][0]
    assert sent["variables"]["input"]["title"] == "Tee" and variant["sku"] == "TEE-1" and variant["price"] == "9.90"
    assert variant["inventoryQuantities"] == [
        {"locationId": "gid://shopify/Location/1", "name": "available", "quantity": 4}
    ]
    assert len(fake.sent("CreateProduct")) == 1


async def test_update_is_a_read_modify_write_that_adds_variants_and_deletes_nothing(
    fake: Fake, session: aiohttp.ClientSession
) -> None:
    """Title and description only when they differ (productUpdate); known SKUs get price and stock; a SKU the product
    lacks is added with one value per product option (productVariantsBulkCreate); no productSet on an update."""
    fake.on("Locations", LOCATIONS)
    fake.on("Product", sample("query product"))
    fake.on("UpdateProduct", sample("mutation productUpdate"))
    fake.on("CreateVariants", sample("mutation productVariantsBulkCreate"))
    fake.on("SetPrices", sample("mutation productVariantsBulkUpdate"))
    fake.on("SetStock", sample("mutation inventorySetQuantities"))
    client = client_for(fake, session)
    draft = ListingDraft(
        name="Tee v2",
        description="<p>Cotton tee</p>",
        variants=[
            VariantDraft(sku="TEE-1", price=Decimal("9.90"), stock=4, options={"Size": "S"}),
            VariantDraft(sku="TEE-2", price=Decimal("11"), stock=3, options={"Size": "M"}),
        ],
    )
    listing = await client.update_listing("123", draft)
    assert listing.platform_item_id == "123"
    [update] = fake.sent("UpdateProduct")
    assert update["variables"] == {"product": {"id": "gid://shopify/Product/123", "title": "Tee v2"}}
    [created] = fake.sent("CreateVariants")
    assert created["variables"] == {
        "productId": "gid://shopify/Product/123",
        "variants": [
            {
                "optionValues": [{"optionName": "Size", "name": "M"}],
                "price": "11",
                "inventoryItem": {"sku": "TEE-2", "tracked": True},
                "inventoryQuantities": [{"locationId": "gid://shopify/Location/1", "availableQuantity": 3}],
            }
        ],
    }
    [prices] = fake.sent("SetPrices")
    assert [v["id"] for v in prices["variables"]["variants"]] == ["gid://shopify/ProductVariant/456"]
    assert not fake.sent("CreateProduct")


async def test_update_names_a_variant_that_does_not_fit_the_product_options_after_the_safe_writes(
    fake: Fake, session: aiohttp.ClientSession
) -> None:
    fake.on("Locations", LOCATIONS)
    fake.on("Product", sample("query product"))
    fake.on("SetPrices", sample("mutation productVariantsBulkUpdate"))
    fake.on("SetStock", sample("mutation inventorySetQuantities"))
    client = client_for(fake, session)
    draft = ListingDraft(
        name="Tee",
        description="<p>Cotton tee</p>",
        variants=[
            VariantDraft(sku="TEE-1", price=Decimal("9.90"), stock=4, options={"Size": "S"}),
            VariantDraft(sku="TEE-RED", price=Decimal("11"), stock=3, options={"Color": "Red"}),
        ],
    )
    with pytest.raises(PermanentError, match=r"TEE-RED: not added: its options \['Color'\]"):
        await client.update_listing("123", draft)
    assert len(fake.sent("SetPrices")) == 1 and len(fake.sent("SetStock")) == 1
    assert not fake.sent("UpdateProduct") and not fake.sent("CreateVariants")


async def test_orders_by_window_and_by_id(fake: Fake, session: aiohttp.ClientSession) -> None:
    page = sample("query orders")
    fake.on("Orders", page)
    fake.on("Order", {"data": {"order": page["data"]["orders"]["nodes"][0]}}, {"data": {"order": None}})
    client = client_for(fake, session)
    start, end = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)
    orders = [o async for o in client.iter_orders(start, end)]
    assert [o.platform_order_id for o in orders] == ["1001"]
    assert fake.sent("Orders")[0]["variables"]["q"] == (
        "updated_at:>='2026-05-01T00:00:00Z' updated_at:<'2026-05-02T00:00:00Z'"
    )
    found = await client.get_orders(["1001", "gid://shopify/Order/404"])
    assert [o.platform_order_id for o in found] == ["1001"]
    assert fake.sent("Order")[0]["variables"] == {"id": "gid://shopify/Order/1001"}


async def test_listing_pages_and_sku_lookup(fake: Fake, session: aiohttp.ClientSession) -> None:
    first = sample("query products")
    last = copy.deepcopy(first)
    last["data"]["products"]["pageInfo"] = {"hasNextPage": False, "endCursor": None}
    last["data"]["products"]["nodes"][0]["id"] = "gid://shopify/Product/124"
    fake.on("Products", first, last)
    fake.on("Variants", lambda v: _variants_of(v, 2))
    fake.on("SkuLookup", lambda v: _variants_of(v, 2))
    fake.on("Product", lambda v: _product_of(v, 2))
    client = client_for(fake, session)
    since = datetime(2026, 5, 1, tzinfo=UTC)
    listings = [item async for item in client.iter_listings(since)]
    assert [x.platform_item_id for x in listings] == ["123", "124"]
    assert fake.sent("Products")[1]["variables"] == {
        "after": "eyJsYXN0X2lkIjoxfQ==",
        "q": "updated_at:>='2026-05-01T00:00:00Z'",
    }
    found = await client.find_by_sku("TEE-2")
    assert found is not None and {v.sku for v in found.variants} == {"TEE-1", "TEE-2"}
    assert fake.sent("SkuLookup")[0]["variables"]["q"] == "sku:TEE-2"  # a small page: a low requested cost
    assert fake.sent("Product")[0]["variables"] == {"id": "gid://shopify/Product/123"}
    assert found.name == "Tee" and found.description == "<p>Cotton tee</p>"
    assert await client.find_by_sku("NOPE") is None


async def test_full_catalog_through_a_bulk_export(fake: Fake, session: aiohttp.ClientSession) -> None:
    fake.files["bulk.jsonl"] = "\n".join([*CALLS["mutation bulkOperationRunQuery"]["jsonl_sample"], ""]).encode()
    fake.on("Bulk", sample("mutation bulkOperationRunQuery"))
    running = {
        "data": {"currentBulkOperation": {"id": "gid://shopify/BulkOperation/408566366379", "status": "RUNNING"}}
    }
    done = sample("query currentBulkOperation")
    done["data"]["currentBulkOperation"]["url"] = f"{fake.url}/files/bulk.jsonl"
    fake.on("BulkPoll", running, done)
    client = client_for(fake, session)
    client.bulk_poll_first = 0.01
    [listing] = [item async for item in client.iter_listings()]
    assert listing.platform_item_id == "123" and listing.name == "Tee"
    assert [v.sku for v in listing.variants] == ["TEE-1"]
    assert fake.sent("Bulk")[0]["variables"] == {"q": operations.BULK_PRODUCTS_QUERY}


async def test_bulk_export_already_running_falls_back_to_pages(fake: Fake, session: aiohttp.ClientSession) -> None:
    busy = next(e for e in CALLS["mutation bulkOperationRunQuery"]["errors"] if "userErrors" in e)
    fake.on("Bulk", {"data": {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": busy["userErrors"]}}})
    page = sample("query products")
    page["data"]["products"]["pageInfo"] = {"hasNextPage": False, "endCursor": None}
    fake.on("Products", page)
    listings = [item async for item in client_for(fake, session).iter_listings()]
    assert len(listings) == 1 and fake.sent("Products")[0]["variables"] == {"after": None, "q": None}


async def test_webhook_subscriptions(fake: Fake, session: aiohttp.ClientSession) -> None:
    taken = next(e for e in CALLS["mutation webhookSubscriptionCreate"]["errors"] if "userErrors" in e)
    fake.on(
        "Subscribe",
        sample("mutation webhookSubscriptionCreate"),
        {"data": {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": taken["userErrors"]}}},
    )
    ids = await client_for(fake, session).register_webhooks(
        "https://nfsync.example/webhooks/shopify/1", topics=("orders/create", "orders/updated")
    )
    assert ids == ["gid://shopify/WebhookSubscription/1"]  # the second already existed
    sent = fake.sent("Subscribe")
    assert [b["variables"]["topic"] for b in sent] == ["ORDERS_CREATE", "ORDERS_UPDATED"]
    assert sent[0]["variables"]["sub"] == {"uri": "https://nfsync.example/webhooks/shopify/1", "format": "JSON"}


async def test_authorization_code_flow(fake: Fake, session: aiohttp.ClientSession) -> None:
    client = client_for(fake, session)
    url = client.authorize_url("https://nfsync.example/oauth/callback/shopify", "st")
    assert url.startswith(f"{fake.url}/demo.myshopify.com/admin/oauth/authorize?client_id=cid&scope=")
    assert "grant_options%5B%5D=" in url
    with pytest.raises(ValidationFailed):
        client_for(fake, session, shop=None).authorize_url("https://x", "st")
    params = {"shop": SHOP, "state": "st", "timestamp": str(int(datetime.now(UTC).timestamp())), "host": "aG9zdA"}
    signed = {**params, "hmac": callback_hmac({**params, "code": "good-code"}, SECRET)}
    pair = await client_for(fake, session, shop=None).exchange_code("good-code", **signed)
    assert pair.access_token.reveal() == TOKEN and pair.refresh_token is None and pair.shop_ids == [SHOP]
    assert client.verify_callback({**signed, "code": "good-code"})  # the service checks it before the exchange
    assert not client.verify_callback({**signed, "code": "good-code", "shop": "other.myshopify.com"})
    assert not client.verify_callback({**signed, "code": "other-code"})
    with pytest.raises(ReauthorizationNeeded):
        await client.exchange_code(
            "used-code", **{**params, "hmac": callback_hmac({**params, "code": "used-code"}, SECRET)}
        )
    assert len(fake.sent("token")) == 2


def test_calls_in_flight_are_charged_their_expected_actual_cost_not_the_requested_one() -> None:
    """Shopify admits a call on its requested cost and refunds the rest at once: eight SKU lookups in flight (403
    requested, 7 actual last time) must not make the ninth wait for points that come back anyway."""
    bucket = CostBucket()
    bucket.reserve(403, now=0.0, name="Variants")
    bucket.settle(403, cost.CallCost(requested=403, actual=7, status=None), now=0.0, name="Variants")
    expected = bucket.expected("Variants", 403)
    assert expected == 7
    waits = [bucket.reserve(403, now=0.0, expected=expected, name="Variants") for _ in range(9)]
    assert waits == [0.0] * 9 and bucket.in_flight == pytest.approx(63)
    assert bucket.expected("Orders", 808) == 808  # never seen: the requested cost


def test_a_first_wave_stops_weighing_once_one_call_reports_its_actual_cost() -> None:
    bucket = CostBucket()
    for _ in range(3):
        bucket.reserve(403, now=0.0, name="Variants")  # nothing known yet: each charged 403
    assert bucket.in_flight == pytest.approx(1209)
    answer = cost.CallCost(403, 7, cost.ThrottleStatus(1000.0, 990.0, 50.0))
    bucket.settle(403, answer, now=0.0, name="Variants")
    assert bucket.in_flight == pytest.approx(14) and bucket.level(0.0) == pytest.approx(976)


def test_a_waiter_replans_once_an_answer_shows_the_real_cost() -> None:
    bucket = CostBucket()
    waits = [bucket.reserve(403, now=0.0, name="Variants") for _ in range(4)]  # the first wave: nothing known
    assert waits[2] > 0 and waits[3] > waits[2]
    bucket.settle(403, cost.CallCost(403, 3, cost.ThrottleStatus(1000.0, 997.0, 50.0)), now=0.1, name="Variants")
    assert bucket.still_to_wait(403, now=0.1, name="Variants") == 0.0
