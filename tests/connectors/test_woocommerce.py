"""WooCommerce specifics the contract suite does not cover, over real HTTP against the sandbox.

Authentication as WooCommerce answers it (OAuth 1.0a timestamp/nonce/signature, Basic only over HTTPS, key
permissions), WordPress's argument checks and paging headers, the 100-object batch cap, simple versus variable
products, whole-second exclusive date bounds, the wc-auth key flow, and webhook payloads of every kind.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from nfsync.connectors.base.auth import LocalRateLimiter
from nfsync.connectors.base.client import AppCredentials, ClientSettings, ShopRef
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded
from nfsync.connectors.base.models import ListingDraft, PriceUpdate, StockUpdate, VariantDraft
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.woocommerce import signing, webhooks
from nfsync.connectors.woocommerce.client import Client
from nfsync.connectors.woocommerce.errors import (
    AUTHENTICATION_ERROR,
    BATCH_TOO_LARGE,
    INVALID_PARAMETER,
    MISSING_OAUTH_PARAMETER,
    NO_ROUTE,
)
from nfsync.connectors.woocommerce.sandbox import SANDBOX, Sandbox, shop_ref

APP = dict(SANDBOX.sample_app)
API = "/wp-json/wc/v3"
PAST = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@dataclass
class Store:
    sandbox: Sandbox
    shop: SbShop
    client: Client
    session: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return self.sandbox.store_url(self.shop) + path

    def client_for(self, app: dict[str, str] | None = None, shop: SbShop | None = None) -> Client:
        return make_client(self.sandbox, shop or self.shop, self.session, app)


def make_client(sandbox: Sandbox, shop: SbShop, session: aiohttp.ClientSession, app: dict[str, str] | None) -> Client:
    settings = ClientSettings(base_url=sandbox.base_url, backoff_base=0.01, backoff_cap=0.3, read_timeout=3.0)
    return Client(
        settings,
        AppCredentials(app or APP),
        shop_ref(shop, sandbox.base_url),
        session=session,
        tokens=None,
        limiter=LocalRateLimiter(),
    )


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    sandbox = Sandbox(APP, seed=11)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop("woo-1", "Woo shop")
        yield Store(sandbox, shop, make_client(sandbox, shop, session, None), session)


async def signed(
    store: Store,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    *,
    body: Any = None,
    timestamp: int | None = None,
    nonce: str | None = None,
    app: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One OAuth 1.0a request built by hand (the client's signing, our choice of timestamp and nonce)."""
    keys = app or APP
    auth = signing.oauth_request(
        method=method,
        url=store.url(path),
        consumer_key=keys["consumer_key"],
        consumer_secret=keys["consumer_secret"],
        timestamp=timestamp or int(time.time()),
        nonce=nonce or secrets.token_hex(16),
        params=params,
    )
    async with store.session.request(method, store.url(path), params=auth.query, json=body) as response:
        return response.status, dict(response.headers), await response.json(content_type=None)


def simple_listings(store: Store, count: int) -> list[str]:
    variants = [[{"sku": f"S-{i:04d}", "price": "120000", "stock": 5}] for i in range(count)]
    return [store.sandbox.add_listing(store.shop, f"Item {i}", v).item_id for i, v in enumerate(variants)]


def shirt(store: Store, colors: tuple[str, ...] = ("Red", "Blue")) -> str:
    variants = [{"sku": f"SHIRT-{c.upper()}", "price": "150000", "stock": 3, "options": {"Color": c}} for c in colors]
    return store.sandbox.add_listing(store.shop, "Shirt", variants).item_id


def assert_wp_error(status: int, body: Any, expected_status: int, code: str, message: str | None = None) -> None:
    assert status == expected_status
    assert body["code"] == code and body["data"]["status"] == expected_status
    if message is not None:
        assert body["message"] == message


# ---------------------------------------------------------------------------------------------- authentication


async def test_oauth_timestamp_window_is_fifteen_minutes(store: Store) -> None:
    now = int(time.time())
    status, _, body = await signed(store, "GET", f"{API}/products", timestamp=now - 16 * 60)
    assert_wp_error(status, body, 401, AUTHENTICATION_ERROR, "Invalid timestamp.")
    status, _, body = await signed(store, "GET", f"{API}/products", timestamp=now + 16 * 60)
    assert_wp_error(status, body, 401, AUTHENTICATION_ERROR, "Invalid timestamp.")
    status, _, _ = await signed(store, "GET", f"{API}/products", timestamp=now - 14 * 60)
    assert status == 200


async def test_oauth_nonce_is_single_use(store: Store) -> None:
    nonce, now = secrets.token_hex(16), int(time.time())
    status, _, _ = await signed(store, "GET", f"{API}/products", nonce=nonce, timestamp=now)
    assert status == 200
    status, _, body = await signed(store, "GET", f"{API}/products", nonce=nonce, timestamp=now + 1)
    assert_wp_error(status, body, 401, AUTHENTICATION_ERROR, "Invalid nonce - nonce has already been used.")


async def test_oauth_refusals_in_woocommerce_order(store: Store) -> None:
    wrong_secret = {**APP, "consumer_secret": APP["consumer_secret"] + "x"}
    status, _, body = await signed(store, "GET", f"{API}/products", app=wrong_secret)
    assert_wp_error(status, body, 401, AUTHENTICATION_ERROR, "Invalid signature - provided signature does not match.")
    unknown = {**APP, "consumer_key": "ck_unknown"}
    status, _, body = await signed(store, "GET", f"{API}/products", app=unknown)
    assert_wp_error(status, body, 401, AUTHENTICATION_ERROR, "Consumer key is invalid.")
    params = {"oauth_consumer_key": APP["consumer_key"], "oauth_nonce": "n" * 32}
    async with store.session.get(store.url(f"{API}/products"), params=params) as response:
        body = await response.json()
    assert_wp_error(response.status, body, 401, MISSING_OAUTH_PARAMETER)
    assert "oauth_signature" in body["message"] and "oauth_timestamp" in body["message"]


async def test_no_credentials_is_the_endpoints_permission_refusal(store: Store) -> None:
    async with store.session.get(store.url(f"{API}/products")) as response:
        assert_wp_error(
            response.status,
            await response.json(),
            401,
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        )
    async with store.session.post(store.url(f"{API}/products/batch"), json={"update": []}) as response:
        assert_wp_error(response.status, await response.json(), 401, "woocommerce_rest_cannot_batch")


async def test_basic_auth_only_over_https(store: Store) -> None:
    basic = signing.basic_auth_request(consumer_key=APP["consumer_key"], consumer_secret=APP["consumer_secret"])
    in_query = signing.basic_auth_request(
        consumer_key=APP["consumer_key"], consumer_secret=APP["consumer_secret"], in_query=True
    )
    url, https = store.url(f"{API}/products"), {"X-Forwarded-Proto": "https"}
    async with store.session.get(url, headers=basic.headers) as response:  # plain HTTP: WooCommerce ignores Basic
        assert_wp_error(response.status, await response.json(), 401, "woocommerce_rest_cannot_view")
    async with store.session.get(url, headers={**basic.headers, **https}) as response:
        assert response.status == 200
    async with store.session.get(url, params=in_query.query, headers=https) as response:
        assert response.status == 200
    wrong = signing.basic_auth_request(consumer_key=APP["consumer_key"], consumer_secret="cs_wrong")
    async with store.session.get(url, headers={**wrong.headers, **https}) as response:
        assert_wp_error(
            response.status, await response.json(), 401, AUTHENTICATION_ERROR, "Consumer secret is invalid."
        )
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


async def test_wrong_secret_through_the_client_needs_reauthorization(store: Store) -> None:
    client = store.client_for({**APP, "consumer_secret": "cs_revoked"})
    before = store.sandbox.counters.requests
    with pytest.raises(ReauthorizationNeeded, match="provided signature does not match"):
        await client.get_shop_info()
    assert store.sandbox.counters.requests - before == 1


async def test_keys_never_refresh_and_have_no_code(store: Store) -> None:
    with pytest.raises(PermanentError):
        await store.client.refresh_access(Secret("anything"))
    with pytest.raises(PermanentError, match="callback_url"):
        await store.client.exchange_code("code")
    url = urlsplit(store.client.authorize_url("https://crm.example/wc/callback", "state-7"))
    query = parse_qs(url.query)
    assert url.path == "/woo-1/wc-auth/v1/authorize"
    assert query["scope"] == ["read_write"] and query["user_id"] == ["state-7"]
    assert query["callback_url"] == ["https://crm.example/wc/callback"]


# ---------------------------------------------------------------------------------------------- wc-auth


@pytest.fixture
async def callback() -> AsyncIterator[tuple[str, asyncio.Queue[dict[str, Any]]]]:
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await received.put(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/wc/callback", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/wc/callback", received
    finally:
        await runner.cleanup()


async def authorize(store: Store, callback_url: str, scope: str) -> aiohttp.ClientResponse:
    params = {
        "app_name": "NextFlow CRM",
        "scope": scope,
        "user_id": "org-1",
        "return_url": "https://crm.example/done",
        "callback_url": callback_url,
    }
    async with store.session.get(store.url("/wc-auth/v1/authorize"), params=params, allow_redirects=False) as response:
        await response.read()
        return response


async def test_wc_auth_posts_new_keys_that_work_on_that_store_only(
    store: Store, callback: tuple[str, asyncio.Queue[dict[str, Any]]]
) -> None:
    url, received = callback
    response = await authorize(store, url, "read_write")
    assert response.status == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"success": ["1"], "user_id": ["org-1"]}
    keys = await asyncio.wait_for(received.get(), 5)
    assert keys["user_id"] == "org-1" and keys["key_permissions"] == "read_write"
    assert keys["consumer_key"].startswith("ck_") and keys["consumer_secret"].startswith("cs_")
    app = {"consumer_key": keys["consumer_key"], "consumer_secret": keys["consumer_secret"]}
    assert (await store.client_for(app).get_shop_info()).platform_shop_id == "woo-1"
    other = store.sandbox.add_shop("woo-2", "Other shop")
    with pytest.raises(ReauthorizationNeeded, match="Consumer key is invalid"):
        await store.client_for(app, other).get_shop_info()


async def test_read_only_keys_cannot_write(store: Store, callback: tuple[str, asyncio.Queue[dict[str, Any]]]) -> None:
    url, received = callback
    assert (await authorize(store, url, "read")).status == 302
    keys = await asyncio.wait_for(received.get(), 5)
    client = store.client_for({"consumer_key": keys["consumer_key"], "consumer_secret": keys["consumer_secret"]})
    item_id = simple_listings(store, 1)[0]
    assert [listing.platform_item_id async for listing in client.iter_listings()] == [item_id]
    with pytest.raises(ReauthorizationNeeded, match="does not have write permissions"):
        await client.update_stock(
            [StockUpdate(platform_item_id=item_id, platform_variant_id=None, sku="S-0000", quantity=1)]
        )


async def test_wc_auth_refuses_plain_http_callbacks_off_loopback(store: Store) -> None:
    response = await authorize(store, "http://crm.example/wc/callback", "read_write")
    assert response.status == 401
    response = await authorize(store, "https://crm.example/wc/callback", "admin")
    assert response.status == 401


# ---------------------------------------------------------------------------------------------- WordPress collections


async def test_per_page_above_100_is_rest_invalid_param(store: Store) -> None:
    status, _, body = await signed(store, "GET", f"{API}/products", {"per_page": "101"})
    assert_wp_error(status, body, 400, INVALID_PARAMETER, "Invalid parameter(s): per_page")
    assert body["data"]["params"]["per_page"] == "per_page must be between 1 (inclusive) and 100 (inclusive)"
    status, _, body = await signed(store, "GET", f"{API}/orders", {"modified_after": "yesterday", "page": "0"})
    assert_wp_error(status, body, 400, INVALID_PARAMETER)
    assert set(body["data"]["params"]) == {"page", "modified_after"}


async def test_paging_headers_and_pages_past_the_end(store: Store) -> None:
    simple_listings(store, 25)
    status, headers, body = await signed(store, "GET", f"{API}/products", {"per_page": "10", "page": "2"})
    assert status == 200 and len(body) == 10
    assert headers["X-WP-Total"] == "25" and headers["X-WP-TotalPages"] == "3"
    assert 'page=1>; rel="prev"' in headers["Link"] and 'page=3>; rel="next"' in headers["Link"]
    assert "oauth_" not in headers["Link"]
    status, headers, body = await signed(store, "GET", f"{API}/products", {"per_page": "10", "page": "4"})
    assert status == 200 and body == [] and "Link" in headers


async def test_unknown_routes_are_rest_no_route(store: Store) -> None:
    status, _, body = await signed(store, "GET", f"{API}/refunds")
    assert_wp_error(status, body, 404, NO_ROUTE)
    status, _, body = await signed(store, "GET", f"{API}/products/12345678")
    assert_wp_error(status, body, 404, "woocommerce_rest_product_invalid_id", "Invalid ID.")


async def test_throttle_and_server_error_shapes(store: Store) -> None:
    store.sandbox.faults.throttle_until = time.time() + 60
    status, headers, body = await signed(store, "GET", f"{API}/products")
    assert_wp_error(status, body, 429, "rest_too_many_requests")
    assert headers["Retry-After"] == "1"
    store.sandbox.faults.throttle_until = 0
    store.sandbox.faults.error_rate = 1.0
    status, _, body = await signed(store, "GET", f"{API}/products")
    assert_wp_error(status, body, 500, "internal_server_error")


async def test_rate_limit_per_store_answers_429(store: Store) -> None:
    store.sandbox.rate_limit = 1.0
    statuses = [(await signed(store, "GET", f"{API}/products"))[0] for _ in range(3)]
    assert statuses[0] == 200 and 429 in statuses[1:]


async def test_truncated_bodies_are_retried(store: Store) -> None:
    simple_listings(store, 3)
    store.sandbox.faults.malformed_rate = 0.5
    for _ in range(8):
        assert len([listing async for listing in store.client.iter_listings()]) == 3
    assert store.sandbox.counters.injected_errors >= 1


# ---------------------------------------------------------------------------------------------- batches


async def test_sandbox_refuses_more_than_100_objects(store: Store) -> None:
    item_ids = simple_listings(store, 101)
    body = {"update": [{"id": int(item_id), "stock_quantity": 9} for item_id in item_ids]}
    status, _, answer = await signed(store, "POST", f"{API}/products/batch", body=body)
    assert_wp_error(status, answer, 413, BATCH_TOO_LARGE, "Unable to accept more than 100 items for this request.")
    assert {listing.variants[0].stock for listing in store.shop.listings.values()} == {5}


async def test_client_batches_100_per_request_grouped_by_parent(store: Store) -> None:
    item_ids = simple_listings(store, 250)
    parent = shirt(store, tuple(f"C{i}" for i in range(120)))
    variants = store.shop.listings[parent].variants
    updates = [
        StockUpdate(platform_item_id=i, platform_variant_id=None, sku=f"S-{n:04d}", quantity=2)
        for n, i in enumerate(item_ids)
    ]
    updates += [
        StockUpdate(platform_item_id=parent, platform_variant_id=v.variant_id, sku=v.sku, quantity=4) for v in variants
    ]
    before = store.sandbox.counters.requests
    results = await store.client.update_stock(updates)
    assert store.sandbox.counters.requests - before == 5  # 100 + 100 + 50 products, 100 + 20 variations
    assert [r.sku for r in results] == [u.sku for u in updates] and all(r.ok for r in results)
    assert {v.stock for v in variants} == {4}
    assert {store.shop.listings[i].variants[0].stock for i in item_ids} == {2}


async def test_item_and_whole_batch_failures_become_failed_results(store: Store) -> None:
    item_id = simple_listings(store, 1)[0]
    updates = [
        PriceUpdate(platform_item_id=item_id, platform_variant_id=None, sku="S-0000", price=Decimal("99000.50")),
        PriceUpdate(platform_item_id="404404404", platform_variant_id=None, sku="GONE", price=Decimal(1)),
        PriceUpdate(platform_item_id="no-such", platform_variant_id="7", sku="BAD-PATH", price=Decimal(1)),
    ]
    results = await store.client.update_prices(updates)
    assert results[0].ok and store.shop.listings[item_id].variants[0].price == Decimal("99000.50")
    assert (results[1].ok, results[1].error_code, results[1].error_message) == (
        False,
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
    )
    assert not results[2].ok and results[2].error_code == NO_ROUTE


# ---------------------------------------------------------------------------------------------- listings


async def test_simple_and_variable_products_map_to_listings(store: Store) -> None:
    simple_id, parent = simple_listings(store, 1)[0], shirt(store)
    listings = {listing.platform_item_id: listing async for listing in store.client.iter_listings()}
    simple = listings[simple_id].variants
    assert len(simple) == 1 and simple[0].platform_variant_id is None and simple[0].price == Decimal(120000)
    variable = listings[parent].variants
    assert [(v.sku, v.options, v.stock) for v in variable] == [
        ("SHIRT-RED", {"Color": "Red"}, 3),
        ("SHIRT-BLUE", {"Color": "Blue"}, 3),
    ]
    assert {v.platform_variant_id for v in variable} == {v.variant_id for v in store.shop.listings[parent].variants}
    found = await store.client.find_by_sku("SHIRT-BLUE")  # a variation's SKU leads to its parent product
    assert found is not None and found.platform_item_id == parent
    assert await store.client.find_by_sku("SHIRT") is None
    assert [listing.platform_item_id for listing in await store.client.get_listings([parent, "1", simple_id])] == [
        parent,
        simple_id,
    ]


async def test_updated_since_is_inclusive_at_whole_seconds(store: Store) -> None:
    old, same_second, later = simple_listings(store, 3)
    for item_id, moment in ((old, PAST - 1), (same_second, PAST + 0.9), (later, PAST + 50)):
        store.shop.listings[item_id].updated_at = moment
    since = datetime.fromtimestamp(PAST + 0.5, UTC)
    assert {listing.platform_item_id async for listing in store.client.iter_listings(since)} == {same_second, later}


async def test_variable_create_update_and_lost_responses(store: Store) -> None:
    sizes = ("S", "M", "L")
    draft = ListingDraft(
        name="Tee",
        variants=[VariantDraft(sku=f"TEE-{s}", price=Decimal("99000"), stock=2, options={"Size": s}) for s in sizes],
    )
    store.sandbox.faults.lost_write_rate = 1.0  # the parent's and the variations' responses are both lost
    created = await store.client.create_listing(draft)
    store.sandbox.faults.lost_write_rate = 0.0
    assert [v.sku for v in created.variants] == ["TEE-S", "TEE-M", "TEE-L"]
    parents = [item for item, sku in store.sandbox.catalog.parent_skus.items() if sku == "TEE-S-parent"]
    assert parents == [created.platform_item_id] and store.sandbox.duplicate_listings() == 0
    assert store.sandbox.counters.lost_writes >= 2
    changed = ListingDraft(
        name="Tee v2",
        variants=[
            VariantDraft(sku="TEE-S", price=Decimal("89000"), stock=1, options={"Size": "S"}),
            VariantDraft(sku="TEE-XL", price=Decimal("109000"), stock=4, options={"Size": "XL"}),
        ],
    )
    updated = await store.client.update_listing(created.platform_item_id, changed)
    assert updated.name == "Tee v2"
    assert [(v.sku, v.price, v.stock) for v in updated.variants] == [  # variations the CRM lacks are never deleted
        ("TEE-S", Decimal(89000), 1),
        ("TEE-M", Decimal(99000), 2),
        ("TEE-L", Decimal(99000), 2),
        ("TEE-XL", Decimal(109000), 4),
    ]


async def test_simple_update_and_type_switch(store: Store) -> None:
    item_id = simple_listings(store, 1)[0]
    draft = ListingDraft(
        name="Renamed", category_id="15", variants=[VariantDraft(sku="S-0000", price=Decimal(5), stock=8)]
    )
    listing = await store.client.update_listing(item_id, draft)
    assert (listing.name, listing.category_id, listing.variants[0].stock, listing.variants[0].price) == (
        "Renamed",
        "15",
        8,
        Decimal(5),
    )
    variable = ListingDraft(
        name="Now variable", variants=[VariantDraft(sku="S-0000", price=Decimal(5), stock=1, options={"Size": "S"})]
    )
    with pytest.raises(PermanentError, match="simple and variable"):
        await store.client.update_listing(item_id, variable)


async def test_duplicate_sku_is_refused_by_the_store(store: Store) -> None:
    simple_listings(store, 1)
    status, _, body = await signed(store, "POST", f"{API}/products", body={"name": "Dup", "sku": "S-0000"})
    assert_wp_error(status, body, 400, "product_invalid_sku", "Invalid or duplicated SKU.")


async def test_each_store_of_the_sandbox_is_separate(store: Store) -> None:
    mine = simple_listings(store, 2)
    other = store.sandbox.add_shop("woo-2", "Other shop")
    theirs = store.sandbox.add_listing(other, "Theirs", [{"sku": "OTHER-1", "price": "1", "stock": 1}]).item_id
    assert [x.platform_item_id async for x in store.client_for(shop=other).iter_listings()] == [theirs]
    settings = ClientSettings(base_url=store.sandbox.base_url)  # no store_url: the root serves the first store
    root = Client(
        settings, AppCredentials(APP), ShopRef("woo-1"), session=store.session, tokens=None, limiter=LocalRateLimiter()
    )
    assert [x.platform_item_id async for x in root.iter_listings()] == mine
    info = await store.client.get_shop_info()
    assert (info.platform_shop_id, info.name, info.region, info.data["currency"]) == ("woo-1", "Woo shop", "VN", "VND")
    assert info.url == store.sandbox.store_url(store.shop)


# ---------------------------------------------------------------------------------------------- orders


async def test_orders_in_a_past_window_are_exclusive_at_the_end(store: Store) -> None:
    simple_listings(store, 1)
    ids = {}
    for name, moment in (("before", PAST - 1), ("start", PAST), ("inside", PAST + 99.9), ("end", PAST + 100)):
        order = store.sandbox.add_order(store.shop, [{"sku": "S-0000"}], status="processing")
        order.created_at = order.updated_at = moment
        ids[order.order_id] = name
    start, end = datetime.fromtimestamp(PAST, UTC), datetime.fromtimestamp(PAST + 100, UTC)
    assert {ids[o.platform_order_id] async for o in store.client.iter_orders(start, end)} == {"start", "inside"}


async def test_recent_window_and_order_details(store: Store) -> None:
    simple_id, parent = simple_listings(store, 1)[0], shirt(store)
    buyer = {"name": "Lan Nguyen", "email": "lan@example.com"}
    lines = [{"sku": "S-0000", "quantity": 2}, {"sku": "SHIRT-BLUE"}]
    order = store.sandbox.add_order(store.shop, lines, status="processing", buyer=buyer)
    order.shipping_fee = Decimal("30000")
    now = datetime.now(UTC)
    found = [o async for o in store.client.iter_orders(now - timedelta(hours=1), now + timedelta(minutes=1))]
    assert [o.platform_order_id for o in found] == [order.order_id]
    detail = (await store.client.get_orders([order.order_id, "999"]))[0]
    assert (detail.status, detail.currency, detail.total, detail.shipping_fee, detail.subtotal) == (
        "processing",
        "VND",
        Decimal("420000"),
        Decimal("30000"),
        Decimal("390000"),
    )
    assert detail.created_at.tzinfo is not None and detail.buyer["name"] == "Lan Nguyen"
    blue = next(v for v in store.shop.listings[parent].variants if v.sku == "SHIRT-BLUE")
    assert [(x.platform_item_id, x.platform_variant_id, x.sku, x.quantity, x.unit_price) for x in detail.lines] == [
        (simple_id, None, "S-0000", 2, Decimal(120000)),
        (parent, blue.variant_id, "SHIRT-BLUE", 1, Decimal(150000)),
    ]


# ---------------------------------------------------------------------------------------------- webhooks


def secrets_of(store: Store) -> list[str]:
    return SANDBOX.webhook_secrets(AppCredentials(APP), store.sandbox)


async def test_order_push_verifies_and_dedupes_per_modification(store: Store) -> None:
    simple_listings(store, 1)
    order = store.sandbox.add_order(store.shop, [{"sku": "S-0000"}], status="pending")
    headers, body, url = store.sandbox.signed_push(store.shop, {"kind": "order_status_changed", "order": order})
    lowered = {k.lower(): v for k, v in headers.items()}
    assert webhooks.verify(lowered, body, AppCredentials(APP), ["old-secret", *secrets_of(store)], url)
    assert not webhooks.verify(headers, body + b" ", AppCredentials(APP), secrets_of(store), url)
    first = webhooks.parse(lowered, body)[0]
    store_id = urlsplit(store.sandbox.base_url).netloc + "/woo-1"
    assert (first.kind, first.entity_id, first.status, first.platform_shop_id) == (
        "order_status_changed",
        order.order_id,
        "pending",
        store_id,
    )
    assert first.occurred_at == datetime.fromtimestamp(int(order.updated_at), UTC)
    again_headers, again_body, _ = store.sandbox.signed_push(
        store.shop, {"kind": "order_status_changed", "order": order}
    )
    assert again_headers["X-WC-Webhook-Delivery-ID"] != headers["X-WC-Webhook-Delivery-ID"]
    assert webhooks.parse(again_headers, again_body)[0].dedupe_key == first.dedupe_key
    order.status, order.updated_at = "processing", order.updated_at + 1
    moved = webhooks.parse(
        *store.sandbox.signed_push(store.shop, {"kind": "order_status_changed", "order": order})[:2]
    )[0]
    assert moved.status == "processing" and moved.dedupe_key != first.dedupe_key


async def test_product_pushes_and_the_unsigned_ping(store: Store) -> None:
    parent = store.shop.listings[shirt(store)]
    headers, body, _ = store.sandbox.signed_push(store.shop, {"kind": "product_changed", "listing": parent})
    assert [(e.kind, e.entity_id) for e in webhooks.parse(headers, body)] == [("product_changed", parent.item_id)]
    variation = {
        "id": int(parent.variants[0].variant_id),
        "type": "variation",
        "parent_id": int(parent.item_id),
        "date_modified_gmt": "2024-05-01T10:00:00",
    }
    raw = json.dumps(variation).encode()
    event = webhooks.parse({**headers, "X-WC-Webhook-Signature": signing.webhook_signature(raw, "s")}, raw)[0]
    assert (event.kind, event.entity_id) == ("product_changed", parent.item_id)
    headers, body, _ = store.sandbox.signed_push(store.shop, {"kind": "product_deleted", "item_id": parent.item_id})
    deleted = webhooks.parse(headers, body)[0]
    assert (deleted.kind, deleted.entity_id, deleted.occurred_at) == ("product_deleted", parent.item_id, None)
    customer = webhooks.parse({**headers, "X-WC-Webhook-Topic": "customer.created"}, b'{"id": 5}')[0]
    assert customer.kind == "ignored"
    headers, body, url = store.sandbox.ping_push(store.shop)
    assert not webhooks.verify(headers, body, AppCredentials(APP), secrets_of(store), url)
    ping = webhooks.parse(headers, body)[0]
    assert ping.kind == "ignored" and ping.dedupe_key.startswith("ping|")


async def test_a_failed_delivery_is_never_retried(store: Store) -> None:
    attempts: list[bytes] = []

    async def refuse(request: web.Request) -> web.Response:
        attempts.append(await request.read())
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/hooks", refuse)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        store.sandbox.webhook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
        simple_listings(store, 1)
        order = store.sandbox.add_order(store.shop, [{"sku": "S-0000"}], status="pending")
        store.sandbox.push(store.shop, {"kind": "order_status_changed", "order": order})
        await store.sandbox.drain_pushes(5)
    finally:
        await runner.cleanup()
    assert len(attempts) == 1
    assert (store.sandbox.counters.webhooks_sent, store.sandbox.counters.webhooks_failed) == (0, 1)
