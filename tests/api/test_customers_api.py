"""/v1/customers (issue #18): masked personal data, tenant scoping, paging and filters, erasure, bad parameters."""

from __future__ import annotations

import asyncpg

from nfsync.connectors.base.models import Buyer
from nfsync.workers import crm_customers
from nfsync.workers.crypto import Keyring
from nfsync.workers.engine.service import init_connection
from nfsync.workers.lab.demo_data import seed_catalog
from tests.api.conftest import KEY_ENTRY, LiveApi

EMAIL = "an.nguyen@example.vn"


async def _customers(live_api: LiveApi, count: int) -> list[str]:
    """``count`` customers of organization A's merchant, with personal data (as an order import stores it)."""
    keyring = Keyring.parse(KEY_ENTRY)
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        await init_connection(conn)
        catalog = await seed_catalog(conn, organization_id=live_api.a.org, variants=1, name="A")
        ids = []
        for n in range(count):
            buyer = Buyer.seen(f"70{n}", name="Nguyễn Văn An", email=EMAIL, phone="+84901234567", address="****")
            assert buyer is not None
            source = crm_customers.BuyerSource(catalog.merchant_id, "shopee", "880001", _now(conn))
            async with conn.transaction():
                ids.append(await crm_customers.link_customer(conn, keyring, buyer, source))
    finally:
        await conn.close()
    return [i for i in ids if i]


def _now(conn: asyncpg.Connection) -> object:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_list_get_and_erase_masked_and_scoped(live_api: LiveApi) -> None:
    ids = await _customers(live_api, 3)
    status, page = await live_api.call("GET", "/v1/customers?limit=2", live_api.a.token)
    assert status == 200, page
    assert [c["id"] for c in page["items"]] == sorted(ids)[:2] and page["next_after"] == sorted(ids)[1]
    status, rest = await live_api.call("GET", f"/v1/customers?after={page['next_after']}", live_api.a.token)
    assert [c["id"] for c in rest["items"]] == sorted(ids)[2:] and rest["next_after"] is None
    one = page["items"][0]
    assert one["email"] == "a***@example.vn" and one["phone"] == "***67" and one["name"] == "N*** V*** A***"
    assert one["address"] == "***" and one["masked_by_platform"] == ["address"]
    text = str(page)
    assert "Nguyễn" not in text and EMAIL not in text and "901234567" not in text
    status, got = await live_api.call("GET", f"/v1/customers/{ids[0]}", live_api.a.token)
    assert status == 200 and got["id"] == ids[0]
    assert (await live_api.call("GET", "/v1/customers", live_api.b.token))[1]["items"] == []
    assert (await live_api.call("GET", "/v1/customers?platform=lazada", live_api.a.token))[1]["items"] == []
    assert (await live_api.call("GET", f"/v1/customers/{ids[0]}", live_api.b.token))[0] == 404
    assert (await live_api.call("DELETE", f"/v1/customers/{ids[0]}", live_api.b.token))[0] == 404
    status, _ = await live_api.call("DELETE", f"/v1/customers/{ids[0]}", live_api.a.token)
    assert status == 204
    assert (await live_api.call("GET", f"/v1/customers/{ids[0]}", live_api.a.token))[0] == 404
    assert (await live_api.call("DELETE", f"/v1/customers/{ids[0]}", live_api.a.token))[0] == 404
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        record = await conn.fetchrow("SELECT * FROM customer_erasures WHERE customer_id = $1", ids[0])
    finally:
        await conn.close()
    assert record["reason"] == "api" and record["requested_by"].startswith("token:")
    assert record["organization_id"] == live_api.a.org


async def test_bad_parameters_are_4xx(live_api: LiveApi) -> None:
    for query in (
        "limit=0",
        "limit=501",
        "limit=99999999999999999999",
        "limit=abc",
        "platform=ebay",
        "shop_id=not-a-uuid",
        "updated_after=yesterday",
        "updated_after=99999-01-01T00:00:00Z",
        "after=" + "x" * 5000,
        "merchant_id=",
        "unknown=1",
    ):
        status, body = await live_api.call("GET", "/v1/customers?" + query, live_api.a.token)
        assert 400 <= status < 500, (query, status, body)
    for path in ("/v1/customers/" + "9" * 5000, "/v1/customers/%00", "/v1/customers/1%27--"):
        for method in ("GET", "DELETE"):
            status, body = await live_api.call(method, path, live_api.a.token)
            assert 400 <= status < 500, (method, path, status, body)
