"""WooCommerce against its published reference (issue #14): each documented error example is classified as the docs
imply, each documented response sample is accepted by the parsers, and each request the client makes carries every
documented required field.

The documented facts are the project's own data in tests/contracts/woocommerce.json, each with its public source
(woocommerce/woocommerce-rest-api-docs, woocommerce/woocommerce core controllers)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.base.models import ListingDraft, PriceUpdate, StockUpdate, VariantDraft
from nfsync.connectors.base.policy import Action
from nfsync.connectors.base.sandbox import Handler
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.woocommerce import webhooks
from nfsync.connectors.woocommerce.errors import ERROR_TABLE
from nfsync.connectors.woocommerce.mapping import item_result, listing_of, order_of, variant_of
from nfsync.connectors.woocommerce.sandbox import Sandbox
from nfsync.connectors.woocommerce.signing import webhook_signature
from tests.connectors.test_woocommerce import APP, Store, make_client

CONTRACT: dict[str, Any] = json.loads((Path(__file__).parents[1] / "contracts" / "woocommerce.json").read_text())
CALLS: dict[str, Any] = CONTRACT["calls"]
EXAMPLES = [(name, example) for name, call in CALLS.items() for example in call["errors"]]
EXPECTED = {
    "retryable": {Action.RETRY},
    "permanent": {Action.PERMANENT},
    "reauthorize": {Action.REAUTHORIZE},  # keys are never refreshed (client.py: the query-key retry comes first)
    "throttled": {Action.THROTTLE},
}


def _example_id(call: str, example: dict[str, Any]) -> str:
    response = example["response"]
    code = response.get("code") or next(iter(response))
    return f"{call}:{example['status']}:{code}"


@pytest.mark.parametrize(("call", "example"), EXAMPLES, ids=[_example_id(c, e) for c, e in EXAMPLES])
def test_each_documented_error_is_classified_as_the_docs_imply(call: str, example: dict[str, Any]) -> None:
    response = example["response"]
    if example["kind"] == "item":  # inside a 200 batch answer: that item fails, the others go on
        entries = [entry for kind in ("create", "update", "delete") for entry in response.get(kind) or []]
        results = [item_result("SKU", entry) for entry in entries]
        codes = [e["error"]["code"] for e in entries]
        assert results and [(r.ok, r.error_code) for r in results] == [(False, code) for code in codes]
        return
    action = ERROR_TABLE.classify(example["status"], response.get("code"))
    assert action in EXPECTED[example["kind"]], (call, response, action, example["why"])


# ---------------------------------------------------------------------------------------------- documented samples


def test_the_documented_product_and_variation_samples_parse() -> None:
    for product in CALLS["GET /wp-json/wc/v3/products"]["response_sample"]:
        listing = listing_of(product, [])
        assert listing.platform_item_id == str(product["id"]) and listing.name == product["name"]
    single = CALLS["GET /wp-json/wc/v3/products/{id}"]["response_sample"]
    assert listing_of(single, []).platform_item_id == str(single["id"])
    for variation in CALLS["GET /wp-json/wc/v3/products/{product_id}/variations"]["response_sample"]:
        variant = variant_of(variation, variation=True)
        assert variant.platform_variant_id == str(variation["id"]) and variant.sku == variation["sku"]
        assert variant.price == Decimal(variation["regular_price"] or variation["price"] or 0)


def test_the_documented_order_sample_parses() -> None:
    for payload in CALLS["GET /wp-json/wc/v3/orders"]["response_sample"]:
        order = order_of(payload)
        assert order.platform_order_id == str(payload["id"]) and order.total == Decimal(payload["total"])
        assert [line.sku for line in order.lines] == [item["sku"] for item in payload["line_items"]]


def test_the_documented_batch_answers_are_successes_item_by_item() -> None:
    for call in ("POST /wp-json/wc/v3/products/batch", "POST /wp-json/wc/v3/products/{product_id}/variations/batch"):
        sample = CALLS[call]["response_sample"]
        entries = [entry for kind in ("create", "update", "delete") for entry in sample.get(kind) or []]
        assert entries and all(item_result("SKU", entry).ok for entry in entries), call


def test_the_documented_webhook_samples_have_what_the_client_reads() -> None:
    """register_webhooks / webhooks_of read id, topic, delivery_url and status of each webhook."""
    listed = CALLS["GET /wp-json/wc/v3/webhooks"]["response_sample"]
    for sample in [
        *listed,
        CALLS["POST /wp-json/wc/v3/webhooks"]["response_sample"],
        CALLS["PUT /wp-json/wc/v3/webhooks/{id}"]["response_sample"],
    ]:
        assert isinstance(sample["id"], int) and sample["topic"] and sample["delivery_url"].startswith("http")
        assert sample["status"] in CALLS["PUT /wp-json/wc/v3/webhooks/{id}"]["enums"]["status"]
        assert "secret" not in sample  # write-only


def test_the_documented_delivery_sample_parses_and_verifies() -> None:
    sample = CALLS["POST {delivery_url} (inbound webhook delivery)"]["response_sample"]
    body = json.dumps(sample).encode()
    headers = {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-ID": "142",
        "X-WC-Webhook-Signature": webhook_signature(body, "s3cret"),
    }
    assert webhooks.verify(headers, body, AppCredentials(APP), ["s3cret"], "https://nfsync.example/hook")
    event = webhooks.parse(headers, body)[0]
    assert (event.kind, event.entity_id, event.status, event.platform_shop_id) == (
        "order_status_changed",
        str(sample["id"]),
        sample["status"],
        "shop.example",
    )


def test_the_documented_settings_and_index_samples_have_what_get_shop_info_reads() -> None:
    settings = {item["id"]: item["value"] for item in CALLS["GET /wp-json/wc/v3/settings/general"]["response_sample"]}
    assert settings["woocommerce_currency"]
    index = CALLS["GET /wp-json/"]["response_sample"]
    assert index["name"] and index["home"].startswith("http") and "timezone_string" in index


# ---------------------------------------------------------------------------------------------- required fields


@dataclass
class Seen:
    method: str
    path: str  # from /wp-json on
    query: dict[str, str]
    body: Any


@pytest.fixture
async def recorded(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Store, list[Seen]]]:
    seen: list[Seen] = []
    original = Sandbox.build_app

    def build_app(self: Sandbox) -> web.Application:
        app = original(self)

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            if "/wp-json/" in request.path:
                raw = await request.read()
                body = json.loads(raw) if raw and request.content_type == "application/json" else None
                path = request.path[request.path.index("/wp-json/") :]
                seen.append(Seen(request.method, path, dict(request.query), body))
            return await handler(request)

        app.middlewares.insert(0, record)
        return app

    monkeypatch.setattr(Sandbox, "build_app", build_app)
    sandbox = Sandbox(APP, seed=2)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop("woo-ref", "Reference shop")
        yield Store(sandbox, shop, make_client(sandbox, shop, session, None), session), seen


def _route(call: str) -> tuple[str, re.Pattern[str]] | None:
    method, _, path = call.partition(" ")
    if not path.startswith("/wp-json/"):
        return None
    return method, re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", path) + "$")


def _has(body: Any, field: str) -> bool:
    """``update[].id``: every entry of ``update`` has ``id`` (an absent list is not a request of that kind)."""
    head, _, rest = field.partition("[].")
    if rest:
        entries = body.get(head) if isinstance(body, dict) else None
        return entries is None or all(isinstance(e, dict) and rest in e for e in entries)
    return isinstance(body, dict) and field in body


async def _exercise(store: Store) -> None:
    """Every client call that writes or reads with documented required fields."""
    simple = store.sandbox.add_listing(store.shop, "Cup", [{"sku": "CUP-1", "price": "10", "stock": 1}])
    shirt = store.sandbox.add_listing(
        store.shop, "Shirt", [{"sku": "SH-R", "price": "10", "stock": 1, "options": {"Color": "Red"}}]
    )
    red = shirt.variants[0].variant_id
    await store.client.update_stock(
        [
            StockUpdate(platform_item_id=simple.item_id, platform_variant_id=None, sku="CUP-1", quantity=3),
            StockUpdate(platform_item_id=shirt.item_id, platform_variant_id=red, sku="SH-R", quantity=4),
        ]
    )
    await store.client.update_prices(
        [PriceUpdate(platform_item_id=shirt.item_id, platform_variant_id=red, sku="SH-R", price=Decimal(12))]
    )
    draft = ListingDraft(
        name="Tee",
        variants=[VariantDraft(sku=f"TEE-{s}", price=Decimal(9), stock=1, options={"Size": s}) for s in ("S", "M")],
    )
    created = await store.client.create_listing(draft)
    await store.client.update_listing(created.platform_item_id, draft.model_copy(update={"name": "Tee 2"}))
    for _ in range(2):  # creates, then updates
        await store.client.register_webhooks("https://nfsync.example/webhooks/woocommerce/x", Secret("s" * 40))
    await store.client.unregister_webhooks("https://nfsync.example/webhooks/woocommerce/x")


async def test_each_request_carries_the_documented_required_fields(recorded: tuple[Store, list[Seen]]) -> None:
    store, seen = recorded
    await _exercise(store)
    checked = set()
    for call, facts in CALLS.items():
        route = _route(call)
        if route is None:
            continue
        requests = [s for s in seen if s.method == route[0] and route[1].match(s.path)]
        for request in requests:
            assert all(name in request.query for name in facts["required_query"]), (call, request)
            assert all(_has(request.body, name) for name in facts["required_body"]), (call, request)
        checked |= {call} if requests else set()
    writes = {c for c in CALLS if c.startswith(("POST /wp-json", "PUT /wp-json", "DELETE /wp-json"))}
    assert writes - checked <= {"PUT /wp-json/wc/v3/products/{product_id}/variations/{id}"}  # the client batches


def test_the_authorize_url_carries_the_documented_parameters(store_url: str = "https://shop.example") -> None:
    from nfsync.connectors.base.auth import LocalRateLimiter
    from nfsync.connectors.base.client import ClientSettings, ShopRef
    from nfsync.connectors.woocommerce.client import Client

    client = Client(
        ClientSettings(base_url=store_url),
        AppCredentials(APP),
        ShopRef("shop.example"),
        session=None,
        tokens=None,
        limiter=LocalRateLimiter(),
    )  # type: ignore[arg-type]
    query = parse_qs(urlsplit(client.authorize_url("https://nfsync.example/cb", "state-1")).query)
    assert set(CALLS["GET /wc-auth/v1/authorize"]["required_query"]) <= set(query)
    assert query["scope"][0] in CALLS["GET /wc-auth/v1/authorize"]["enums"]["scope"]
