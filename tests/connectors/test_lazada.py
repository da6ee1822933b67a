"""Lazada specifics the contract suite does not cover, over real HTTP against the in-process sandbox."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider
from nfsync.connectors.base.client import AppCredentials, ClientSettings, HttpResponse, ResponseLost, ShopRef
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded, ValidationFailed
from nfsync.connectors.base.models import ListingDraft, PriceUpdate, StockUpdate, TokenPair, VariantDraft
from nfsync.connectors.base.policy import Action
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.lazada import mapping, signing, stock, webhooks
from nfsync.connectors.lazada.client import AUTH_BASE_URL, Client, EndpointRates
from nfsync.connectors.lazada.errors import ERROR_TABLE, effective_code
from nfsync.connectors.lazada.sandbox import SANDBOX
from nfsync.connectors.lazada.sandbox.emulator import LzCall, LzError, Sandbox
from tests.connectors.listable import listable

APP = dict(SANDBOX.sample_app)
SELLER = "200300400"
ACCESS, REFRESH = "lazada-test-access-token-01", "lazada-test-refresh-token-01"


@dataclass
class Env:
    sandbox: Sandbox
    shop: SbShop
    client: Client
    session: aiohttp.ClientSession

    async def raw(self, method: str, path: str, params: dict[str, str], **options: Any) -> dict[str, Any]:
        """One hand-signed call: ``token`` (default ACCESS, None for none), ``timestamp_ms``, ``secret``,
        ``drop`` (parameters removed after signing)."""
        signed = signing.sign_request(
            app_key=APP["app_key"],
            app_secret=options.get("secret", APP["app_secret"]),
            api_path=path,
            timestamp_ms=options.get("timestamp_ms", int(time.time() * 1000)),
            access_token=options.get("token", ACCESS),
            params=params,
        )
        query = {k: v for k, v in signed.query.items() if k not in options.get("drop", ())}
        url = f"{self.sandbox.base_url}/rest{path}"
        request = self.session.get(url, params=query) if method == "GET" else self.session.post(url, data=query)
        async with request as response:
            assert response.status == 200, "Lazada answers errors in the body"
            body: dict[str, Any] = await response.json()
            return body


@contextlib.asynccontextmanager
async def running(
    sandbox_cls: type[Sandbox] = Sandbox, client_cls: type[Client] = Client, *, rate_limit: float | None = None
) -> AsyncIterator[Env]:
    sandbox = sandbox_cls(APP, seed=11, webhook_retry_scale=0.001)
    sandbox.rate_limit = None
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop(SELLER, "Lazada test shop", access_token=ACCESS, refresh_token=REFRESH, region="vn")
        expires = datetime.now(UTC) + timedelta(hours=1)
        tokens = MemoryTokenProvider(
            TokenPair(access_token=Secret(ACCESS), refresh_token=Secret(REFRESH), access_expires_at=expires)
        )
        settings = ClientSettings(  # each venture's host: the client picks the shop's (connectors/lazada/client.py)
            base_url=f"{sandbox.base_url}/{{venture}}/rest",
            backoff_base=0.01,
            backoff_cap=0.2,
            read_timeout=5.0,
            rate_limit=rate_limit,
        )
        client = client_cls(
            settings,
            AppCredentials(APP),
            SANDBOX.shop_ref(shop, sandbox.base_url),
            session=session,
            tokens=tokens,
            limiter=LocalRateLimiter(),
        )
        tokens.bind(client.refresh_access)
        yield Env(sandbox, shop, client, session)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with running() as value:
        yield value


def _seed(env: Env, count: int, variants: int = 1, prefix: str = "LZ") -> None:
    for i in range(count):
        env.sandbox.add_listing(
            env.shop,
            f"Item {i}",
            [{"sku": f"{prefix}-{i:05d}-{v}", "price": "150000", "stock": 4} for v in range(variants)],
        )


def _sku_xml(count: int) -> str:
    rows = [{"ItemId": "1", "SellerSku": f"S{i}", "Quantity": "1"} for i in range(count)]
    return stock.payload_xml(rows)


# ---------------------------------------------------------------------------------------------------- gateway


async def test_timestamp_outside_the_7200_second_window_is_rejected(env: Env) -> None:
    now_ms = int(time.time() * 1000)
    stale = await env.raw("GET", "/seller/get", {}, timestamp_ms=now_ms - 7_201_000)
    assert stale["code"] == "InvalidTimestamp" and stale["type"] == "ISV" and stale["request_id"]
    future = await env.raw("GET", "/seller/get", {}, timestamp_ms=now_ms + 7_201_000)
    assert future["code"] == "InvalidTimestamp"
    skewed = await env.raw("GET", "/seller/get", {}, timestamp_ms=now_ms - 7_000_000)
    assert skewed["code"] == "0" and skewed["data"]["seller_id"] == int(SELLER)


async def test_error_envelopes_are_lazadas(env: Env) -> None:
    wrong = await env.raw("GET", "/seller/get", {}, secret="not-the-app-secret")
    assert set(wrong) == {"code", "type", "message", "request_id"}
    assert wrong["code"] == "IncompleteSignature" and "signature" in wrong["message"]
    unsigned = await env.raw("GET", "/seller/get", {}, drop=("sign",))
    assert unsigned["code"] == "MissingParameter" and "sign" in unsigned["message"]
    unknown = await env.raw("GET", "/seller/get", {}, token="no-such-token-000000")
    assert unknown["code"] == "IllegalAccessToken"
    tokenless = await env.raw("GET", "/seller/get", {}, token=None)
    assert tokenless["code"] == "MissingParameter" and "access_token" in tokenless["message"]
    for token in env.shop.access.values():
        token.expires_at = 0
    expired = await env.raw("GET", "/seller/get", {})
    assert expired["code"] == "IllegalAccessToken" and expired["message"].endswith("invalid or expired")


async def test_signature_covers_every_parameter_that_arrives(env: Env) -> None:
    signed = signing.sign_request(
        app_key=APP["app_key"],
        app_secret=APP["app_secret"],
        api_path="/seller/get",
        timestamp_ms=int(time.time() * 1000),
        access_token=ACCESS,
    )
    query = {**signed.query, "partner_id": "lazop-sdk-python"}  # an SDK's unsigned extra parameter
    async with env.session.get(f"{env.sandbox.base_url}/rest/seller/get", params=query) as response:
        assert (await response.json())["code"] == "IncompleteSignature"


async def test_throttle_and_server_error_shapes(env: Env) -> None:
    env.sandbox.faults.throttle_until = time.time() + 5
    throttled = await env.raw("GET", "/seller/get", {})
    assert throttled["code"] == "ApiCallLimit" and "1 seconds" in throttled["message"]
    env.sandbox.faults.throttle_until = 0
    env.sandbox.faults.error_rate = 1.0
    failed = await env.raw("GET", "/seller/get", {})
    assert failed["code"] == "1000" and failed["type"] == "ISP"


async def test_malformed_body_is_a_lost_response(env: Env) -> None:
    env.sandbox.faults.malformed_rate = 1.0
    with pytest.raises(ResponseLost):
        await env.client.get_shop_info()
    assert env.client.stats["malformed"] == env.client.settings.max_attempts


def test_error_table_classes() -> None:
    assert ERROR_TABLE.classify(200, "ApiCallLimit") is Action.THROTTLE
    assert ERROR_TABLE.classify(200, "901") is Action.THROTTLE
    assert ERROR_TABLE.classify(200, "IllegalAccessToken") is Action.REFRESH
    assert ERROR_TABLE.classify(200, "IllegalRefreshToken") is Action.REAUTHORIZE
    assert ERROR_TABLE.classify(200, "IncompleteSignature") is Action.PERMANENT
    assert ERROR_TABLE.classify(200, "ServiceTimeout") is Action.RETRY
    assert ERROR_TABLE.classify(200, effective_code("E777", "")) is Action.PERMANENT, "the type never decides"
    assert ERROR_TABLE.classify(200, effective_code("6", "E006: Unexpected internal error")) is Action.RETRY
    assert ERROR_TABLE.classify(200, effective_code("6", "Invalid status filter")) is Action.PERMANENT
    assert ERROR_TABLE.classify(502, None) is Action.RETRY


def test_error_of_reads_the_body(env: Env) -> None:
    def error(body: dict[str, Any]) -> tuple[str | None, str]:
        return env.client.error_of(HttpResponse(200, {}, json.dumps(body).encode()))

    assert error({"code": "0", "data": {}}) == (None, "")
    assert error({"code": "ServiceTimeout", "type": "ISP", "message": "slow"}) == ("ServiceTimeout", "slow")
    assert error({"code": "E123", "type": "ISP", "message": "x"}) == ("E123", "x")
    partial = {"code": "501", "type": "ISV", "message": "E501", "detail": [{"seller_sku": "A", "message": "m"}]}
    assert error(partial) == (None, ""), "a partial failure goes back to the caller"
    assert error({"code": "501", "type": "ISV", "message": "E501"}) == ("501", "E501")


# ---------------------------------------------------------------------------------------------------- tokens


async def test_code_exchange_answers_lazadas_token_shape(env: Env) -> None:
    code = env.sandbox.issue_code(SELLER)
    pair = await env.client.exchange_code(code)
    assert pair.shop_ids == [SELLER] and pair.extra["country"] == "vn"
    assert pair.access_expires_at is not None and pair.refresh_expires_at is not None
    assert timedelta(days=29) < pair.access_expires_at - datetime.now(UTC) <= timedelta(days=30)
    assert timedelta(days=179) < pair.refresh_expires_at - datetime.now(UTC) <= timedelta(days=180)
    with pytest.raises(PermanentError) as spent:
        await env.client.exchange_code(code)
    assert getattr(spent.value, "code", None) == "InvalidCode", "a code is single use"


async def test_refresh_token_is_reusable_and_its_lifetime_is_not_reset(env: Env) -> None:
    first = await env.client.refresh_access(Secret(REFRESH))
    second = await env.client.refresh_access(Secret(REFRESH))
    assert first.access_token != second.access_token
    assert first.refresh_token == Secret(REFRESH) == second.refresh_token
    assert first.refresh_expires_at is not None and second.refresh_expires_at is not None
    assert second.refresh_expires_at <= first.refresh_expires_at + timedelta(seconds=1)
    assert env.sandbox.counters.refreshes == 2


async def test_expired_refresh_token_needs_reauthorization(env: Env) -> None:
    env.shop.refresh[REFRESH].expires_at = 0
    with pytest.raises(ReauthorizationNeeded):
        await env.client.refresh_access(Secret(REFRESH))
    for token in env.shop.access.values():
        token.expires_at = 0
    with pytest.raises(ReauthorizationNeeded):
        await env.client.get_shop_info()


def test_hosts_and_authorize_url() -> None:
    settings = ClientSettings(base_url="https://api.lazada.vn")
    client = Client(
        settings,
        AppCredentials(APP),
        ShopRef(SELLER, {"region": "vn"}),
        session=None,  # type: ignore[arg-type]
        tokens=None,
        limiter=LocalRateLimiter(),
    )
    assert client.api_base == "https://api.lazada.vn/rest" and client.auth_base == AUTH_BASE_URL
    url = client.authorize_url("https://crm.example/cb", "st-1")
    assert url.startswith("https://auth.lazada.com/oauth/authorize?") and "client_id=100001" in url
    assert "force_auth=true" in url and "state=st-1" in url


async def test_endpoint_classes_get_their_own_default_rate() -> None:
    seen: list[tuple[str, float]] = []

    class Recorder:
        async def acquire(self, key: str, rate: float) -> None:
            seen.append((key, rate))

        async def throttled(self, key: str, pause: float) -> None: ...

    await EndpointRates(Recorder(), {"inventory": 50.0}, None).acquire("lazada:1:2:inventory", 10.0)
    await EndpointRates(Recorder(), {"inventory": 50.0}, None).acquire("lazada:1:2:orders", 10.0)
    await EndpointRates(Recorder(), {"inventory": 50.0}, 3.0).acquire("lazada:1:2:inventory", 3.0)
    assert [rate for _, rate in seen] == [50.0, 10.0, 3.0]


# ---------------------------------------------------------------------------------------------------- caps


async def test_page_offset_and_id_caps_answer_lazadas_codes(env: Env) -> None:
    after = {"update_after": "2020-01-01T00:00:00+00:00"}
    cases = [
        ("/products/get", {"filter": "all", "limit": "51"}, "19"),
        ("/products/get", {"filter": "all", "offset": "10001"}, "14"),
        ("/products/get", {"filter": "all", "sku_seller_list": json.dumps([f"S{i}" for i in range(101)])}, "70"),
        ("/products/get", {"filter": "everything"}, "36"),
        ("/orders/get", {**after, "limit": "101"}, "19"),
        ("/orders/get", {**after, "offset": "4501"}, "14"),
        ("/orders/get", {"update_after": "yesterday"}, "17"),
        ("/orders/get", {}, "1"),
        ("/orders/items/get", {"order_ids": json.dumps(list(range(1, 52)))}, "38"),
        ("/orders/items/get", {"order_ids": "1,2"}, "56"),
    ]
    for path, params, code in cases:
        body = await env.raw("GET", path, params)
        assert body["code"] == code, (path, params, body)
    ok = await env.raw("GET", "/orders/get", {**after, "offset": "4500", "limit": "100"})
    assert ok["code"] == "0" and ok["data"]["orders"] == []


async def test_price_quantity_batches_are_capped(env: Env) -> None:
    rejected = await env.raw("POST", "/product/price_quantity/update", {"payload": _sku_xml(51)})
    assert rejected["code"] == "4171"
    _seed(env, 1, variants=45)
    listing = next(iter(env.shop.listings.values()))
    updates = [
        StockUpdate(platform_item_id=listing.item_id, platform_variant_id=v.variant_id, sku=v.sku, quantity=9)
        for v in listing.variants
    ]
    before = env.sandbox.counters.requests
    results = await env.client.update_stock(updates)
    assert env.sandbox.counters.requests - before == 4, "the seller's warehouses once, then 20 SKUs per call"
    assert [r.sku for r in results] == [u.sku for u in updates] and all(r.ok for r in results)
    assert {v.stock for v in listing.variants} == {9}


async def test_failed_skus_are_reported_and_the_rest_applied(env: Env) -> None:
    _seed(env, 1, variants=3)
    listing = next(iter(env.shop.listings.values()))
    v0, v1, v2 = listing.variants
    updates = [
        PriceUpdate(platform_item_id=listing.item_id, platform_variant_id=v0.variant_id, sku=v0.sku, price=Decimal(99)),
        PriceUpdate(platform_item_id=listing.item_id, platform_variant_id=v1.variant_id, sku=v1.sku, price=Decimal(0)),
        PriceUpdate(platform_item_id=listing.item_id, platform_variant_id="1", sku="GHOST", price=Decimal(5)),
        PriceUpdate(platform_item_id=listing.item_id, platform_variant_id=None, sku=v2.sku, price=Decimal("12.5")),
    ]
    results = await env.client.update_prices(updates)
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].error_code == "501" and "PRICE_IS_ZERO" in (results[1].error_message or "")
    assert results[2].error_message == "SKU not exist"
    assert (v0.price, v1.price, v2.price) == (Decimal(99), Decimal(150000), Decimal("12.5"))


async def test_whole_batch_permanent_error_becomes_failed_results() -> None:
    class Closed(Sandbox):
        async def _sellable_update(self, call: LzCall) -> Any:
            raise LzError("SellerNotActive", "Seller not active,please check seller status")

    async with running(Closed) as env:
        updates = [
            StockUpdate(platform_item_id="1", platform_variant_id=str(i + 1), sku=f"S{i}", quantity=1)
            for i in range(25)
        ]
        results = await env.client.update_stock(updates)
    assert len(results) == 25 and not any(r.ok for r in results)
    assert {r.error_code for r in results} == {"SellerNotActive"}


async def test_create_update_find_and_caps(env: Env) -> None:
    draft = ListingDraft(
        name="Shirt",
        description="cotton",
        category_id="10002019",
        variants=[
            VariantDraft(sku="SHIRT-S", price=Decimal("99000"), stock=3, options={"size": "S"}),
            VariantDraft(sku="SHIRT-M", price=Decimal("99000"), stock=2, options={"size": "M"}),
        ],
    )
    draft = await listable(env.client, draft)
    created = await env.client.create_listing(draft)
    assert [v.sku for v in created.variants] == ["SHIRT-S", "SHIRT-M"] and all(
        v.platform_variant_id for v in created.variants
    )
    found = await env.client.find_by_sku("SHIRT-M")
    assert found is not None and found.platform_item_id == created.platform_item_id
    assert found.variants[1].options == {"size": "M"} and found.variants[1].stock == 2
    assert await env.client.find_by_sku("SHIRT") is None, "whole SellerSku only"
    with pytest.raises(PermanentError) as taken:
        await env.client._create_listing(draft.model_copy(update={"name": "Copy"}))
    assert getattr(taken.value, "code", None) == "500" and "SellerSku repeat" in str(taken.value)

    changed = draft.model_copy(
        update={
            "name": "Shirt v2",
            "variants": [
                VariantDraft(sku="SHIRT-S", price=Decimal("89000"), stock=5, options={"size": "S"}),
                VariantDraft(sku="SHIRT-L", price=Decimal("95000"), stock=1, options={"size": "L"}),
            ],
        }
    )
    updated = await env.client.update_listing(created.platform_item_id, changed)
    assert updated.name == "Shirt v2"
    assert {v.sku: (v.price, v.stock) for v in updated.variants} == {
        "SHIRT-S": (Decimal(89000), 5),
        "SHIRT-M": (Decimal(99000), 2),
        "SHIRT-L": (Decimal(95000), 1),
    }
    assert await env.client.get_listings(["999", created.platform_item_id]) == [updated]

    many = ListingDraft(
        name="Big", category_id="1", variants=[VariantDraft(sku=f"B{i}", price=Decimal(1), stock=1) for i in range(51)]
    )
    with pytest.raises(PermanentError):
        await env.client.create_listing(many)
    payload = mapping.create_payload(many)
    assert (await env.raw("POST", "/product/create", {"payload": payload}))["code"] == "209"


class LosesOneWrite(Sandbox):
    lost: bool = False

    def lose_response(self, request: Any) -> bool:
        if self.lost:
            return False
        self.lost = True
        return super().lose_response(request)


async def test_lost_update_response_is_not_repeated_blindly() -> None:
    async with running(LosesOneWrite) as env:
        _seed(env, 1)
        listing = next(iter(env.shop.listings.values()))
        draft = ListingDraft(
            name="Renamed",
            category_id="1",
            variants=[
                VariantDraft(sku="LZ-00000-0", price=Decimal(1000), stock=1),
                VariantDraft(sku="LZ-NEW", price=Decimal(2000), stock=2),
            ],
        )
        env.sandbox.faults.lost_write_rate = 1.0
        updated = await env.client.update_listing(listing.item_id, draft)
    assert env.sandbox.counters.lost_writes == 1 and env.client.stats["lost_updates"] == 1
    assert sorted(v.sku for v in updated.variants) == ["LZ-00000-0", "LZ-NEW"], "the new SKU is added once"
    assert env.sandbox.duplicate_listings() == 0


# ---------------------------------------------------------------------------------------------------- windows


class SmallProductCaps(Sandbox):
    product_offset_cap = 100


class SmallProductCapsClient(Client):
    product_offset_cap = 100


async def test_product_windows_split_past_the_offset_cap() -> None:
    async with running(SmallProductCaps, SmallProductCapsClient, rate_limit=1000) as env:
        _seed(env, 420)
        now = time.time()
        for i, listing in enumerate(env.shop.listings.values()):
            listing.updated_at = now - i * 30
        seen = [listing.platform_item_id async for listing in env.client.iter_listings()]
        assert len(seen) == 420 and len(set(seen)) == 420
        since = datetime.fromtimestamp(int(now - 99 * 30), UTC)
        recent = [listing async for listing in env.client.iter_listings(since)]
        assert len(recent) == 100
        assert all(listing.updated_at is not None and listing.updated_at >= since for listing in recent)


class SmallOrderCaps(Sandbox):
    order_offset_cap = 200


class SmallOrderCapsClient(Client):
    order_offset_cap = 200


class TooFarClient(Client):
    order_offset_cap = 1000


async def test_order_window_slides_past_the_offset_cap() -> None:
    async with running(SmallOrderCaps, SmallOrderCapsClient, rate_limit=1000) as env:
        _seed(env, 1)
        now = time.time()
        for i in range(760):
            order = env.sandbox.add_order(env.shop, [{"sku": "LZ-00000-0"}], status="pending")
            order.created_at = order.updated_at = now - 3600 - (i if i < 700 else 250)  # 61 share one second
        start, end = datetime.fromtimestamp(now - 7200, UTC), datetime.now(UTC)
        orders = [order async for order in env.client.iter_orders(start, end)]
        assert len(orders) == 760 and len({o.platform_order_id for o in orders}) == 760
        assert all(o.lines and o.status == "pending" for o in orders)

        tokens = MemoryTokenProvider(TokenPair(access_token=Secret(ACCESS)))
        naive = TooFarClient(
            env.client.settings,
            env.client.app,
            env.client.shop,
            session=env.session,
            tokens=tokens,
            limiter=LocalRateLimiter(),
        )
        with pytest.raises(PermanentError) as capped:
            _ = [order async for order in naive.iter_orders(start, end)]
        assert getattr(capped.value, "code", None) == "14", "the sandbox refuses an offset past its cap"


async def test_orders_are_filtered_to_the_half_open_window(env: Env) -> None:
    _seed(env, 1)
    base = int(time.time()) - 600
    for offset in (0, 10, 20):
        order = env.sandbox.add_order(env.shop, [{"sku": "LZ-00000-0"}], status="unpaid")
        order.created_at = order.updated_at = base + offset
    window = [
        o
        async for o in env.client.iter_orders(datetime.fromtimestamp(base, UTC), datetime.fromtimestamp(base + 20, UTC))
    ]
    assert [o.updated_at for o in window] == [datetime.fromtimestamp(base + s, UTC) for s in (0, 10)]


# ---------------------------------------------------------------------------------------------------- orders


async def test_order_detail_lines_totals_and_buyer(env: Env) -> None:
    _seed(env, 2)
    order = env.sandbox.add_order(
        env.shop,
        [{"sku": "LZ-00000-0", "quantity": 3}, {"sku": "LZ-00001-0"}],
        status="ready_to_ship",
        buyer={"name": "Nguyen Van A"},
    )
    order.shipping_fee = Decimal("15000")
    [detail] = await env.client.get_orders(["404", order.order_id])
    assert detail.platform_order_id == order.order_id and detail.status == "ready_to_ship"
    assert [line.quantity for line in detail.lines] == [1, 1, 1, 1], "one order item per unit"
    assert len({line.platform_line_id for line in detail.lines}) == 4
    assert detail.subtotal == Decimal(600000) and detail.total == Decimal(615000) and detail.currency == "VND"
    assert detail.buyer["name"] == "Nguyen Van A"
    assert detail.created_at.tzinfo is not None and detail.created_at.utcoffset() == timedelta(0)


def test_order_status_is_picked_deterministically() -> None:
    assert mapping.order_status(["delivered", "shipped"]) == "shipped"
    assert mapping.order_status(["canceled", "delivered"]) == "delivered"
    assert mapping.order_status(["canceled", "returned"]) == "returned"
    assert mapping.order_status(["canceled"]) == "canceled"
    assert mapping.order_status(["mystery", "pending"]) == "pending"
    assert mapping.order_status(["zeta", "alpha"]) == "alpha"
    assert mapping.order_status([]) == "unknown"


def test_money_and_time_forms() -> None:
    assert mapping.money("1,260.00") == Decimal("1260.00") and mapping.money(None) == Decimal(0)
    assert mapping.parse_time("2018-02-09T22:44:30+08:00") == datetime(2018, 2, 9, 14, 44, 30, tzinfo=UTC)
    assert mapping.parse_time("2014-10-11 22:17:11 +0800") == datetime(2014, 10, 11, 14, 17, 11, tzinfo=UTC)
    assert mapping.from_epoch(1603698638) == mapping.from_epoch(1603698638000)


# ---------------------------------------------------------------------------------------------------- pushes


def _push(message_type: int, data: dict[str, Any], **top: Any) -> bytes:
    body = {
        "seller_id": SELLER,
        "message_type": message_type,
        "data": data,
        "timestamp": 1603766859530,
        "site": "lazada_vn",
        **top,
    }
    return json.dumps(body).encode()


def test_push_kinds_and_dedupe_keys() -> None:
    order = _push(
        0,
        {
            "order_status": "unpaid",
            "trade_order_id": "260422900198363",
            "trade_order_line_id": "260422900298363",
            "status_update_time": 1603698638,
        },
    )
    [event] = webhooks.parse({}, order)
    assert (event.kind, event.entity_id, event.status, event.platform_shop_id) == (
        "order_status_changed",
        "260422900198363",
        "unpaid",
        SELLER,
    )
    assert event.dedupe_key == "lazada:lazada_vn:200300400:0:260422900198363:260422900298363:unpaid:1603698638"
    assert event.occurred_at == datetime.fromtimestamp(1603698638, UTC)
    other_line = order.replace(b"260422900298363", b"260422900298364")
    assert webhooks.parse({}, other_line)[0].dedupe_key != event.dedupe_key, "another line is another message"

    reverse = _push(
        10,
        {
            "reverse_order_id": 6589,
            "reverse_status": "RTM_INIT",
            "trade_order_id": 4165,
            "trade_order_line_id": 4166,
            "reverse_order_line_id": 6637,
            "status_update_time": 1626767698,
        },
    )
    assert [(e.kind, e.entity_id, e.status) for e in webhooks.parse({}, reverse)] == [
        ("order_status_changed", "4165", "RTM_INIT")
    ]

    created = _push(3, {"item_id": "232611001", "sku_list": []}, action="PUBLISHED", status_update_time=1623238942696)
    edited = _push(4, {"item_id": 1760954113, "action": "EDITED_UPDATED", "status_update_time": 1623232569146})
    gone = _push(5, {"item_id": 1807508328, "action": "DELETED", "status_update_time": 1623230820094})
    sku_gone = _push(5, {"item_id": 1807508328, "action": "EDITED_DELETED", "status_update_time": 1623230820094})
    kinds = [webhooks.parse({}, body)[0] for body in (created, edited, gone, sku_gone)]
    assert [(e.kind, e.entity_id) for e in kinds] == [
        ("product_changed", "232611001"),
        ("product_changed", "1760954113"),
        ("product_deleted", "1807508328"),
        ("product_changed", "1807508328"),
    ]
    assert kinds[0].status == "PUBLISHED" and kinds[1].occurred_at == datetime.fromtimestamp(1623232569.146, UTC)


def test_account_pushes_and_ignored_ones() -> None:
    expiring = _push(
        8,
        {"app_key": "100001", "auth_expiry_time": 1627542238, "seller_id": "1000165972"},
        seller_id="null",
        timestamp=1627416758,
    )
    [event] = webhooks.parse({}, expiring)
    assert (event.kind, event.platform_shop_id) == ("authorization_expiring", "1000165972")
    closed = webhooks.parse({}, _push(13, {"status": "close"}))[0]
    assert closed.kind == "shop_deauthorized" and closed.status == "close"
    normal = webhooks.parse({}, _push(13, {"status": "normal"}))[0]
    stock = webhooks.parse({}, _push(6, {"seller_sku": "A", "sku_id": 1, "real_quantity": 4}))[0]
    review = webhooks.parse({}, _push(21, {"review_id": 5}))[0]
    assert {normal.kind, stock.kind, review.kind} == {"ignored"}
    assert (
        stock.dedupe_key
        == webhooks.parse({}, _push(6, {"seller_sku": "A", "sku_id": 1, "real_quantity": 4}))[0].dedupe_key
        != review.dedupe_key
    )
    with pytest.raises(ValidationFailed):
        webhooks.parse({}, b"not json")


async def test_sandbox_product_pushes_verify_and_parse(env: Env) -> None:
    _seed(env, 1, variants=2)
    listing = next(iter(env.shop.listings.values()))
    app = AppCredentials(APP)
    for kind, expected in (("product_changed", "product_changed"), ("product_deleted", "product_deleted")):
        headers, body, _url = env.sandbox.signed_push(env.shop, {"kind": kind, "listing": listing})
        lowered = {key.lower(): value for key, value in headers.items()}
        assert lowered["authorization"] == lowered["authorization"].lower(), "push signatures are lowercase hex"
        assert webhooks.verify(lowered, body, app, ["old-secret", APP["app_secret"]], "")
        assert not webhooks.verify({}, body, app, [APP["app_secret"]], "")
        [event] = webhooks.parse(headers, body)
        assert (event.kind, event.entity_id, event.platform_shop_id) == (expected, listing.item_id, SELLER)
    assert list(Sandbox.webhook_retry_schedule) == [1800.0] * 12


async def test_an_image_upload_sends_the_signed_params_as_form_fields_beside_the_file(env: Env) -> None:
    """UploadImage (docs/platforms/listings/lazada.md): multipart, the file ``image`` out of the signature, which the
    sandbox checks over the other fields; the answer is the Lazada-hosted URL CreateProduct takes."""
    url = await env.client.upload_image(b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image/jpeg")
    assert url in env.sandbox.issued_images


async def test_an_image_over_the_limit_is_refused_with_the_platforms_code(env: Env) -> None:
    with pytest.raises(PermanentError) as refused:
        await env.client.upload_image(b"\xff\xd8\xff" + b"\x00" * (1024 * 1024), "image/jpeg")
    assert getattr(refused.value, "code", None) == "303"
    assert not env.sandbox.issued_images
