"""/v1/listing-profiles over HTTP: write, read, replace, delete; defaults and shop overrides; the bulk import and its
report; what another organization, bad input and hostile files get."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from nfsync.workers.engine.service import init_connection
from nfsync.workers.lab.demo_data import seed_catalog
from nfsync.workers.lab.seed import seed_platform_shops
from nfsync.workers.listing.cli import cmd_import
from tests.api.conftest import LiveApi

PROFILE: dict[str, Any] = {
    "category_id": "100017",
    "brand": {"id": "0", "name": "No brand"},
    "attributes": [{"id": "100134", "values": ["Cotton"]}],
    "package": {"weight_kg": "0.3", "length_cm": 20, "width_cm": 15, "height_cm": 3},
    "logistics": [{"id": "50018", "enabled": True}],
    "images": ["https://cdn.example.com/shirt-1.jpg", "https://cdn.example.com/shirt-2.jpg"],
    "option_names": {"Color": "Colour"},
    "variants": {"v-1": {"images": ["https://cdn.example.com/red.jpg"], "sale_properties": {"Colour": "Red"}}},
}


async def _products(live_api: LiveApi, org: object, count: int = 2) -> list[str]:
    conn = await asyncpg.connect(live_api.settings.database_url)
    await init_connection(conn)
    try:
        catalog = await seed_catalog(conn, organization_id=org, variants=count * 2, name="Profiles")
    finally:
        await conn.close()
    return catalog.product_ids[:count]


async def _rows(live_api: LiveApi) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        return await conn.fetch("SELECT * FROM listing_profiles ORDER BY created_at, id")
    finally:
        await conn.close()


def _base(live_api: LiveApi, integration: object | None = None) -> str:
    return f"/v1/listing-profiles/{integration or live_api.a.integration}"


async def test_a_product_profile_is_written_read_replaced_and_deleted(live_api: LiveApi) -> None:
    product = (await _products(live_api, live_api.a.org))[0]
    path = f"{_base(live_api)}/products/{product}"
    status, body = await live_api.call("PUT", path, live_api.a.token, json=PROFILE)
    assert status == 200, body
    assert body["product_id"] == product and body["shop_id"] is None and body["source"] == "api"
    assert body["profile"]["brand"] == {"id": "0", "name": "No brand"}
    assert body["profile"]["package"]["weight_kg"] == "0.3"
    status, read = await live_api.call("GET", path, live_api.a.token)
    assert status == 200 and read["profile"] == body["profile"]
    status, replaced = await live_api.call("PUT", path, live_api.a.token, json={"category_id": "200"})
    assert status == 200 and replaced["id"] == body["id"]
    assert replaced["profile"]["category_id"] == "200" and replaced["profile"]["brand"] is None, "a PUT replaces"
    status, _ = await live_api.call("DELETE", path, live_api.a.token)
    assert status == 204
    status, gone = await live_api.call("GET", path, live_api.a.token)
    assert status == 404 and "no listing profile" in gone["error"]["message"]


async def test_defaults_and_a_shop_override_are_separate_layers(live_api: LiveApi) -> None:
    product = (await _products(live_api, live_api.a.org))[0]
    shop = live_api.a.shops[0]
    defaults = f"{_base(live_api)}/defaults"
    assert (await live_api.call("PUT", defaults, live_api.a.token, json={"brand": {"id": "0"}}))[0] == 200
    shop_defaults = f"{defaults}?shop_id={shop}"
    assert (await live_api.call("PUT", shop_defaults, live_api.a.token, json={"logistics": [{"id": "7"}]}))[0] == 200
    override = f"{_base(live_api)}/products/{product}?shop_id={shop}"
    assert (await live_api.call("PUT", override, live_api.a.token, json={"images": PROFILE["images"]}))[0] == 200
    assert (await live_api.call("GET", f"{_base(live_api)}/products/{product}", live_api.a.token))[0] == 404
    status, page = await live_api.call("GET", _base(live_api), live_api.a.token)
    assert status == 200
    scopes = sorted((i["product_id"] or "", i["shop_id"] or "") for i in page["items"])
    assert scopes == sorted([("", ""), ("", str(shop)), (product, str(shop))])
    status, only = await live_api.call("GET", f"{_base(live_api)}?product_id={product}", live_api.a.token)
    assert [i["profile"]["images"] for i in only["items"]] == [PROFILE["images"]]


async def test_pages_follow_next_after(live_api: LiveApi) -> None:
    products = await _products(live_api, live_api.a.org, 3)
    for product in products:
        await live_api.call("PUT", f"{_base(live_api)}/products/{product}", live_api.a.token, json={"category_id": "1"})
    seen: list[str] = []
    after = ""
    for _ in range(5):
        status, page = await live_api.call("GET", f"{_base(live_api)}?limit=2{after}", live_api.a.token)
        assert status == 200
        seen += [i["product_id"] for i in page["items"]]
        if page["next_after"] is None:
            break
        after = f"&after={page['next_after']}"
    assert sorted(seen) == sorted(products)


BAD = {
    "http image": ({"images": ["http://cdn.example.com/a.jpg"]}, "body.images.0"),
    "private address": ({"images": ["https://10.0.0.5/a.jpg"]}, "body.images.0"),
    "loopback v6": ({"images": ["https://[::1]/a.jpg"]}, "body.images.0"),
    "metadata host": ({"images": ["https://169.254.169.254/latest"]}, "body.images.0"),
    "user in url": ({"images": ["https://u:p@cdn.example.com/a.jpg"]}, "body.images.0"),
    "ten images": ({"images": [f"https://cdn.example.com/{i}.jpg" for i in range(10)]}, "body.images"),
    "repeated attribute": ({"attributes": [{"id": "1", "values": ["a"]}, {"id": "1", "values": ["b"]}]}, "body"),
    "attribute without values": ({"attributes": [{"id": "1", "values": []}]}, "body.attributes.0.values"),
    "negative weight": ({"package": {"weight_kg": -1}}, "body.package.weight_kg"),
    "huge length": ({"package": {"length_cm": "1e9"}}, "body.package.length_cm"),
    "empty brand": ({"brand": {}}, "body.brand"),
    "unknown field": ({"colour": "red"}, "body.colour"),
    "long category": ({"category_id": "9" * 256}, "body.category_id"),
    "nested value": ({"category_id": {"a": [1]}}, "body.category_id"),
    "too many variants": ({"variants": {f"v{i}": {} for i in range(301)}}, "body.variants"),
    "four sale properties": ({"option_names": {"a": "1", "b": "2", "c": "3", "d": "4"}}, "body.option_names"),
}


async def test_bad_profiles_are_422_naming_the_field_and_store_nothing(live_api: LiveApi) -> None:
    """Every case of BAD against one live API (one service start for all of them)."""
    product = (await _products(live_api, live_api.a.org, 1))[0]
    for name, (body, where) in sorted(BAD.items()):
        path = f"{_base(live_api)}/products/{product}"
        status, answer = await live_api.call("PUT", path, live_api.a.token, json=body)
        assert status == 422, (name, answer)
        paths = [d["path"] for d in answer["error"]["details"]]
        assert any(p == where or p.startswith(where + ".") for p in paths), (name, paths)
    assert await _rows(live_api) == []


async def test_another_organization_reaches_nothing(live_api: LiveApi) -> None:
    product_a = (await _products(live_api, live_api.a.org, 1))[0]
    await live_api.call("PUT", f"{_base(live_api)}/products/{product_a}", live_api.a.token, json=PROFILE)
    before = [dict(r) for r in await _rows(live_api)]
    b = live_api.b.token
    for method in ("GET", "PUT", "DELETE"):
        status, _ = await live_api.call(method, f"{_base(live_api)}/products/{product_a}", b, json=PROFILE)
        assert status == 404, method
    # B's own integration naming A's product, and A's shop
    status, answer = await live_api.call(
        "PUT", f"{_base(live_api, live_api.b.integration)}/products/{product_a}", b, json=PROFILE
    )
    assert status == 404 and answer["error"]["message"] == f"product {product_a} not found"
    status, answer = await live_api.call(
        "PUT", f"{_base(live_api, live_api.b.integration)}/defaults?shop_id={live_api.a.shops[0]}", b, json=PROFILE
    )
    assert status == 404 and "shop" in answer["error"]["message"]
    status, page = await live_api.call("GET", _base(live_api, live_api.b.integration), b)
    assert status == 200 and page["items"] == []
    jsonl = json.dumps({"product_id": product_a, "profile": PROFILE}).encode()
    status, report = await live_api.call(
        "POST",
        f"{_base(live_api, live_api.b.integration)}/import",
        b,
        data=jsonl,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert status == 200 and report["stored"] == 0 and report["refused"] == 1
    status, _ = await live_api.call(
        "POST", f"{_base(live_api)}/import", b, data=jsonl, headers={"Content-Type": "application/x-ndjson"}
    )
    assert status == 404
    assert [dict(r) for r in await _rows(live_api)] == before


async def test_a_shop_of_another_integration_of_the_same_organization_is_refused(live_api: LiveApi) -> None:
    pool = await asyncpg.create_pool(live_api.settings.database_url, min_size=1, max_size=1)
    try:
        _, shops = await seed_platform_shops(pool, live_api.a.org, "lazada", 1)
    finally:
        await pool.close()
    status, answer = await live_api.call(
        "PUT", f"{_base(live_api)}/defaults?shop_id={shops[0]}", live_api.a.token, json={"category_id": "1"}
    )
    assert status == 404 and answer["error"]["message"] == f"shop {shops[0]} not found"


def _ndjson(*rows: Any) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()


async def test_the_jsonl_import_reports_every_row_and_stores_the_valid_ones(live_api: LiveApi) -> None:
    p1, p2 = await _products(live_api, live_api.a.org, 2)
    body = _ndjson(
        {"product_id": p1, "profile": PROFILE},
        {"product_id": p2, "profile": {"images": ["http://insecure.example.com/a.jpg"]}},
        "{not json",
        "",
        {"profile": {"brand": {"name": "No brand"}}},
        {"product_id": "no-such-product", "profile": {}},
        {"product_id": p2, "shop_id": "not-a-uuid"},
    )
    url = f"{_base(live_api)}/import"
    headers = {"Content-Type": "application/x-ndjson"}
    status, dry = await live_api.call("POST", url + "?dry_run=true", live_api.a.token, data=body, headers=headers)
    assert status == 200, dry
    assert await _rows(live_api) == [], "a dry run stores nothing"
    status, report = await live_api.call("POST", url, live_api.a.token, data=body, headers=headers)
    assert status == 200, report
    statuses = {r["row"]: r["status"] for r in report["rows"]}
    assert statuses == {1: "stored", 2: "refused", 3: "refused", 5: "stored", 6: "refused", 7: "refused"}
    assert {r["row"]: r["status"] for r in dry["rows"]} == {
        k: "valid" if v == "stored" else v for k, v in statuses.items()
    }
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["errors"][0]["path"] == "profile.images.0"
    assert by_row[6]["errors"][0]["reason"] == "product no-such-product not found"
    assert by_row[7]["errors"][0]["path"] == "shop_id"
    assert (report["stored"], report["refused"]) == (2, 4)
    stored = {(r["product_id"], r["source"]) for r in await _rows(live_api)}
    assert stored == {(p1, "import"), (None, "import")}


async def test_the_csv_import(live_api: LiveApi) -> None:
    p1, p2 = await _products(live_api, live_api.a.org, 2)
    csv = (
        "product_id,shop_id,category_id,brand_name,package_weight_kg,images,logistics,attribute:100134\n"
        f"{p1},,100017,No brand,0.25,https://cdn.example.com/a.jpg|https://cdn.example.com/b.jpg,50018|50021,Cotton|Linen\n"
        f"{p2},,100017,,-3,,,\n"
        f"{p2},,1,2,3,4,5,6,7\n"
    )
    status, report = await live_api.call(
        "POST", f"{_base(live_api)}/import", live_api.a.token, data=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert status == 200, report
    assert [r["status"] for r in report["rows"]] == ["stored", "refused", "refused"]
    assert report["rows"][1]["errors"][0]["path"] == "profile.package.weight_kg"
    status, read = await live_api.call("GET", f"{_base(live_api)}/products/{p1}", live_api.a.token)
    assert status == 200
    profile = read["profile"]
    assert profile["brand"] == {"id": None, "name": "No brand"}
    assert profile["images"] == ["https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"]
    assert [c["id"] for c in profile["logistics"]] == ["50018", "50021"]
    assert profile["attributes"] == [{"id": "100134", "values": ["Cotton", "Linen"], "unit": None}]


HOSTILE_FILES = {
    "not utf-8": (b"\xff\xfe\x00bad", "text/csv", "not UTF-8"),
    "nul": (b'{"product_id": "a\x00"}', "application/x-ndjson", "NUL"),
    "no header": (b"", "text/csv", "header row"),
    "unknown column": (b"product_id,price\n1,2\n", "text/csv", "unknown CSV columns: price"),
    "no content type": (b"{}", "application/octet-stream", "text/csv or application/x-ndjson"),
    "too many rows": (b"{}\n" * 10_001, "application/x-ndjson", "at most 10000"),
}


async def test_a_file_that_cannot_be_read_is_422_with_the_reason(live_api: LiveApi) -> None:
    for name, (body, kind, reason) in sorted(HOSTILE_FILES.items()):
        status, answer = await live_api.call(
            "POST", f"{_base(live_api)}/import", live_api.a.token, data=body, headers={"Content-Type": kind}
        )
        assert status == 422, (name, answer)
        assert reason in answer["error"]["message"], name
    assert await _rows(live_api) == []


async def test_a_body_over_the_cap_is_413(live_api: LiveApi) -> None:
    status, _ = await live_api.call(
        "POST",
        f"{_base(live_api)}/import",
        live_api.a.token,
        data=io.BytesIO(b"{}\n" * 600_000),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert status == 413


async def test_writing_needs_the_integrations_scope(live_api: LiveApi) -> None:
    product = (await _products(live_api, live_api.a.org, 1))[0]
    reader = await live_api.token(live_api.a.org, ["tasks:read"])
    status, _ = await live_api.call("PUT", f"{_base(live_api)}/products/{product}", reader, json=PROFILE)
    assert status == 403
    status, _ = await live_api.call("GET", _base(live_api), reader)
    assert status == 200


async def test_the_cli_import_prints_the_report_and_fails_on_a_refused_row(
    live_api: LiveApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    product = (await _products(live_api, live_api.a.org, 1))[0]
    path = tmp_path / "profiles.jsonl"
    path.write_bytes(_ndjson({"product_id": product, "profile": PROFILE}, {"product_id": product, "shop_id": 5}))
    args = argparse.Namespace(file=path, integration=live_api.a.integration, format=None, dry_run=False)
    assert await cmd_import(live_api.settings, args) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in report["rows"]] == ["stored", "refused"]
    assert [r["source"] for r in await _rows(live_api)] == ["import"]
