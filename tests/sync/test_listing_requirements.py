"""A new listing checked against its category's requirements, read from the platform (the sandboxes serve a small
tree, connectors/base/sandbox_categories.py) and cached per shop, before any call (issue #16)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import ListingDraft, VariantDraft
from nfsync.workers.api.auth import create_token
from nfsync.workers.config import Settings
from nfsync.workers.engine.events import ItemsFailedData, TaskEventData
from nfsync.workers.engine.filters import ProductSyncFilter
from nfsync.workers.listing import store
from nfsync.workers.listing.profiles import ListingProfile
from nfsync.workers.sync.cli import plan
from tests.connectors.listable import listable
from tests.sync.conftest import SyncEnv, sync_env

STRICT = ("shopee", "lazada", "tiktok")
T_SHIRTS = "100017"  # Material (closed list) is mandatory
MATERIAL = {"shopee": "100134", "lazada": "Material", "tiktok": "100134"}  # Lazada knows attributes by name


@pytest.fixture(params=STRICT)
async def shop(request: pytest.FixtureRequest, sync_settings: Settings) -> AsyncIterator[SyncEnv]:
    async with sync_env(sync_settings, request.param, variants=4) as made:
        yield made


async def _profile(env: SyncEnv, product: str, **fields: object) -> None:
    layer = ListingProfile.model_validate({"category_id": T_SHIRTS} | fields)
    await store.save(env.pool, env.org, store.Scope(env.shop.integration_id, product), layer, "api")


async def test_a_missing_mandatory_attribute_fails_before_any_call_and_a_complete_one_is_created(shop: SyncEnv) -> None:
    first, second = shop.catalog.product_ids[:2]
    await _profile(shop, first)
    await _profile(shop, second, attributes=[{"id": MATERIAL[shop.shop.platform], "values": ["1001"]}])
    creates = shop.sandbox.counters.creates
    task = await shop.run("product_sync", filters={"product_ids": [first, second]})
    assert task["status"] == "completed", task["error_message"]
    failed = await shop.pool.fetch(
        "SELECT entity_id, error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"]
    )
    assert [(r["entity_id"], r["error_message"]) for r in failed] == [
        (first, 'missing required fields: attribute "Material"')
    ]
    assert shop.sandbox.counters.creates == creates + 1, "the refused product cost no create call"
    cached = await shop.pool.fetch(
        "SELECT category_id FROM category_requirements WHERE shop_id = $1", shop.shop.shop_id
    )
    assert [r["category_id"] for r in cached] == [T_SHIRTS]


async def test_a_value_outside_the_closed_list_is_refused_with_the_reason(shop: SyncEnv) -> None:
    product = shop.catalog.product_ids[0]
    await _profile(shop, product, attributes=[{"id": MATERIAL[shop.shop.platform], "values": ["Wool"]}])
    planned = await plan(await shop.session(), "product_sync", ProductSyncFilter(product_ids=[product]))
    assert [(i["action"], i.get("reason")) for i in planned["items"]] == [
        ("fail", "attribute \"Material\": 'Wool' is not one of its values")
    ], "nfsync plan says it too"
    task = await shop.run("product_sync", filters={"product_ids": [product]})
    reason = await shop.pool.fetchval(
        "SELECT error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"]
    )
    assert reason == "attribute \"Material\": 'Wool' is not one of its values"


async def test_the_sandbox_refuses_what_the_check_would_have_caught(shop: SyncEnv) -> None:
    """The sandbox side of the same rule: a create with no Material in category 100017 is refused by the platform's
    documented code (a client that skipped the check would see it)."""

    session = await shop.session()
    draft = ListingDraft(
        name="A t-shirt that lacks its material attribute",
        description="x",
        category_id=T_SHIRTS,
        variants=[VariantDraft(sku="REQ-1", price=Decimal(10), stock=1)],
    )
    with pytest.raises(PermanentError) as refused:
        await session.client.create_listing(await listable(session.client, draft))  # all but the attribute
    code = {"shopee": "error_less_required_attribute", "lazada": "4108", "tiktok": "12052104"}[shop.shop.platform]
    assert refused.value.fields["code"] == code and "Material" in str(refused.value)


@pytest.mark.parametrize("platform", STRICT)
async def test_the_api_says_what_a_profile_must_hold_and_hides_other_organizations_shops(
    sync_settings: Settings, platform: str
) -> None:
    async with sync_env(sync_settings, platform, variants=2, api=True) as env:
        mine = await create_token(env.pool, env.org, ["tasks:read"], "test")
        other_org = await env.pool.fetchval("INSERT INTO organizations (name) VALUES ('Other') RETURNING id")
        theirs = await create_token(env.pool, other_org, ["tasks:read"], "test")
        url = f"{env.settings.public_base_url}/v1/shops/{env.shop.shop_id}/categories"
        async with aiohttp.ClientSession() as http:

            async def get(path: str, token: str) -> tuple[int, dict[str, object]]:
                async with http.get(f"{url}/{path}", headers={"Authorization": f"Bearer {token}"}) as response:
                    return response.status, await response.json()

            status, answer = await get(f"{T_SHIRTS}/requirements", mine)
            assert status == 200, answer
            needs = answer["profile_must_hold"]
            assert isinstance(needs, list) and any(n.startswith('attribute "Material"') for n in needs)
            assert (await get(f"{T_SHIRTS}/requirements", theirs))[0] == 404
            status, refused = await get("abc/requirements", mine)
            assert status == 422 and "category_id 'abc'" in str(refused), refused
            assert (await get(f"{'9' * 101}/requirements", mine))[0] == 422


async def test_tiktok_shop_requires_an_attribute_another_ones_value_calls_for(sync_settings: Settings) -> None:
    """requirement_conditions: in the sandboxes' tree a Linen shirt needs its Sleeve Length."""
    async with sync_env(sync_settings, "tiktok", variants=2) as env:
        product = env.catalog.product_ids[0]
        await _profile(env, product, attributes=[{"id": "100134", "values": ["1002"]}])
        task = await env.run("product_sync", filters={"product_ids": [product]})
        reason = await env.pool.fetchval(
            "SELECT error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"]
        )
        assert reason == 'missing required fields: attribute "Sleeve Length"'
        linen = [{"id": "100134", "values": ["1002"]}, {"id": "100135", "values": ["2002"]}]
        await _profile(env, product, attributes=linen)
        task = await env.run("product_sync", filters={"product_ids": [product]})
        assert task["failed_items"] == 0 and env.sandbox.counters.creates == 1


async def test_woocommerce_listings_get_the_package_in_the_stores_units(sync_settings: Settings) -> None:
    """The lab's defaults (0.5 kg, 20 x 15 x 5 cm) on a store that measures in pounds and inches, then a changed
    weight written alone."""
    async with sync_env(sync_settings, "woocommerce", variants=1) as env:
        env.shop.sb_shop.extra.update(weight_unit="lbs", dimension_unit="in")
        assert (await env.run("product_sync"))["failed_items"] == 0
        [listing] = env.listings()
        content = env.sandbox.catalog.content.content(listing.item_id)  # type: ignore[attr-defined]
        assert (content.weight, content.dimensions) == (
            "1.102",
            {"length": "7.874", "width": "5.906", "height": "1.969"},
        )
        content.dimensions["height"] = "9"  # the merchant's own edit
        product = env.catalog.product_ids[0]
        await _profile(env, product, package={"weight_kg": "2"})
        await env.pool.execute(
            "UPDATE listing_profiles SET profile = profile - 'category_id' WHERE product_id = $1", product
        )
        assert (await env.run("product_sync"))["failed_items"] == 0
        assert (content.weight, content.dimensions["height"]) == ("4.409", "1.969")


def _issued(env: SyncEnv) -> set[str]:
    sandbox = env.sandbox
    return set(sandbox.store.images if env.shop.platform == "tiktok" else sandbox.issued_images)  # type: ignore[attr-defined]


async def test_images_are_fetched_uploaded_once_per_shop_and_sent_as_the_platform_takes_them(shop: SyncEnv) -> None:
    """The lab's default image (served by the sandbox, fetched through the operator-allowed loopback host) is
    uploaded through the platform's media API once: every product of the shop reuses it, a second sync uploads
    nothing."""
    merchants = _issued(shop)  # the images of listings the merchant made (TikTok's sandbox gives them one each)
    task = await shop.run("product_sync")
    assert task["failed_items"] == 0, task["error_message"]
    rows = await shop.pool.fetch("SELECT source_url, platform_ref, sha256 FROM listing_media")
    assert [r["source_url"] for r in rows] == [shop.sandbox.image_url()]
    assert _issued(shop) - merchants == {rows[0]["platform_ref"]}, "one upload for every product of the shop"
    await shop.pool.execute("UPDATE product_mappings SET last_pushed_hash = 'changed'")  # every listing rewritten
    assert (await shop.run("product_sync"))["failed_items"] == 0
    assert len(_issued(shop) - merchants) == 1, "a re-sync uploads nothing"


async def test_an_image_the_fetch_refuses_fails_its_product_before_any_create(shop: SyncEnv) -> None:
    product = shop.catalog.product_ids[0]
    not_an_image = f"{shop.sandbox.base_url}/_sandbox/shops/none/listings"  # JSON, not an image
    layer = ListingProfile.model_validate({"images": [not_an_image]})
    await store.save(shop.pool, shop.org, store.Scope(shop.shop.integration_id, product), layer, "api")
    creates = shop.sandbox.counters.creates
    task = await shop.run("product_sync", filters={"product_ids": [product]})
    reason = await shop.pool.fetchval(
        "SELECT error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"]
    )
    assert reason is not None and reason.startswith(f"image {not_an_image}:"), reason
    assert shop.sandbox.counters.creates == creates and not _issued(shop)


async def test_lazada_sku_level_attributes_go_on_every_sku(sync_settings: Settings) -> None:
    """GetCategoryAttributes marks ``model_code`` of Phone Cases ``attribute_type=sku``: it is written on each SKU,
    where Lazada reads it (before: on the product, refused with 4108 "[model_code] is mandatory")."""
    async with sync_env(sync_settings, "lazada", variants=3) as env:
        product = env.catalog.product_ids[0]
        attributes = [{"id": "Compatible Model", "values": ["X1"]}, {"id": "model_code", "values": ["PC-7"]}]
        package = {"weight_kg": "0.2", "length_cm": "16", "width_cm": "8", "height_cm": "2"}
        await _profile(env, product, category_id="100018", attributes=attributes, package=package)
        task = await env.run("product_sync", filters={"product_ids": [product]})
        assert task["failed_items"] == 0, await env.pool.fetchval(
            "SELECT error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed'", task["id"]
        )
        assert env.sandbox.counters.creates == 1
        session = await env.session()
        unmarked = ListingDraft(
            name="A phone case with its model code on the product only",
            category_id="100018",
            attributes=attributes,
            variants=[VariantDraft(sku="CASE-1", price=Decimal(10), stock=1)],
        )
        with pytest.raises(PermanentError) as refused:
            await session.client.create_listing(await listable(session.client, unmarked))
        assert refused.value.fields["code"] == "4108" and "model_code" in str(refused.value)


PUT_REFUSALS = {  # platform: [(profile fields, the field path the 422 names)]
    "shopee": [
        ({"attributes": [{"id": "100134", "values": ["Wool"]}]}, "body.attributes.0"),
        ({"attributes": [{"id": "424242", "values": ["x"]}]}, "body.attributes.0"),
        ({"brand": {"id": "987654"}}, "body.brand.id"),
        ({"logistics": [{"id": "80001"}, {"id": "80002"}]}, "body.logistics.1.id"),
        ({"category_id": "shirts"}, "body.category_id"),
    ],
    "lazada": [({"attributes": [{"id": "Material", "values": ["Wool"]}]}, "body.attributes.0")],
    "tiktok": [
        ({"attributes": [{"id": "100134", "values": ["9999"]}]}, "body.attributes.0"),
        ({"brand": {"id": "987654"}}, "body.brand.id"),
        ({"category_id": "100001"}, "body.category_id"),  # not a leaf
    ],
}


@pytest.mark.parametrize("platform", STRICT)
async def test_a_profile_naming_what_the_platform_lacks_is_422_and_nothing_is_stored(
    sync_settings: Settings, platform: str
) -> None:
    """Issue #16 "Bad input": the category, attribute values, brand and channels a profile names are checked against
    the platform (through the integration's shop, requirements cached) when it is written; the import says it per
    row. Lazada's brand list (tens of thousands, country-wide) is not held: CreateProduct refuses an unknown one."""
    async with sync_env(sync_settings, platform, variants=2, api=True) as env:
        token = await create_token(env.pool, env.org, ["integrations:write"], "test")
        product = env.catalog.product_ids[0]
        base = f"{env.settings.public_base_url}/v1/listing-profiles/{env.shop.integration_id}"
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            for fields, path in PUT_REFUSALS[platform]:
                body = {"category_id": T_SHIRTS} | fields
                async with http.put(f"{base}/products/{product}", json=body) as response:
                    answer = await response.json()
                assert response.status == 422, (fields, answer)
                assert path in [e["path"] for e in answer["error"]["details"]], (fields, answer)
            assert await env.pool.fetchval("SELECT count(*) FROM listing_profiles WHERE product_id = $1", product) == 0
            good = {"category_id": T_SHIRTS, "attributes": [{"id": MATERIAL[platform], "values": ["1001"]}]}
            async with http.put(f"{base}/products/{product}", json=good) as response:
                assert response.status == 200, await response.text()
            bad_row = json.dumps(
                {"product_id": product, "profile": {"category_id": T_SHIRTS} | PUT_REFUSALS[platform][0][0]}
            )
            async with http.post(
                f"{base}/import", data=bad_row, headers={"Content-Type": "application/x-ndjson"}
            ) as response:
                report = await response.json()
            assert report["refused"] == 1 and report["rows"][0]["errors"][0]["path"].startswith("profile.attributes.0")


async def test_a_brand_or_channel_the_platform_lacks_fails_before_any_call(sync_settings: Settings) -> None:
    """A profile stored before the check existed (or imported around it) is caught by product_sync's check: the
    category's brands (get_brand_list) and the shop's enabled channels (get_channel_list), no create call."""
    async with sync_env(sync_settings, "shopee", variants=2) as env:
        first, second = env.catalog.product_ids[:2]
        material = [{"id": "100134", "values": ["1001"]}]
        await _profile(env, first, attributes=material, brand={"id": "987654"})
        await _profile(env, second, attributes=material, logistics=[{"id": "80002"}])
        task = await env.run("product_sync", filters={"product_ids": [first, second]})
        reasons = await env.pool.fetch(
            "SELECT entity_id, error_message FROM sync_logs WHERE task_id = $1 AND status = 'failed' ORDER BY 1",
            task["id"],
        )
        assert sorted((r["entity_id"], r["error_message"]) for r in reasons) == sorted(
            [
                (first, "brand 987654 is not one of the category's brands"),
                (second, "logistics channel 80002 is not enabled for this shop"),
            ]
        )
        assert env.sandbox.counters.creates == 0


async def test_a_task_with_failed_items_emits_sync_items_failed_with_the_reasons(sync_settings: Settings) -> None:
    """Issue #17: the task's events, written with its finish: task.completed, and sync.items_failed naming the
    failed product and the reason (the schema's model reads it back)."""
    async with sync_env(sync_settings, "shopee", variants=2) as env:
        first, second = env.catalog.product_ids[:2]
        await _profile(env, first)
        await _profile(env, second, attributes=[{"id": "100134", "values": ["1001"]}])
        task = await env.run("product_sync", filters={"product_ids": [first, second]})
        rows = await env.pool.fetch(
            "SELECT type, data FROM event_outbox WHERE subject = $1 ORDER BY seq", f"tasks/{task['id']}"
        )
        assert [r["type"] for r in rows] == ["task.completed", "sync.items_failed"]
        data = ItemsFailedData.model_validate(rows[1]["data"])
        assert (data.task_id, data.failed_items, data.shop_id) == (task["id"], 1, env.shop.shop_id)
        assert [(f.entity_id, f.error_message) for f in data.first_failures] == [
            (first, 'missing required fields: attribute "Material"')
        ]
        done = TaskEventData.model_validate(rows[0]["data"])
        assert (done.status, done.successful_items, done.failed_items) == ("completed", 1, 1)
