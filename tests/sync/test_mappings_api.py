"""/v1/mappings and /v1/shops/{id}/unmatched (issue #17) against a live API, a real pull and the Shopee sandbox:
the unmatched SKUs with suggestions, a link checked against the platform, an unlink that leaves the listing alone;
another organization out of reach; bad links refused naming the field, nothing stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from nfsync.workers.api.auth import create_organization, create_token
from nfsync.workers.config import Settings
from nfsync.workers.lab.seed import seed_platform_shops
from tests.sync.conftest import SyncEnv, sync_env

SCOPES = ["tasks:read", "tasks:write", "integrations:write"]


@dataclass
class Rig:
    env: SyncEnv
    http: aiohttp.ClientSession
    token: str
    other_token: str
    messy: dict[str, str]  # CRM variant -> the SKU the merchant typed on the platform (same once normalised)
    item: str  # the platform item holding the messy SKUs
    lonely_item: str  # a platform item with one variant whose SKU matches nothing

    async def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        url = self.env.settings.public_base_url + path
        async with self.http.request(method, url, headers=headers, **kwargs) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text else None)


@pytest.fixture
async def rig(sync_settings: Settings) -> AsyncIterator[Rig]:
    async with sync_env(sync_settings, "shopee", variants=12, api=True) as env, aiohttp.ClientSession() as http:
        crm_variants = env.catalog.variant_ids[:2]
        messy = {v: env.catalog.skus[v].lower().replace("-", " ") + " " for v in crm_variants}
        rows = [
            {"sku": sku, "price": "20000", "stock": 4, "options": {"Style": str(n)}}
            for n, sku in enumerate(messy.values())
        ]
        item = env.sandbox.add_listing(env.shop.sb_shop, "Typed by hand", rows, category_id="100").item_id
        lonely = env.sandbox.add_listing(
            env.shop.sb_shop, "Nobody's", [{"sku": "NO-SUCH-THING", "price": "9000", "stock": 1}], category_id="100"
        ).item_id
        token = await create_token(env.pool, env.org, SCOPES, "mappings test")
        other_org = await create_organization(env.pool, "Other")
        await seed_platform_shops(env.pool, other_org, "shopee", 1)
        other = await create_token(env.pool, other_org, SCOPES, "other")
        pulled = await env.run("product_sync", direction="marketplace_to_crm")
        assert pulled["status"] == "completed", pulled["error_message"]
        yield Rig(env, http, token, other, messy, str(item), str(lonely))


def _platform_variant(rig: Rig, sku: str) -> str:
    listing = rig.env.sandbox.shops[rig.env.shop.sb_shop.shop_id].listings[rig.item]
    return str(next(v.variant_id for v in listing.variants if v.sku == sku))


async def test_unmatched_skus_come_with_suggestions_and_a_link_clears_them(rig: Rig) -> None:
    shop = rig.env.shop.shop_id
    status, page = await rig.call("GET", f"/v1/shops/{shop}/unmatched")
    assert status == 200, page
    by_sku = {item["sku"]: item for item in page["items"]}
    assert set(by_sku) == {*rig.messy.values(), "NO-SUCH-THING"}
    for variant, sku in rig.messy.items():
        suggested = by_sku[sku]["suggestions"]
        assert [(s["variant_id"], s["reason"]) for s in suggested] == [(variant, "same normalised SKU")]
        assert by_sku[sku]["platform_item_id"] == rig.item
    assert by_sku["NO-SUCH-THING"]["suggestions"] == []

    variant, sku = next(iter(rig.messy.items()))
    body = {
        "shop_id": str(shop),
        "variant_id": variant,
        "platform_item_id": rig.item,
        "platform_variant_id": _platform_variant(rig, sku),
    }
    status, made = await rig.call("POST", "/v1/mappings", json=body)
    assert status == 201, made
    assert (made["origin"], made["platform_sku"], made["last_pushed_stock"]) == ("linked", sku, 4)
    linked = await rig.env.pool.fetch("SELECT data FROM event_outbox WHERE type = 'listing.linked'")
    assert [
        json.loads(r["data"])["platform_item_id"] if isinstance(r["data"], str) else r["data"]["platform_item_id"]
        for r in linked
    ] == [rig.item]
    _, page = await rig.call("GET", f"/v1/shops/{shop}/unmatched")
    assert sku not in {item["sku"] for item in page["items"]}, "a linked SKU is no longer unmatched"

    status, again = await rig.call("POST", "/v1/mappings", json=body)
    assert status == 422 and "already linked" in again["error"]["message"]
    status, one = await rig.call("GET", f"/v1/mappings/{made['id']}")
    assert status == 200 and one == made


async def test_unlinking_leaves_the_listing_alone(rig: Rig) -> None:
    before = rig.env.sandbox.counters.requests
    status, made = await rig.call(
        "POST",
        "/v1/mappings",
        json={
            "shop_id": str(rig.env.shop.shop_id),
            "variant_id": rig.env.catalog.variant_ids[5],
            "platform_item_id": rig.lonely_item,
        },
    )
    assert status == 201, made  # a listing with one variant needs no platform_variant_id
    writes = dict(rig.env.sandbox.counters.writes_per_sku)
    status, _ = await rig.call("DELETE", f"/v1/mappings/{made['id']}")
    assert status == 204
    assert rig.env.sandbox.counters.writes_per_sku == writes, "unlinking wrote to the platform"
    assert rig.env.sandbox.counters.requests >= before
    status, _ = await rig.call("GET", f"/v1/mappings/{made['id']}")
    assert status == 404
    assert rig.lonely_item in rig.env.sandbox.shops[rig.env.shop.sb_shop.shop_id].listings


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"platform_item_id": "999999999"}, "platform_item_id"),  # no such item on the platform
        ({"platform_variant_id": "nope"}, "platform_variant_id"),
        ({"platform_variant_id": None}, "platform_variant_id"),  # the item has two variants: name one
        ({"variant_id": "not-a-crm-variant"}, "variant_id"),
        ({"shop_id": str(uuid.uuid4())}, "shop_id"),
        ({"platform_item_id": "x" * 101}, "platform_item_id"),
        ({"variant_id": ""}, "variant_id"),
        ({"extra": True}, "extra"),
    ],
)
async def test_bad_links_are_refused_naming_the_field(rig: Rig, change: dict[str, Any], field: str) -> None:
    variant, sku = next(iter(rig.messy.items()))
    body = {
        "shop_id": str(rig.env.shop.shop_id),
        "variant_id": variant,
        "platform_item_id": rig.item,
        "platform_variant_id": _platform_variant(rig, sku),
    } | change
    body = {k: v for k, v in body.items() if v is not None}
    status, answer = await rig.call("POST", "/v1/mappings", json=body)
    assert status == 422 and field in json.dumps(answer["error"]), answer
    _, listed = await rig.call("GET", "/v1/mappings")
    assert all(m["origin"] != "linked" for m in listed["items"]), "nothing stored"


async def test_another_organization_reaches_none_of_it(rig: Rig) -> None:
    shop = rig.env.shop.shop_id
    variant, sku = next(iter(rig.messy.items()))
    body = {
        "shop_id": str(shop),
        "variant_id": variant,
        "platform_item_id": rig.item,
        "platform_variant_id": _platform_variant(rig, sku),
    }
    status, answer = await rig.call("POST", "/v1/mappings", rig.other_token, json=body)
    assert status == 422 and "shop_id" in answer["error"]["message"], answer
    status, made = await rig.call("POST", "/v1/mappings", json=body)
    assert status == 201
    for method, path in (
        ("GET", f"/v1/mappings/{made['id']}"),
        ("DELETE", f"/v1/mappings/{made['id']}"),
        ("GET", f"/v1/shops/{shop}/unmatched"),
    ):
        status, _ = await rig.call(method, path, rig.other_token)
        assert status == 404, (method, path)
    status, listed = await rig.call("GET", f"/v1/mappings?shop_id={shop}", rig.other_token)
    assert status == 200 and listed["items"] == []
    status, _ = await rig.call("GET", f"/v1/mappings/{made['id']}")
    assert status == 200, "the owner's mapping survived B's delete"


async def test_the_list_filters_and_pages(rig: Rig) -> None:
    shop = rig.env.shop.shop_id
    pushed = await rig.env.run("product_sync")  # lists the catalog: a mapping per variant
    assert pushed["status"] == "completed", pushed["error_message"]
    seen: list[str] = []
    after = ""
    while True:
        status, page = await rig.call("GET", f"/v1/mappings?shop_id={shop}&limit=2{after}")
        assert status == 200 and len(page["items"]) <= 2
        seen += [m["id"] for m in page["items"]]
        if page["next_after"] is None:
            break
        after = f"&after={page['next_after']}"
    total = await rig.env.pool.fetchval("SELECT count(*) FROM product_mappings WHERE shop_id = $1", shop)
    assert len(seen) == len(set(seen)) == total > 0
    variant = rig.env.catalog.variant_ids[3]
    _, one = await rig.call("GET", f"/v1/mappings?variant_id={variant}")
    assert [m["variant_id"] for m in one["items"]] == [variant]
    for query in ("limit=0", "limit=501", "status=gone", "after=not-a-uuid", "variant_id=" + "x" * 300):
        status, _ = await rig.call("GET", f"/v1/mappings?{query}")
        assert status == 422, query


async def test_a_barcode_suggests_the_crm_variant_that_carries_it(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "woocommerce", variants=4, api=True) as env, aiohttp.ClientSession() as http:
        variant = env.catalog.variant_ids[0]
        await env.pool.execute(
            'INSERT INTO "ProductIdentifier" (identifier, "principalType", "principalId", scheme)'
            " VALUES ('08934567890123', 'ProductVariant', $1, 'BARCODE')",
            variant,
        )
        env.sandbox.add_listing(
            env.shop.sb_shop,
            "Typed elsewhere",
            [{"sku": "SHELF-7", "price": "20000", "stock": 2, "barcode": "08934567890123"}],
        )
        pulled = await env.run("product_sync", direction="marketplace_to_crm")
        assert pulled["status"] == "completed", pulled["error_message"]
        token = await create_token(env.pool, env.org, SCOPES, "barcode test")
        rig = Rig(env, http, token, token, {}, "", "")
        status, page = await rig.call("GET", f"/v1/shops/{env.shop.shop_id}/unmatched")
        assert status == 200, page
        shelf = next(item for item in page["items"] if item["sku"] == "SHELF-7")
        assert shelf["barcode"] == "08934567890123"
        assert [(s["variant_id"], s["reason"]) for s in shelf["suggestions"]] == [(variant, "same barcode")]
