"""WooCommerce hosts that strip the ``Authorization`` header (issue #14).

WC-DOC _authentication.md "Authentication over HTTPS" (woocommerce/woocommerce-rest-api-docs): some servers do not
pass the header to PHP; the keys may then be sent as ``consumer_key``/``consumer_secret`` query parameters over
HTTPS. Core then sees no user and the endpoint answers 401 ``woocommerce_rest_cannot_*`` (woocommerce/woocommerce
includes/class-wc-rest-authentication.php; the posts controller's permission checks). The sandbox serves real TLS
here, with a self-signed certificate the test session trusts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from nfsync.connectors.base.errors import ReauthorizationNeeded
from nfsync.connectors.base.models import PriceUpdate
from nfsync.connectors.base.sandbox import Handler
from nfsync.connectors.woocommerce import client as client_module
from nfsync.connectors.woocommerce.client import Client
from nfsync.connectors.woocommerce.sandbox import Sandbox
from nfsync.connectors.woocommerce.sandbox.tls import self_signed
from tests.connectors.test_woocommerce import APP, Store, make_client, simple_listings

SECRET = APP["consumer_secret"]


@pytest.fixture
async def https_store() -> AsyncIterator[Store]:
    tls = self_signed()
    sandbox = Sandbox(APP, seed=3, tls=tls)
    connector = aiohttp.TCPConnector(ssl=tls.client)
    async with sandbox.running(), aiohttp.ClientSession(connector=connector) as session:
        shop = sandbox.add_shop("woo-tls", "TLS shop")
        yield Store(sandbox, shop, make_client(sandbox, shop, session, None), session)


def seen_queries(sandbox: Sandbox) -> list[dict[str, str]]:
    return [dict(query) for query in sandbox.seen_queries]


@pytest.fixture(autouse=True)
def record_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every API request's query string, as the store received it."""
    original = Sandbox.build_app

    def build_app(self: Sandbox) -> web.Application:
        self.seen_queries = []
        app = original(self)

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            if "/wp-json/wc/" in request.path:
                self.seen_queries.append(request.query)
            return await handler(request)

        app.middlewares.insert(0, record)
        return app

    monkeypatch.setattr(Sandbox, "build_app", build_app)


async def test_basic_auth_over_https_sends_no_keys_in_the_url(https_store: Store) -> None:
    simple_listings(https_store, 2)
    assert https_store.sandbox.base_url.startswith("https://")
    assert len([x async for x in https_store.client.iter_listings()]) == 2
    assert all("consumer_secret" not in q for q in seen_queries(https_store.sandbox))


async def test_a_stripped_header_falls_back_to_query_keys_once_and_is_remembered(https_store: Store) -> None:
    """Before: the 401 woocommerce_rest_cannot_view was REAUTHORIZE - the merchant was asked for keys that work."""
    https_store.sandbox.strip_authorization = True
    item_id = simple_listings(https_store, 1)[0]
    assert len([x async for x in https_store.client.iter_listings()]) == 1
    queries = seen_queries(https_store.sandbox)
    assert "consumer_secret" not in queries[0] and queries[1]["consumer_secret"] == SECRET
    writer = make_client(https_store.sandbox, https_store.shop, https_store.session, None)  # a new client, same store
    before = len(queries)
    results = await writer.update_prices(
        [PriceUpdate(platform_item_id=item_id, platform_variant_id=None, sku="S-0000", price=Decimal(7))]
    )
    assert results[0].ok and https_store.shop.listings[item_id].variants[0].price == Decimal(7)
    later = seen_queries(https_store.sandbox)[before:]
    assert len(later) == 1 and later[0]["consumer_key"] == APP["consumer_key"]  # straight to query keys


async def test_wrong_keys_after_the_fallback_still_need_reauthorization(https_store: Store) -> None:
    https_store.sandbox.strip_authorization = True
    client = https_store.client_for({**APP, "consumer_secret": "cs_wrong_secret_value"})
    with pytest.raises(ReauthorizationNeeded, match="Consumer secret is invalid") as raised:
        await client.get_shop_info()
    assert len(seen_queries(https_store.sandbox)) == 2  # the header try, the query try: no loop
    assert "cs_wrong_secret_value" not in str(raised.value)


async def test_no_credentials_seen_either_way_says_why(https_store: Store) -> None:
    """A host that drops the header AND the query keys (or where WordPress does not know it is behind HTTPS)."""
    https_store.sandbox.strip_authorization = True
    https_store.sandbox.keys.keys.clear()  # WooCommerce then sees no user for either form
    with pytest.raises(ReauthorizationNeeded, match="neither in the Authorization header nor") as raised:
        await https_store.client.get_shop_info()
    assert len(seen_queries(https_store.sandbox)) == 2
    assert SECRET not in str(raised.value)


async def test_the_fallback_is_logged_without_the_secret(https_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    https_store.sandbox.strip_authorization = True
    with caplog.at_level(logging.INFO):
        await https_store.client.get_shop_info()
    assert any("query-string" in r.getMessage() for r in caplog.records)
    assert all(SECRET not in r.getMessage() and SECRET not in str(r.args) for r in caplog.records)
    assert client_module.redact_url(f"https://s.example/wp-json/wc/v3/x?consumer_key=ck&consumer_secret={SECRET}") == (
        "https://s.example/wp-json/wc/v3/x?consumer_key=ck&consumer_secret=***"
    )


async def test_never_query_keys_over_plain_http(https_store: Store) -> None:
    """Over plain HTTP the keys would travel in the clear: the client signs with OAuth 1.0a whatever it remembers."""
    plain = Sandbox(APP, seed=5)
    async with plain.running(), aiohttp.ClientSession() as session:
        shop = plain.add_shop("woo-plain", "Plain shop")
        client: Client = make_client(plain, shop, session, None)
        client_module.QUERY_AUTH_STORES.add(client.store_url)
        plain.strip_authorization = True
        info = await client.get_shop_info()
        assert info.platform_shop_id == "woo-plain"
        assert all("consumer_secret" not in q for q in seen_queries(plain))
        assert all("oauth_signature" in q for q in seen_queries(plain))
