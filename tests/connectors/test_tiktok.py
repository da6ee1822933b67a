"""TikTok Shop specifics the contract suite does not cover: the timestamp window, shop_cipher rules, error shapes
and codes, rotating refresh tokens that keep the authorization's expiry, search and id caps, the search ``status``
filter (ALL returns DELETED and DRAFT products; only linkable products are adopted or pulled), the 10,000-result
search cap and the update-time split, one product per price/stock call with per-SKU errors, idempotent creates,
one line item per unit, the per-API rate limit and every webhook type. Real HTTP against the in-process sandbox.
"""

from __future__ import annotations

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
from nfsync.connectors.base.client import AppCredentials, ClientSettings, HttpRequest, HttpResponse, ShopRef
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded, ValidationFailed
from nfsync.connectors.base.models import ListingDraft, PriceUpdate, StockUpdate, TokenPair, VariantDraft
from nfsync.connectors.base.policy import Action
from nfsync.connectors.base.sandbox import SbShop
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.tiktok import PLATFORM, signing, webhooks
from nfsync.connectors.tiktok import errors as codes
from nfsync.connectors.tiktok.client import API_BASE, AUTH_BASE, TOKEN_REFRESH, Client
from nfsync.connectors.tiktok.mapping import PRODUCT_STATUS
from nfsync.connectors.tiktok.sandbox import SANDBOX, Sandbox
from tests.connectors.listable import listable

APP = dict(SANDBOX.sample_app)
ACCESS, REFRESH = "tiktok-access-token-0001", "tiktok-refresh-token-0001"
SHOP_ID = "7494049642642441621"
SEARCH = "/product/202502/products/search"
SHOPS = "/authorization/202309/shops"
ORDERS = "/order/202507/orders"


def _client(
    sandbox: Sandbox, shop: SbShop, session: aiohttp.ClientSession, app: dict[str, str] | None = None, **extra: str
) -> Client:
    ref = SANDBOX.shop_ref(shop, sandbox.base_url)
    tokens = MemoryTokenProvider(TokenPair(access_token=Secret(ACCESS), refresh_token=Secret(REFRESH)))
    settings = ClientSettings(base_url=sandbox.base_url, backoff_base=0.01, backoff_cap=0.2, read_timeout=3)
    return Client(
        settings,
        AppCredentials(app or APP),
        ShopRef(ref.platform_shop_id, {**ref.extra, **extra}),
        session=session,
        tokens=tokens,
        limiter=LocalRateLimiter(),
    )


@dataclass
class Env:
    sandbox: Sandbox
    shop: SbShop
    client: Client
    session: aiohttp.ClientSession

    def client_for(self, app: dict[str, str] | None = None, **extra: str) -> Client:
        return _client(self.sandbox, self.shop, self.session, app, **extra)

    async def raw(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        token: str | None = ACCESS,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One hand-signed request, as TikTok's docs describe it."""
        data = json.dumps(body).encode() if body is not None else None
        signed = signing.sign_request(
            app_key=APP["app_key"],
            app_secret=secret or APP["app_secret"],
            path=path,
            timestamp=int(time.time()) if timestamp is None else timestamp,
            access_token=token,
            params=params or {},
            body=data,
        )
        headers = {**signed.headers, **({"Content-Type": "application/json"} if data else {})}
        url = self.sandbox.base_url + path
        async with self.session.request(method, url, params=signed.query, headers=headers, data=data) as response:
            return response.status, await response.json()

    def cipher(self) -> str:
        return self.shop.extra["shop_cipher"]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    sandbox = Sandbox(APP, seed=11, webhook_retry_scale=0.001)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop(SHOP_ID, "TikTok test shop", access_token=ACCESS, refresh_token=REFRESH)
        yield Env(sandbox, shop, _client(sandbox, shop, session), session)


def _envelope(body: dict[str, Any]) -> None:
    assert set(body) == {"code", "message", "request_id", "data"} and isinstance(body["code"], int)


def _seed(env: Env, count: int, variants: int = 1, *, spread: float = 0.0) -> list[str]:
    now, ids = time.time(), []
    for i in range(count):
        listing = env.sandbox.add_listing(
            env.shop,
            f"Item {i}",
            [
                {"sku": f"TT-{i:05d}-{v}", "price": "120000", "stock": 5, "options": {"Size": str(v)}}
                for v in range(variants)
            ],
        )
        listing.created_at = listing.updated_at = now - i * spread
        ids.append(listing.item_id)
    return ids


# ------------------------------------------------------------------------------------- signing and tokens


async def test_timestamp_outside_minus_5_min_plus_30_s_is_rejected(env: Env) -> None:
    now = int(time.time())
    for stamp in (now - 310, now + 40):
        status, body = await env.raw("GET", SHOPS, timestamp=stamp)
        _envelope(body)
        assert (status, str(body["code"])) == (401, codes.INVALID_CREDENTIALS) and "timestamp" in body["message"]
    for stamp in (now - 280, now + 20):
        status, body = await env.raw("GET", SHOPS, timestamp=stamp)
        assert (status, body["code"]) == (200, 0)


async def test_wrong_sign_is_106001(env: Env) -> None:
    status, body = await env.raw("GET", SHOPS, secret=APP["app_secret"] + "x")
    _envelope(body)
    assert (status, str(body["code"]), body["data"]) == (401, codes.INVALID_SIGN, None)
    assert APP["app_secret"] not in json.dumps(body)


async def test_body_is_signed(env: Env) -> None:
    """The sandbox checks the signature over the exact body bytes: a changed body is a bad sign."""
    data = b'{"seller_skus":["A"]}'
    signed = signing.sign_request(
        app_key=APP["app_key"],
        app_secret=APP["app_secret"],
        path=SEARCH,
        timestamp=int(time.time()),
        access_token=ACCESS,
        params={"shop_cipher": env.cipher(), "page_size": "10"},
        body=data,
    )
    headers = {**signed.headers, "Content-Type": "application/json"}
    async with env.session.post(
        env.sandbox.base_url + SEARCH, params=signed.query, headers=headers, data=b'{"seller_skus":["B"]}'
    ) as response:
        assert str((await response.json())["code"]) == codes.INVALID_SIGN


async def test_shop_cipher_required_refused_and_matched(env: Env) -> None:
    status, body = await env.raw("POST", SEARCH, params={"page_size": "10"}, body={})
    assert (status, str(body["code"])) == (400, codes.MISSING_SHOP_CIPHER)
    status, body = await env.raw("GET", SHOPS, params={"shop_cipher": env.cipher()})
    assert (status, str(body["code"])) == (400, codes.INVALID_CREDENTIALS) and "Unexpected" in body["message"]
    other = env.sandbox.add_shop("7000000000000000001", access_token="other-shop-access-token")
    params = {"shop_cipher": other.extra["shop_cipher"], "page_size": "10"}
    status, body = await env.raw("POST", SEARCH, params=params, body={})
    assert (status, str(body["code"])) == (401, codes.SHOP_MISMATCH)


async def test_expired_and_unknown_access_tokens(env: Env) -> None:
    status, body = await env.raw("GET", SHOPS, token="not-a-token")
    assert (status, str(body["code"])) == (401, codes.INVALID_CREDENTIALS)
    env.shop.access[ACCESS].expires_at = 0
    status, body = await env.raw("GET", SHOPS)
    assert (status, str(body["code"])) == (401, codes.ACCESS_EXPIRED)
    assert codes.ERROR_TABLE.classify(status, str(body["code"])) is Action.REFRESH


async def test_refresh_rotates_the_token_and_keeps_the_authorization_expiry(env: Env) -> None:
    authorization_ends = env.shop.refresh[REFRESH].expires_at
    pair = await env.client.refresh_access(Secret(REFRESH))
    assert pair.refresh_token is not None and pair.refresh_token.reveal() != REFRESH
    assert pair.refresh_expires_at == datetime.fromtimestamp(int(authorization_ends), UTC)
    assert pair.access_expires_at is not None
    assert timedelta(days=6, hours=23) < pair.access_expires_at - datetime.now(UTC) <= timedelta(days=7)
    with pytest.raises(ReauthorizationNeeded) as spent:
        await env.client.refresh_access(Secret(REFRESH))
    assert spent.value.fields["code"] == codes.AUTH_RECORD_NOT_FOUND
    env.shop.refresh[pair.refresh_token.reveal()].expires_at = time.time() - 1
    with pytest.raises(ReauthorizationNeeded) as expired:
        await env.client.refresh_access(pair.refresh_token)
    assert expired.value.fields["code"] == codes.REFRESH_EXPIRED


async def test_exchange_code_returns_the_shops_and_their_ciphers_once(env: Env) -> None:
    code = env.sandbox.issue_code(SHOP_ID)
    pair = await env.client.exchange_code(code)
    assert pair.shop_ids == [SHOP_ID] and pair.extra["shop_ciphers"] == {SHOP_ID: env.cipher()}
    assert pair.platform_account_id and pair.extra["user_type"] == 0
    with pytest.raises(PermanentError):
        await env.client.exchange_code(code)  # a code is single use


async def test_authorize_url(env: Env) -> None:
    legacy = env.client.authorize_url("https://crm.example/cb", "s-1")
    assert legacy == f"{env.sandbox.base_url}/oauth/authorize?app_key={APP['app_key']}&state=s-1"
    service = env.client_for({**APP, "service_id": "7431458374265161478"}).authorize_url("https://x", "s-2")
    assert service == "https://services.tiktokshop.com/open/authorize?service_id=7431458374265161478&state=s-2"


async def test_signing_of_api_calls_and_of_token_calls() -> None:
    async with aiohttp.ClientSession() as session:
        client = Client(
            ClientSettings(base_url=API_BASE),
            AppCredentials(APP),
            None,
            session=session,
            tokens=None,
            limiter=LocalRateLimiter(),
        )
    assert client._auth_base() == AUTH_BASE
    token_call = client.sign(HttpRequest("GET", TOKEN_REFRESH, {"refresh_token": "r"}), None, 0.0)
    assert token_call.params["app_secret"] == APP["app_secret"] and "sign" not in token_call.params
    api_call = client.sign(HttpRequest("GET", SHOPS), TokenPair(access_token=Secret(ACCESS)), 1623812664.9)
    assert api_call.headers == {"x-tts-access-token": ACCESS} and api_call.params["timestamp"] == "1623812664"
    base = signing.base_string(SHOPS, api_call.params)
    assert api_call.params["sign"] == signing.signature(base, APP["app_secret"]) and ACCESS not in base.decode()


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        (429, codes.THROTTLED, Action.THROTTLE),
        (503, None, Action.THROTTLE),
        (401, codes.ACCESS_EXPIRED, Action.REFRESH),
        (401, codes.INVALID_SIGN, Action.PERMANENT),
        (401, codes.INVALID_CREDENTIALS, Action.PERMANENT),
        (500, codes.INTERNAL, Action.RETRY),
        (200, codes.TIMEOUT, Action.RETRY),
        (200, "10002014", Action.RETRY),
        (200, codes.INVALID_RESPONSE, Action.RETRY),
        (401, codes.SCOPE_MISSING, Action.REAUTHORIZE),
        (400, codes.AUTH_RECORD_NOT_FOUND, Action.REAUTHORIZE),
        (400, codes.MISSING_SHOP_CIPHER, Action.PERMANENT),
        (400, codes.PRODUCT_NOT_FOUND, Action.PERMANENT),
    ],
)
def test_error_table(status: int, code: str | None, action: Action) -> None:
    assert codes.ERROR_TABLE.classify(status, code) is action


async def test_error_of_reads_the_envelope(env: Env) -> None:
    client = env.client
    assert client.error_of(HttpResponse(200, {}, b'{"code":0,"data":{}}')) == (None, "")
    assert client.error_of(HttpResponse(401, {}, b'{"code":106001,"message":"bad"}')) == (codes.INVALID_SIGN, "bad")
    assert client.error_of(HttpResponse(200, {}, b'{"truncated": '))[0] == codes.INVALID_RESPONSE
    assert client.error_of(HttpResponse(502, {}, b"<html>"))[0] is None


# ----------------------------------------------------------------------------------------------- products


async def test_search_caps_are_enforced_by_the_sandbox(env: Env) -> None:
    base = {"shop_cipher": env.cipher()}
    status, body = await env.raw("POST", SEARCH, params={**base, "page_size": "101"}, body={})
    assert (status, str(body["code"])) == (400, codes.PAGE_SIZE_INVALID)
    skus = {"seller_skus": [f"S{i}" for i in range(11)]}
    status, body = await env.raw("POST", SEARCH, params={**base, "page_size": "10"}, body=skus)
    assert (status, str(body["code"])) == (400, codes.TOO_MANY_SELLER_SKUS)
    status, body = await env.raw("POST", SEARCH, params={**base, "page_size": "10", "page_token": "%%"}, body={})
    assert (status, str(body["code"])) == (400, codes.PAGE_CURSOR_INVALID)


async def test_search_past_the_result_cap_is_refused_and_the_client_splits_the_window(env: Env) -> None:
    env.sandbox.search_result_cap = 250
    ids = _seed(env, 700, spread=37.0)
    page = {"shop_cipher": env.cipher(), "page_size": "100"}
    status, body = await env.raw("POST", SEARCH, params=page, body={})
    assert body["data"]["total_count"] == 700
    status, body = await env.raw(
        "POST", SEARCH, params={**page, "page_token": body["data"]["next_page_token"]}, body={}
    )
    token = body["data"]["next_page_token"]  # results 200-299 would pass the cap of 250
    status, body = await env.raw("POST", SEARCH, params={**page, "page_token": token}, body={})
    assert (status, str(body["code"])) == (400, codes.SEARCH_RESULT_CAP)
    seen = [listing.platform_item_id async for listing in env.client.iter_listings()]  # split on the refusal
    assert sorted(seen) == sorted(ids)
    env.client.search_result_cap = 250
    calls = env.client.stats["calls"]
    seen = [listing.platform_item_id async for listing in env.client.iter_listings()]  # split on total_count
    assert sorted(seen) == sorted(ids) and env.client.stats["calls"] - calls < 80
    since = datetime.fromtimestamp(time.time() - 100 * 37.0, UTC)
    recent = [listing.platform_item_id async for listing in env.client.iter_listings(since)]
    assert set(recent) == set(ids[:100]) or set(recent) == set(ids[:101])


async def test_listings_carry_variants_price_stock_and_status(env: Env) -> None:
    [item_id] = _seed(env, 1, variants=3)
    [listing] = await env.client.get_listings([item_id, "123456789"])
    assert listing.platform_item_id == item_id and listing.status == "active" and len(listing.variants) == 3
    assert {(v.price, v.stock) for v in listing.variants} == {(Decimal("120000"), 5)}
    assert listing.variants[1].options == {"Size": "1"} and listing.variants[0].platform_variant_id
    found = await env.client.find_by_sku("TT-00000-2")
    assert found is not None and found.platform_item_id == item_id
    assert await env.client.find_by_sku("NOPE") is None


def _product(env: Env, sku: str, status: str = "active") -> str:
    """One single-SKU product in a sandbox listing status (``render.LISTING_STATUS``)."""
    listing = env.sandbox.add_listing(
        env.shop, f"{status} {sku}", [{"sku": sku, "price": "120000", "stock": 5}], status=status
    )
    return listing.item_id


async def _search(env: Env, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return await env.raw("POST", SEARCH, params={"shop_cipher": env.cipher(), "page_size": "100"}, body=body)


async def _statuses(env: Env, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(product id, status) of every product a search returns, in its order."""
    status, answer = await _search(env, body)
    assert status == 200, answer
    return [(p["id"], p["status"]) for p in answer["data"]["products"]]


async def test_search_status_defaults_to_all_filters_one_status_and_refuses_others(env: Env) -> None:
    """Search Products' ``status`` (search-products.spec.json): one value, default ALL, which returns DELETED and
    DRAFT products too; an undocumented value is the parameter error."""
    ids = {status: _product(env, f"S-{status}", status) for status in ("active", "inactive", "deleted", "draft")}
    everything = [
        (ids["active"], "ACTIVATE"),
        (ids["inactive"], "SELLER_DEACTIVATED"),
        (ids["deleted"], "DELETED"),
        (ids["draft"], "DRAFT"),
    ]
    assert await _statuses(env, {}) == everything
    assert await _statuses(env, {"status": "ALL"}) == everything
    assert await _statuses(env, {"status": "DELETED"}) == [(ids["deleted"], "DELETED")]
    assert await _statuses(env, {"status": "DRAFT", "seller_skus": ["S-draft"]}) == [(ids["draft"], "DRAFT")]
    assert await _statuses(env, {"status": "ACTIVATE", "seller_skus": ["S-draft"]}) == []
    for wrong in ("LIVE", "activate", ["ACTIVATE", "SELLER_DEACTIVATED"], 1):
        status, body = await _search(env, {"status": wrong})
        _envelope(body)
        assert (status, str(body["code"]), body["data"]) == (400, codes.INPUT_INVALID, None), wrong


async def test_find_by_sku_never_adopts_a_deleted_or_draft_product(env: Env) -> None:
    """Issue #14: a DELETED and a DRAFT product hold the SKU, no live one does: nothing is adopted, so the create
    makes a new product."""
    deleted, draft = _product(env, "X-1", "deleted"), _product(env, "X-1", "draft")
    assert await _statuses(env, {"seller_skus": ["X-1"]}) == [(deleted, "DELETED"), (draft, "DRAFT")]
    assert await env.client.find_by_sku("X-1") is None
    draft_of_crm = ListingDraft(
        name="A CRM product of the X family",
        category_id="600001",
        variants=[VariantDraft(sku="X-1", price=Decimal(5), stock=1)],
    )
    draft_of_crm = await listable(env.client, draft_of_crm)
    created = await env.client.create_or_adopt(draft_of_crm)
    assert not created.adopted and created.listing.platform_item_id not in (deleted, draft)
    assert env.sandbox.counters.creates == 1 and env.shop.listings[created.listing.platform_item_id].status == "active"


async def test_find_by_sku_takes_the_live_product_over_a_deleted_one(env: Env) -> None:
    deleted, live = _product(env, "X-2", "deleted"), _product(env, "X-2")
    assert await _statuses(env, {"seller_skus": ["X-2"]}) == [(deleted, "DELETED"), (live, "ACTIVATE")]
    found = await env.client.find_by_sku("X-2")
    assert found is not None and (found.platform_item_id, found.status) == (live, "active")
    _product(env, "X-3", "inactive")
    live = _product(env, "X-3")
    found = await env.client.find_by_sku("X-3")
    assert found is not None and found.platform_item_id == live  # a live product wins over a deactivated one too
    deactivated = _product(env, "X-6", "inactive")  # the seller's own product, reactivatable: still linked
    found = await env.client.find_by_sku("X-6")
    assert found is not None and (found.platform_item_id, found.status) == (deactivated, "inactive")


async def test_iter_listings_skips_deleted_draft_and_other_unlinked_products(env: Env) -> None:
    statuses = ("active", "inactive", "deleted", "draft", "pending", "failed", "platform_deactivated", "frozen")
    ids = {status: _product(env, f"L-{status}", status) for status in statuses}
    assert {status for _, status in await _statuses(env, {})} == set(PRODUCT_STATUS)  # all 8 documented statuses
    pulled = [listing async for listing in env.client.iter_listings()]
    assert sorted(listing.platform_item_id for listing in pulled) == sorted([ids["active"], ids["inactive"]])
    since = datetime.fromtimestamp(time.time() - 60, UTC)
    recent = [listing.platform_item_id async for listing in env.client.iter_listings(since)]
    assert sorted(recent) == sorted([ids["active"], ids["inactive"]])


async def test_unlinked_products_are_dropped_even_when_the_status_filter_is_ignored(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client checks every answer's ``status`` too: a search that ignored the filter links nothing more."""
    monkeypatch.setattr("nfsync.connectors.tiktok.sandbox.checks.search_status", lambda _body: "ALL")
    deleted, draft, live = _product(env, "X-4", "deleted"), _product(env, "X-4", "draft"), _product(env, "X-5")
    assert await env.client.find_by_sku("X-4") is None
    pulled = [listing.platform_item_id async for listing in env.client.iter_listings()]
    assert pulled == [live] and deleted not in pulled and draft not in pulled


async def test_create_is_idempotent_on_the_key_and_edit_keeps_sku_ids(env: Env) -> None:
    shirt = ListingDraft(
        name="Shirt of cotton, short sleeves",
        description="<p>cotton</p>",
        category_id="600001",
        idempotency_key="k-1",
        variants=[VariantDraft(sku="SH-S", price=Decimal("99000"), stock=3, options={"Size": "S"})],
    )
    draft = await listable(env.client, shirt)
    first = await env.client._create_listing(draft)
    again = await env.client._create_listing(draft)  # a blind repeat, as after a lost response
    assert first.platform_item_id == again.platform_item_id and env.sandbox.counters.creates == 1
    hat = [VariantDraft(sku="HAT-1", price=Decimal(5), stock=1)]
    unkeyed = draft.model_copy(
        update={"idempotency_key": None, "name": "Hat of straw with a wide brim", "variants": hat}
    )
    assert (await env.client._create_listing(unkeyed)).platform_item_id == (
        await env.client._create_listing(unkeyed)
    ).platform_item_id
    grown = draft.model_copy(
        update={"variants": [*draft.variants, VariantDraft(sku="SH-M", price=Decimal(1), stock=1)]}
    )
    edited = await env.client.update_listing(first.platform_item_id, grown)
    assert edited.variants[0].platform_variant_id == first.variants[0].platform_variant_id
    assert edited.variants[1].platform_variant_id not in (None, first.variants[0].platform_variant_id)
    assert [v.sku for v in env.shop.listings[first.platform_item_id].variants] == ["SH-S", "SH-M"]
    assert env.sandbox.duplicate_listings() == 0


async def test_create_without_a_category_is_permanent(env: Env) -> None:
    draft = ListingDraft(name="No category", variants=[VariantDraft(sku="NC-1", price=Decimal(5), stock=1)])
    with pytest.raises(PermanentError) as failed:
        await env.client._create_listing(draft)
    assert failed.value.fields["code"] == codes.CATEGORY_NOT_FOUND


async def test_stock_one_product_per_call_with_per_sku_errors(env: Env) -> None:
    first, second = _seed(env, 2, variants=3)
    variants = {v.sku: v for listing in env.shop.listings.values() for v in listing.variants}
    updates = [
        StockUpdate(
            platform_item_id=first, platform_variant_id=variants["TT-00000-0"].variant_id, sku="TT-00000-0", quantity=0
        ),
        StockUpdate(platform_item_id=first, platform_variant_id="1", sku="WRONG-ID", quantity=4),
        StockUpdate(
            platform_item_id=first,
            platform_variant_id=variants["TT-00000-2"].variant_id,
            sku="TT-00000-2",
            quantity=100_000,
        ),
        StockUpdate(platform_item_id=second, platform_variant_id=None, sku="TT-00001-1", quantity=9),
        StockUpdate(platform_item_id=second, platform_variant_id=None, sku="NOT-THERE", quantity=9),
    ]
    await env.client.update_stock([])  # nothing to do, no call
    calls = env.client.stats["calls"]
    results = await env.client.update_stock(updates)
    assert env.client.stats["calls"] - calls == 4  # warehouses, product 1, Get Product 2, product 2
    assert [(r.sku, r.ok, r.error_code) for r in results] == [
        ("TT-00000-0", True, None),
        ("WRONG-ID", False, codes.SKU_NOT_FOUND),
        ("TT-00000-2", False, codes.INVENTORY_OUT_OF_RANGE),
        ("TT-00001-1", True, None),
        ("NOT-THERE", False, codes.SKU_NOT_FOUND),
    ]
    assert variants["TT-00000-0"].stock == 0 and variants["TT-00001-1"].stock == 9
    assert variants["TT-00000-2"].stock == 5 and all(r.error_message for r in results if not r.ok)


async def test_prices_per_product_and_item_level_failures(env: Env) -> None:
    first, second = _seed(env, 2)
    env.shop.listings[second].status = "inactive"
    updates = [
        PriceUpdate(platform_item_id=first, platform_variant_id=None, sku="TT-00000-0", price=Decimal("1E+5")),
        PriceUpdate(platform_item_id=second, platform_variant_id=None, sku="TT-00001-0", price=Decimal(7)),
        PriceUpdate(platform_item_id="999", platform_variant_id="1", sku="GONE", price=Decimal(7)),
    ]
    results = await env.client.update_prices(updates)
    assert [(r.sku, r.ok, r.error_code) for r in results] == [
        ("TT-00000-0", True, None),
        ("TT-00001-0", False, codes.PRODUCT_STATUS_INVALID),
        ("GONE", False, codes.PRODUCT_NOT_FOUND),
    ]
    assert env.shop.listings[first].variants[0].price == Decimal(100000)
    assert env.sandbox.counters.writes_per_sku == {"TT-00000-0": 1}


async def test_a_request_level_error_fails_the_batch_not_the_items(env: Env) -> None:
    [item_id] = _seed(env, 1)
    variant = env.shop.listings[item_id].variants[0]
    broken = env.client_for({**APP, "app_secret": APP["app_secret"] + "x"}, warehouse_id=env.shop.extra["warehouse_id"])
    with pytest.raises(PermanentError) as failed:
        await broken.update_stock(
            [StockUpdate(platform_item_id=item_id, platform_variant_id=variant.variant_id, sku=variant.sku, quantity=1)]
        )
    assert failed.value.fields["code"] == codes.INVALID_SIGN


# ------------------------------------------------------------------------------------------------- orders


async def test_order_detail_takes_at_most_50_ids_and_the_client_chunks(env: Env) -> None:
    _seed(env, 1)
    orders = [env.sandbox.add_order(env.shop, [{"sku": "TT-00000-0"}], status="UNPAID") for _ in range(120)]
    ids = [o.order_id for o in orders]
    status, body = await env.raw("GET", ORDERS, params={"shop_cipher": env.cipher(), "ids": ",".join(ids[:51])})
    assert (status, str(body["code"])) == (400, codes.INVALID_CREDENTIALS)
    calls = env.client.stats["calls"]
    found = await env.client.get_orders([*ids, "576000000000000000"])
    assert [o.platform_order_id for o in found] == ids and env.client.stats["calls"] - calls == 3


async def test_one_line_item_per_unit_becomes_one_line(env: Env) -> None:
    [item_id] = _seed(env, 1, variants=2)
    order = env.sandbox.add_order(
        env.shop,
        [{"sku": "TT-00000-0", "quantity": 3}, {"sku": "TT-00000-1"}],
        status="AWAITING_SHIPMENT",
        buyer={"name": "An", "email": "an@example.com"},
    )
    order.shipping_fee = Decimal(15000)
    status, body = await env.raw("GET", ORDERS, params={"shop_cipher": env.cipher(), "ids": order.order_id})
    assert status == 200 and len(body["data"]["orders"][0]["line_items"]) == 4
    [mapped] = await env.client.get_orders([order.order_id])
    assert [(line.sku, line.quantity, line.unit_price) for line in mapped.lines] == [
        ("TT-00000-0", 3, Decimal(120000)),
        ("TT-00000-1", 1, Decimal(120000)),
    ]
    assert mapped.lines[0].platform_item_id == item_id and mapped.lines[0].platform_line_id == order.lines[0].line_id
    assert (mapped.subtotal, mapped.shipping_fee, mapped.total) == (Decimal(480000), Decimal(15000), Decimal(495000))
    assert mapped.buyer == {"name": "An", "email": "an@example.com"} and mapped.status == "AWAITING_SHIPMENT"
    assert mapped.created_at.tzinfo is UTC and mapped.currency == "VND"


async def test_iter_orders_is_half_open_on_update_time(env: Env) -> None:
    _seed(env, 1)
    start = int(time.time()) - 3600
    for offset in (-1, 0, 599, 600):
        order = env.sandbox.add_order(env.shop, [{"sku": "TT-00000-0"}], status="UNPAID")
        order.updated_at = order.created_at = start + offset
    frm, to = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(start + 600, UTC)
    found = [int(o.updated_at.timestamp()) async for o in env.client.iter_orders(frm, to)]
    assert found == [start, start + 599]


# --------------------------------------------------------------------------------------------- rate limit


async def test_rate_limit_is_per_app_shop_and_api(env: Env) -> None:
    env.sandbox.rate_limit = 2
    params = {"shop_cipher": env.cipher(), "page_size": "10"}
    answers = [await env.raw("POST", SEARCH, params=params, body={}) for _ in range(3)]
    assert [status for status, _ in answers] == [200, 200, 429]
    _envelope(answers[2][1])
    assert str(answers[2][1]["code"]) == codes.THROTTLED
    assert (await env.raw("GET", SHOPS))[0] == 200  # another API has its own budget


# ----------------------------------------------------------------------------------------------- webhooks


def _push(kind: int, data: dict[str, Any], notification: str | None = "7327112393057371910") -> bytes:
    envelope: dict[str, Any] = {"type": kind, "shop_id": SHOP_ID, "timestamp": 1644412885, "data": data}
    if notification is not None:
        envelope["tts_notification_id"] = notification
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (
            1,
            {"order_id": "576486316948490001", "order_status": "UNPAID", "update_time": 1644412800},
            ("order_status_changed", "576486316948490001", "UNPAID"),
        ),
        (
            15,
            {
                "product_id": "123456789",
                "change_source": "SELLER_CENTER",
                "changed_fields": ["title"],
                "update_time": 1644412800,
            },
            ("product_changed", "123456789", None),
        ),
        (
            16,
            {"product_id": 576486316948490000, "update_time": 1644412800},
            ("product_changed", "576486316948490000", None),
        ),
        (
            5,
            {"product_id": 576486316948490000, "status": "PRODUCT_AUDIT_FAILURE", "update_time": 1644412800},
            ("product_changed", "576486316948490000", "PRODUCT_AUDIT_FAILURE"),
        ),
        (
            27,
            {
                "product_id": "7323",
                "sku_id": "7324",
                "current_inventory_status": "LOW_STOCK",
                "update_time": 1644412800,
            },
            ("product_changed", "7323", "LOW_STOCK"),
        ),
        (6, {"message": "Shop_id {xxx} is deauthorized from your APP by merchant."}, ("shop_deauthorized", None, None)),
        (7, {"message": "expiring", "expiration_time": "1627587506"}, ("authorization_expiring", None, None)),
        (
            11,
            {"order_id": "1", "cancel_status": "CANCELLATION_REQUEST_PENDING"},
            ("order_status_changed", "1", "CANCELLATION_REQUEST_PENDING"),
        ),
        (4, {"sc_type": "SPLIT", "package_list": [], "update_time": 1644412800}, ("ignored", None, None)),
    ],
)
def test_parse_every_kind(kind: int, data: dict[str, Any], expected: tuple[str, str | None, str | None]) -> None:
    [event] = webhooks.parse({}, _push(kind, data))
    assert (event.kind, event.entity_id, event.status) == expected
    assert event.dedupe_key == "7327112393057371910" and event.platform_shop_id == SHOP_ID
    stamp = 1644412800 if "update_time" in data else 1644412885
    assert event.occurred_at == datetime.fromtimestamp(stamp, UTC)


def test_parse_without_notification_id_and_garbage() -> None:
    [event] = webhooks.parse({}, _push(1, {"order_id": "9", "order_status": "CANCEL"}, notification=None))
    assert event.dedupe_key == f"1:{SHOP_ID}:9:1644412885"
    for body in (b"not json", b"[1]", b'{"type": "x"}'):
        with pytest.raises(ValidationFailed):
            webhooks.parse({}, body)


def test_verify_uses_raw_bytes_any_active_secret_and_any_header_case() -> None:
    app = AppCredentials(APP)
    body = _push(1, {"order_id": "9", "order_status": "CANCEL"})
    signature = signing.webhook_signature(body, APP["app_key"], APP["app_secret"])
    assert webhooks.verify({"authorization": signature}, body, app, ["old-secret", APP["app_secret"]], "u")
    assert webhooks.verify({"Authorization": signature.upper()}, body, app, [APP["app_secret"]], "u")
    assert not webhooks.verify({"Authorization": signature}, body + b" ", app, [APP["app_secret"]], "u")
    assert not webhooks.verify({}, body, app, [APP["app_secret"]], "u")
    assert not webhooks.verify({"Authorization": signature}, body, app, [], "u")


async def test_sandbox_pushes_and_schedule(env: Env) -> None:
    [item_id] = _seed(env, 1)
    headers, body, _ = env.sandbox.signed_push(
        env.shop, {"kind": "product_changed", "listing": env.shop.listings[item_id]}
    )
    app = AppCredentials(APP)
    assert PLATFORM.verify_webhook(headers, body, app, SANDBOX.webhook_secrets(app, env.sandbox), "")
    [event] = PLATFORM.parse_webhook(headers, body)
    assert (event.kind, event.entity_id, event.platform_shop_id) == ("product_changed", item_id, SHOP_ID)
    assert tuple(Sandbox.webhook_retry_schedule) == (120.0, 1800.0, 10800.0, 43200.0)
    assert env.sandbox.next_order_status("UNPAID") == "AWAITING_SHIPMENT"
    assert env.sandbox.next_order_status("COMPLETED") == "COMPLETED"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_an_image_upload_is_multipart_signed_without_its_body_and_answers_a_uri(env: Env) -> None:
    """Upload Product Image (docs/platforms/listings/tiktok.md section 4): no shop_cipher, the part ``data``, the
    body left out of the signature; the sandbox checks the signature, so a body signed in would be refused."""
    uri = await env.client.upload_image(PNG, "image/png")
    assert uri in env.sandbox.store.images


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a" + b"\x00" * 10, codes.UPLOAD_FORMAT),
        (b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), codes.UPLOAD_TOO_LARGE),
    ],
)
async def test_an_image_the_platform_refuses_is_a_permanent_error_with_its_code(
    env: Env, data: bytes, code: str
) -> None:
    with pytest.raises(PermanentError) as refused:
        await env.client.upload_image(data, "image/jpeg")
    assert getattr(refused.value, "code", None) == code
    assert not env.sandbox.store.images


async def test_an_upload_that_is_not_multipart_is_refused(env: Env) -> None:
    status, body = await env.raw("POST", "/product/202309/images/upload", body={"data": "aGVsbG8="})
    assert (status, str(body["code"])) == (400, codes.NOT_MULTIPART)
