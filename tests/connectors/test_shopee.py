"""Shopee specifics the contract suite does not cover, over real HTTP against the in-process sandbox."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider
from nfsync.connectors.base.client import AppCredentials, ClientSettings, HttpResponse, ShopRef
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded, ValidationFailed
from nfsync.connectors.base.models import ListingDraft, PriceUpdate, StockUpdate, TokenPair, VariantDraft
from nfsync.connectors.base.policy import Action
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.shopee import PLATFORM, mapping, webhooks
from nfsync.connectors.shopee import client as api
from nfsync.connectors.shopee.client import Client, order_windows
from nfsync.connectors.shopee.errors import ERROR_TABLE
from nfsync.connectors.shopee.sandbox import SANDBOX, Sandbox
from nfsync.connectors.shopee.signing import sign_request, webhook_signature
from tests.connectors.listable import listable

APP = dict(SANDBOX.sample_app)
PARTNER_ID, PARTNER_KEY = int(APP["partner_id"]), APP["partner_key"]
ACCESS, REFRESH = "shopee-test-access-token-0001", "shopee-test-refresh-token-0001"
SHOP_ID = "700800900"
DAY = 86400


@dataclass
class Env:
    sandbox: Sandbox
    shop: SbShop
    client: Client
    tokens: MemoryTokenProvider
    session: aiohttp.ClientSession


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    sandbox = Sandbox(APP, seed=11, webhook_retry_scale=0.0)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop(SHOP_ID, "Test shop", access_token=ACCESS, refresh_token=REFRESH)
        expires = datetime.now(UTC) + timedelta(hours=1)
        tokens = MemoryTokenProvider(
            TokenPair(access_token=Secret(ACCESS), refresh_token=Secret(REFRESH), access_expires_at=expires)
        )
        settings = ClientSettings(
            base_url=sandbox.base_url, backoff_base=0.01, backoff_cap=0.2, read_timeout=3.0, rate_limit=500.0
        )
        client = Client(
            settings, AppCredentials(APP), ShopRef(SHOP_ID), session=session, tokens=tokens, limiter=LocalRateLimiter()
        )
        tokens.bind(client.refresh_access)
        yield Env(sandbox, shop, client, tokens, session)


async def raw(
    env: Env,
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    body: Any = None,
    token: str | None = ACCESS,
    timestamp: int | None = None,
    key: str = PARTNER_KEY,
) -> tuple[int, dict[str, Any]]:
    """One hand-signed call, to see the sandbox's exact answer."""
    signed = sign_request(
        partner_id=PARTNER_ID,
        partner_key=key,
        path=path,
        timestamp=timestamp or int(time.time()),
        access_token=token,
        shop_id=int(SHOP_ID) if token else None,
        params=params,
    )
    url = env.sandbox.base_url + path
    async with env.session.request(method, url, params=signed.query, json=body) as response:
        return response.status, await response.json()


def spy_calls(env: Env, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every (path, params or JSON body) the client sends."""
    calls: list[tuple[str, dict[str, Any]]] = []
    original = env.client.call

    async def call(method: str, path: str, **kwargs: Any) -> Any:
        calls.append((path, dict(kwargs.get("params") or kwargs.get("json_body") or {})))
        return await original(method, path, **kwargs)

    monkeypatch.setattr(env.client, "call", call)
    return calls


def seed(env: Env, name: str, skus: list[str], **options: list[str]) -> str:
    variants = [
        {"sku": sku, "price": "150000", "stock": 4, "options": {k: v[i] for k, v in options.items()}}
        for i, sku in enumerate(skus)
    ]
    return env.sandbox.add_listing(env.shop, name, variants, category_id="100").item_id


# ---------------------------------------------------------------------------------------------------- signing, time


async def test_timestamp_older_than_five_minutes_is_rejected(env: Env) -> None:
    status, body = await raw(env, "GET", api.SHOP_INFO, timestamp=int(time.time()) - 301)
    assert (status, body["error"], body["message"]) == (400, "error_param", "Invalid timestamp.")
    status, body = await raw(env, "GET", api.SHOP_INFO, timestamp=int(time.time()) - 200)
    assert status == 200 and body["error"] == "" and body["shop_name"] == "Test shop"


async def test_exact_error_shapes(env: Env) -> None:
    status, body = await raw(env, "GET", api.SHOP_INFO, key=PARTNER_KEY + "x")
    assert status == 403 and body["error"] == "error_sign" and body["message"] == "Wrong sign." and body["request_id"]
    status, body = await raw(env, "GET", api.SHOP_INFO, token="not-a-token-of-this-shop")
    assert (status, body["error"], body["message"]) == (403, "error_auth", "Invalid access_token.")
    async with env.session.get(
        env.sandbox.base_url + api.SHOP_INFO, params={"partner_id": str(PARTNER_ID), "timestamp": str(int(time.time()))}
    ) as r:
        assert (r.status, (await r.json())["message"]) == (400, "There is no sign in query.")
    env.sandbox.faults.throttle_until = time.time() + 5
    status, body = await raw(env, "GET", api.SHOP_INFO)
    assert (status, body["error"]) == (429, "error_too_many_request")
    env.sandbox.faults.throttle_until, env.sandbox.faults.error_rate = 0.0, 1.0
    status, body = await raw(env, "GET", api.SHOP_INFO)
    assert (status, body["error"]) == (500, "error_server")


async def test_public_sign_is_checked_on_auth_endpoints(env: Env) -> None:
    code = env.sandbox.issue_code(SHOP_ID)
    body = {"code": code, "partner_id": PARTNER_ID, "shop_id": int(SHOP_ID)}
    status, answer = await raw(env, "POST", api.AUTH_CODE_PATH, body=body, token=None, key="wrong")
    assert (status, answer["error"]) == (403, "error_sign")
    status, answer = await raw(env, "POST", api.AUTH_CODE_PATH, body=body, token=None)
    assert status == 200 and answer["access_token"] and answer["expire_in"] == 4 * 3600 and "response" not in answer


def test_error_table_reads_the_body_code() -> None:
    def action(status: int, body: bytes) -> Action:
        code, _ = Client.error_of(None, HttpResponse(status, {}, body))  # type: ignore[arg-type]
        return Action.OK if code is None and status < 400 else ERROR_TABLE.classify(status, code)

    assert action(403, b'{"error":"error_auth","message":"Invalid access_token."}') is Action.REFRESH
    assert action(403, b'{"error":"error_auth","message":"No permission to current api."}') is Action.PERMANENT
    assert action(403, b'{"error":"common.error_auth","message":"Invalid sign"}') is Action.PERMANENT
    assert action(403, b'{"error":"error_auth","message":"Invalid refresh_token."}') is Action.REAUTHORIZE
    assert action(403, b'{"error":"error_shop_refresh_token","message":"x"}') is Action.REAUTHORIZE
    assert action(200, b'{"error":"error_system_busy","message":"x"}') is Action.RETRY
    assert action(200, b'{"error":"ads.rate_limit.exceed_shop_api","message":"x"}') is Action.THROTTLE
    assert action(400, b'{"error":"order.order_list_invalid_time","message":"x"}') is Action.PERMANENT
    assert action(200, b'{"truncated": ') is Action.RETRY
    assert action(502, b"<html>bad gateway</html>") is Action.RETRY
    assert action(200, b'{"error":"","message":"","response":{}}') is Action.OK


# ---------------------------------------------------------------------------------------------------- tokens


async def test_refresh_token_is_single_use_rotates_and_old_access_gets_five_minutes(env: Env) -> None:
    pair = await env.client.refresh_access(Secret(REFRESH))
    assert pair.refresh_token is not None and pair.refresh_token.reveal() != REFRESH
    assert pair.access_expires_at is not None
    assert abs((pair.access_expires_at - datetime.now(UTC)).total_seconds() - 4 * 3600) < 60
    new_refresh = env.shop.refresh[pair.refresh_token.reveal()]
    assert new_refresh.expires_at - time.time() > 29 * DAY, "a rotated refresh token gets a fresh 30 days"
    assert env.shop.access[ACCESS].expires_at - time.time() <= 300, "the old access token lives 5 more minutes"
    status, _ = await raw(env, "GET", api.SHOP_INFO)
    assert status == 200
    with pytest.raises(ReauthorizationNeeded) as spent:
        await env.client.refresh_access(Secret(REFRESH))
    assert getattr(spent.value, "code", None) == "error_shop_refresh_token"


async def test_expired_refresh_token_needs_reauthorization(env: Env) -> None:
    env.shop.refresh[REFRESH].expires_at = time.time() - 1
    with pytest.raises(ReauthorizationNeeded) as expired:
        await env.client.refresh_access(Secret(REFRESH))
    assert getattr(expired.value, "code", None) == "refresh_token_expired"
    assert env.sandbox.counters.refreshes == 0


async def test_authorization_link_round_trip_and_single_use_code(env: Env) -> None:
    link = env.client.authorize_url("https://crm.example/callback?integration=7", "state-xyz")
    assert api.AUTH_PARTNER_PATH in link and "sign=" in link
    async with env.session.get(link + f"&shop_id={SHOP_ID}", allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith("https://crm.example/callback?integration=7&state=state-xyz&code=")
    code = location.split("code=")[1].split("&")[0]
    pair = await env.client.exchange_code(code, shop_id=SHOP_ID)
    assert pair.platform_account_id == SHOP_ID and pair.shop_ids == [SHOP_ID]
    with pytest.raises(ReauthorizationNeeded):
        await env.client.exchange_code(code, shop_id=SHOP_ID)


def test_expire_in_may_be_an_absolute_time() -> None:
    pair = mapping.token_pair({"access_token": "a-token", "refresh_token": "r-token", "expire_in": 1767001812}, "1")
    assert pair.access_expires_at == datetime.fromtimestamp(1767001812, UTC)


# ---------------------------------------------------------------------------------------------------- caps


async def test_sandbox_enforces_batch_and_page_caps(env: Env) -> None:
    item_id = seed(env, "Big", [f"BIG-{i}" for i in range(60)])
    entries = [{"model_id": 1, "seller_stock": [{"stock": 1}]}] * 51
    status, body = await raw(env, "POST", api.UPDATE_STOCK, body={"item_id": int(item_id), "stock_list": entries})
    assert (status, body["error"]) == (400, "product.error_param")
    ids = ",".join(str(i) for i in range(1, 52))
    status, body = await raw(env, "GET", api.ITEM_BASE_INFO, params={"item_id_list": ids})
    assert (status, body["error"]) == (400, "product.error_param")
    status, body = await raw(env, "GET", api.ORDER_DETAIL, params={"order_sn_list": ids})
    assert (status, body["error"]) == (400, "error_param")
    page = {"offset": "0", "page_size": "101", "item_status": "NORMAL"}
    status, body = await raw(env, "GET", api.ITEM_LIST, params=page)
    assert (status, body["error"]) == (400, "product.error_param")


async def test_sandbox_rejects_an_order_window_over_15_days(env: Env) -> None:
    now = int(time.time())
    params = {
        "time_range_field": "update_time",
        "time_from": str(now - 15 * DAY - 1),
        "time_to": str(now),
        "page_size": "10",
    }
    status, body = await raw(env, "GET", api.ORDER_LIST, params=params)
    assert (status, body["error"]) == (400, "order.order_list_invalid_time")
    status, body = await raw(env, "GET", api.ORDER_LIST, params={**params, "time_from": str(now - 15 * DAY)})
    assert status == 200 and body["response"] == {"more": False, "next_cursor": "", "order_list": []}


def test_order_windows_cover_the_range_without_gaps_or_overlaps() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    windows = order_windows(start, start + timedelta(days=40, seconds=0.5))
    assert len(windows) == 3 and windows[0][0] == int(start.timestamp())
    assert all(last - first < 15 * DAY for first, last in windows)
    assert all(nxt[0] == prev[1] + 1 for prev, nxt in itertools.pairwise(windows))
    assert windows[-1][1] == int(start.timestamp()) + 40 * DAY  # [from, to): the half second rounds up
    assert order_windows(start, start) == []


async def test_client_slides_windows_and_pages_inside_each(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(env, "Shirt", ["SHIRT-1"])
    now = time.time()
    for i in range(400):
        order = env.sandbox.add_order(env.shop, [{"sku": "SHIRT-1", "quantity": 2}], status="READY_TO_SHIP")
        order.created_at = order.updated_at = now - i * 9000  # ~41.6 days
    calls = spy_calls(env, monkeypatch)
    start = datetime.fromtimestamp(now - 400 * 9000 - 60, UTC)
    orders = [o async for o in env.client.iter_orders(start, datetime.now(UTC) + timedelta(minutes=1))]
    assert len({o.platform_order_id for o in orders}) == 400
    lists = [params for path, params in calls if path == api.ORDER_LIST]
    assert all(p["time_to"] - p["time_from"] <= 15 * DAY and p["page_size"] == 100 for p in lists)
    assert len({p["time_from"] for p in lists}) == 3 and any("cursor" in p for p in lists)
    details = [params for path, params in calls if path == api.ORDER_DETAIL]
    assert all(len(p["order_sn_list"].split(",")) <= 50 for p in details)


async def test_stock_is_written_one_item_per_call_at_most_50_models(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    big, small = seed(env, "Big", [f"BIG-{i}" for i in range(120)]), seed(env, "Small", ["SMALL-1"])
    listings = {x.platform_item_id: x for x in await env.client.get_listings([big, small])}
    updates = [
        StockUpdate(platform_item_id=item_id, platform_variant_id=v.platform_variant_id, sku=v.sku, quantity=9)
        for item_id, listing in listings.items()
        for v in listing.variants
    ]
    calls = spy_calls(env, monkeypatch)
    results = await env.client.update_stock(updates)
    assert [r.sku for r in results] == [u.sku for u in updates] and all(r.ok for r in results)
    writes = [params for path, params in calls if path == api.UPDATE_STOCK]
    assert [len(w["stock_list"]) for w in writes] == [50, 50, 20, 1]
    assert writes[-1]["stock_list"] == [{"model_id": 0, "seller_stock": [{"stock": 9}]}], "model_id 0: no models"
    assert {v.stock for listing in env.shop.listings.values() for v in listing.variants} == {9}


async def test_partial_price_failure_is_reported_per_model(env: Env) -> None:
    item_id = seed(env, "Mug", ["MUG-S", "MUG-M", "MUG-L"])
    listing = (await env.client.get_listings([item_id]))[0]
    prices = [Decimal("99000"), Decimal("99000.5"), Decimal("120000")]  # VN prices are whole numbers
    updates = [
        PriceUpdate(platform_item_id=item_id, platform_variant_id=v.platform_variant_id, sku=v.sku, price=p)
        for v, p in zip(listing.variants, prices, strict=True)
    ]
    results = {r.sku: r for r in await env.client.update_prices(updates)}
    assert results["MUG-S"].ok and results["MUG-L"].ok
    assert not results["MUG-M"].ok and results["MUG-M"].error_code == "failure_list"
    assert "decimal" in (results["MUG-M"].error_message or "")
    assert [v.price for v in env.shop.listings[item_id].variants] == [Decimal(99000), Decimal(150000), Decimal(120000)]


async def test_a_whole_batch_error_becomes_failed_results(env: Env) -> None:
    item_id = seed(env, "Cap", ["CAP-1", "CAP-2"])
    updates = [
        StockUpdate(platform_item_id=item_id, platform_variant_id=str(n), sku=f"GONE-{n}", quantity=1) for n in (1, 2)
    ]
    results = await env.client.update_stock(updates)
    assert [(r.ok, r.error_code) for r in results] == [(False, "error_busi_update_stock_failed")] * 2
    odd = [StockUpdate(platform_item_id="not-an-id", platform_variant_id=None, sku="ODD", quantity=1)]
    assert [(r.ok, r.error_code) for r in await env.client.update_stock(odd)] == [(False, "error_param")]


# ---------------------------------------------------------------------------------------------------- catalog


async def test_listings_map_models_options_prices_and_stock(env: Env) -> None:
    tee = seed(env, "Tee", ["TEE-R-M", "TEE-R-L", "TEE-B-M"], Color=["Red", "Red", "Blue"], Size=["M", "L", "M"])
    plain = seed(env, "Plain", ["PLAIN-1"])
    found = {x.platform_item_id: x for x in await env.client.get_listings([tee, plain, "424242"])}
    assert set(found) == {tee, plain}
    variants = found[tee].variants
    assert [v.options for v in variants] == [
        {"Color": "Red", "Size": "M"},
        {"Color": "Red", "Size": "L"},
        {"Color": "Blue", "Size": "M"},
    ]
    assert all(v.platform_variant_id and v.price == Decimal(150000) and v.stock == 4 for v in variants)
    assert found[plain].variants[0].platform_variant_id is None and found[plain].variants[0].sku == "PLAIN-1"
    assert found[tee].category_id == "100" and found[tee].updated_at is not None


async def test_find_by_sku_needs_an_exact_match(env: Env) -> None:
    seed(env, "Long", ["ABC-10"])
    assert await env.client.find_by_sku("ABC-1") is None, "search_item matches loosely; the client must not"
    found = await env.client.find_by_sku("ABC-10")
    assert found is not None and found.variants[0].sku == "ABC-10"


def tee_draft() -> ListingDraft:
    return ListingDraft(
        name="Tee",
        description="cotton",
        category_id="100",
        variants=[
            VariantDraft(sku=f"NEW-{c}-{s}", price=Decimal("99000"), stock=3, options={"Color": c, "Size": s})
            for c in ("Red", "Blue")
            for s in ("M", "L")
        ],
    )


async def test_create_with_models(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = spy_calls(env, monkeypatch)
    draft = await listable(env.client, tee_draft())
    listing = await env.client.create_listing(draft)
    assert [v.sku for v in listing.variants] == ["NEW-Red-M", "NEW-Red-L", "NEW-Blue-M", "NEW-Blue-L"]
    assert listing.variants[3].options == {"Color": "Blue", "Size": "L"}
    body = next(params for path, params in calls if path == api.INIT_TIER)
    assert "tier_variation" not in body, "the deprecated shape (SHP-RAW update_log 2025-09-12)"
    tiers = [
        (t["variation_id"], t["variation_name"], [o["variation_option_name"] for o in t["variation_option_list"]])
        for t in body["standardise_tier_variation"]
    ]
    assert tiers == [(0, "Color", ["Red", "Blue"]), (0, "Size", ["M", "L"])]
    assert await env.client.create_listing(draft) == listing, "a second create finds the first"
    assert env.sandbox.counters.creates == 1 and env.sandbox.duplicate_listings() == 0


async def test_lost_add_item_answer_still_gets_its_models(env: Env) -> None:
    env.sandbox.faults.lost_write_rate = 1.0
    listing = await env.client.create_listing(await listable(env.client, tee_draft()))
    assert len(listing.variants) == 4 and all(v.platform_variant_id for v in listing.variants)
    assert env.sandbox.counters.creates == 1 and env.sandbox.duplicate_listings() == 0
    assert env.sandbox.counters.lost_writes >= 2  # add_item and init_tier_variation answers both lost


async def test_update_listing(env: Env) -> None:
    bag = ListingDraft(name="Bag", category_id="100", variants=[VariantDraft(sku="BAG-1", price=Decimal(5), stock=1)])
    draft = await listable(env.client, bag)
    created = await env.client.create_listing(draft)
    changed = draft.model_copy(
        update={"name": "Bag v2", "variants": [VariantDraft(sku="BAG-1", price=Decimal(7), stock=8)]}
    )
    updated = await env.client.update_listing(created.platform_item_id, changed)
    assert (updated.name, updated.variants[0].price, updated.variants[0].stock) == ("Bag v2", Decimal(7), 8)
    with pytest.raises(PermanentError):
        await env.client.update_listing(created.platform_item_id, await listable(env.client, tee_draft()))


# ---------------------------------------------------------------------------------------------------- orders


async def test_order_detail_maps_lines_buyer_and_totals(env: Env) -> None:
    seed(env, "Tee", ["T-M", "T-L"], Size=["M", "L"])
    order = env.sandbox.add_order(
        env.shop,
        [{"sku": "T-M", "quantity": 2}, {"sku": "T-L", "quantity": 1}],
        status="UNPAID",
        buyer={"user_id": 42, "username": "buyer42"},
    )
    order.shipping_fee = Decimal(15000)
    [mapped] = await env.client.get_orders([order.order_id, "NOT-AN-ORDER"])
    assert mapped.platform_order_id == order.order_id and order.order_id[:6].isdigit() and len(order.order_id) == 14
    assert (mapped.status, mapped.currency, mapped.buyer) == ("UNPAID", "VND", {"user_id": "42", "username": "buyer42"})
    assert [(x.sku, x.quantity, x.unit_price) for x in mapped.lines] == [
        ("T-M", 2, Decimal(150000)),
        ("T-L", 1, Decimal(150000)),
    ]
    assert all(x.platform_variant_id for x in mapped.lines) and len({x.platform_line_id for x in mapped.lines}) == 2
    assert (mapped.subtotal, mapped.shipping_fee, mapped.total) == (Decimal(450000), Decimal(15000), Decimal(465000))
    assert mapped.created_at.tzinfo is UTC


# ---------------------------------------------------------------------------------------------------- pushes


def push(message: dict[str, Any]) -> list[Any]:
    return webhooks.parse({}, json.dumps(message).encode())


def test_order_status_push_uses_the_documented_composite_key() -> None:
    body = (
        b'{"data":{"items":[],"ordersn":"220810QSK8S7BX","status":"PROCESSED","completed_scenario":"",'
        b'"update_time":1660123127},"shop_id":727720655,"code":3,"timestamp":1660123127}'
    )
    [event] = webhooks.parse({"Authorization": "x"}, body)
    assert (event.kind, event.entity_id, event.status, event.platform_shop_id) == (
        "order_status_changed",
        "220810QSK8S7BX",
        "PROCESSED",
        "727720655",
    )
    assert event.dedupe_key == "727720655:3:220810QSK8S7BX:PROCESSED:1660123127"
    assert event.occurred_at == datetime.fromtimestamp(1660123127, UTC)


def test_other_push_kinds() -> None:
    [gone] = push(
        {
            "data": {"authorize_type": "expiry", "shopid": 555, "success": 1},
            "partner_id": 1,
            "code": 2,
            "timestamp": 1700000000,
        }
    )
    assert (gone.kind, gone.platform_shop_id, gone.status) == ("shop_deauthorized", "555", "expiry")
    expiring = push(
        {
            "code": 12,
            "timestamp": 1700000000,
            "data": {
                "shop_expire_soon": [1, 2, 2],
                "merchant_expire_soon": [],
                "expire_before": 1700600000,
                "page_no": 1,
                "total_page": 1,
            },
        }
    )
    assert [(e.kind, e.platform_shop_id) for e in expiring] == [
        ("authorization_expiring", "1"),
        ("authorization_expiring", "2"),
    ]
    assert expiring[0].occurred_at == datetime.fromtimestamp(1700600000, UTC)
    [stock] = push(
        {
            "code": 8,
            "shop_id": 9,
            "timestamp": 1700000000,
            "data": {"item_id": 77, "variation_id": 3, "action": "cancel_order", "changed_values": []},
        }
    )
    assert (stock.kind, stock.entity_id, stock.platform_shop_id) == ("product_changed", "77", "9")
    [authorized] = push({"code": 1, "partner_id": 1, "timestamp": 1, "data": {"shop_id": 5, "success": 1}})
    [unknown] = push({"code": 99, "shop_id": 9, "timestamp": 1, "data": {}})
    assert (authorized.kind, unknown.kind) == ("ignored", "ignored")
    assert push({"code": 99, "shop_id": 9, "timestamp": 1, "data": {}})[0].dedupe_key == unknown.dedupe_key
    assert len({e.dedupe_key for e in [gone, *expiring, stock, authorized, unknown]}) == 6
    with pytest.raises(ValidationFailed):
        webhooks.parse({}, b"not json")


def test_verify_signs_url_and_exact_raw_body() -> None:
    url, body = "https://crm.example/webhooks/shopee/1", b'{"code":3, "shop_id":1}'
    signature = webhook_signature(url, body, PARTNER_KEY)
    app = AppCredentials(APP)
    assert webhooks.verify({"authorization": signature.upper()}, body, app, ["old-key", PARTNER_KEY], url)
    assert not webhooks.verify({"Authorization": signature}, body.replace(b", ", b","), app, [PARTNER_KEY], url)
    assert not webhooks.verify({"Authorization": signature}, body, app, [PARTNER_KEY], url + "/")
    assert not webhooks.verify({}, body, app, [PARTNER_KEY], url)


async def receiver(answer: bytes) -> tuple[web.AppRunner, str, asyncio.Queue[bytes]]:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle(request: web.Request) -> web.Response:
        await received.put(await request.read())
        return web.Response(status=200, body=answer)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received


async def test_failed_pushes_become_lost_pushes_until_confirmed(env: Env) -> None:
    runner, url, received = await receiver(b'{"ok":true}')  # Shopee needs an EMPTY 2xx body
    env.sandbox.webhook_url = url
    try:
        order = env.sandbox.add_order(env.shop, [{"sku": "X"}], status="UNPAID")
        env.sandbox.push(env.shop, {"kind": "order_status_changed", "order": order})
        await env.sandbox.drain_pushes(5)
        assert received.qsize() == 4, "the first try and three retries"
    finally:
        await runner.cleanup()
    assert env.sandbox.counters.webhooks_failed == 1
    lost = await env.client.get_lost_pushes()
    assert [(e.kind, e.entity_id, e.platform_shop_id) for e in lost.events] == [
        ("order_status_changed", order.order_id, SHOP_ID)
    ]
    assert lost.last_message_id and not lost.has_next_page
    await env.client.confirm_lost_pushes(lost.last_message_id)
    assert (await env.client.get_lost_pushes()).events == []


async def test_sandbox_push_is_verifiable_and_acknowledged_by_an_empty_body(env: Env) -> None:
    runner, url, received = await receiver(b"")
    env.sandbox.webhook_url = url
    try:
        env.sandbox.push(env.shop, {"kind": "shop_deauthorized"})
        body = await asyncio.wait_for(received.get(), 5)
        await env.sandbox.drain_pushes(5)
    finally:
        await runner.cleanup()
    headers = {"Authorization": webhook_signature(url, body, PARTNER_KEY)}
    assert PLATFORM.verify_webhook(headers, body, AppCredentials(APP), [PARTNER_KEY], url)
    assert [e.kind for e in PLATFORM.parse_webhook(headers, body)] == ["shop_deauthorized"]
    assert env.sandbox.counters.webhooks_sent == 1 and not env.sandbox.lost_pushes


async def test_an_image_upload_is_a_public_multipart_call_answering_an_image_id(env: Env) -> None:
    """media_space/upload_image (docs/platforms/listings/shopee.md section 5): signed as a Public API (the sandbox
    checks it), the part ``image``; its image_id is what add_item's image_id_list takes."""
    image_id = await env.client.upload_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
    assert image_id in env.sandbox.issued_images


async def test_an_image_upload_the_platform_refuses_is_a_permanent_error(env: Env) -> None:
    with pytest.raises(PermanentError, match="JPG, JPEG, PNG"):
        await env.client.upload_image(b"GIF89a" + b"\x00" * 16, "image/gif")
    assert not env.sandbox.issued_images
