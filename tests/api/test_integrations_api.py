"""Integrations, accounts and shops over HTTP: secrets write-only and masked, encrypted at rest, tenant-scoped."""

from __future__ import annotations

import json
import uuid

import asyncpg

from nfsync.connectors.base.secret import Secret
from nfsync.workers.api.auth import create_token
from nfsync.workers.crypto import Keyring, SecretField
from tests.api.conftest import KEY_ENTRY, LiveApi

CANARY = "partner-key-canary-7d1e"


async def _integration(api: LiveApi, **extra: object) -> dict[str, object]:
    body = {
        "name": "Shopee VN",
        "platform": "shopee",
        "config": {"partner_id": "2001887"},
        "credentials": {"partner_key": CANARY},
        "webhook_secret": "whsec-canary-01",
        **extra,
    }
    status, created = await api.call("POST", "/v1/integrations", api.a.token, json=body)
    assert status == 201, created
    return created


async def test_secrets_are_write_only_and_encrypted(live_api: LiveApi) -> None:
    created = await _integration(live_api)
    assert created["credentials"] == {"partner_key": "***"} and created["webhook_secret"] == "***"
    assert created["webhook_url"].endswith(f"/webhooks/shopee/{created['id']}")
    status, read = await live_api.call("GET", f"/v1/integrations/{created['id']}", live_api.a.token)
    assert status == 200 and CANARY not in str(read)
    _, listing = await live_api.call("GET", "/v1/integrations", live_api.a.token)
    assert CANARY not in str(listing) and len(listing["items"]) == 2  # plus the fixture's seeded one
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        stored = await conn.fetchrow(
            "SELECT organization_id, credentials FROM marketplace_integrations WHERE id = $1", uuid.UUID(created["id"])
        )
    finally:
        await conn.close()
    token = json.loads(stored["credentials"])["partner_key"]
    assert token.startswith("enc:v1:api1:")
    where = SecretField("marketplace_integrations", "credentials", str(stored["organization_id"]), created["id"])
    assert Keyring.parse(KEY_ENTRY).decrypt(token, where.with_field("partner_key")) == Secret(CANARY)


async def test_patch_merges_and_removes_credentials(live_api: LiveApi) -> None:
    created = await _integration(live_api)
    path = f"/v1/integrations/{created['id']}"
    change = {"credentials": {"previous_partner_key": "old-key-1"}, "sync_interval": 15}
    status, patched = await live_api.call("PATCH", path, live_api.a.token, json=change)
    assert status == 200 and patched["credentials"] == {"partner_key": "***", "previous_partner_key": "***"}
    assert patched["sync_interval"] == 15 and patched["name"] == "Shopee VN"
    _, patched = await live_api.call(
        "PATCH", path, live_api.a.token, json={"credentials": {"previous_partner_key": None}}
    )
    assert patched["credentials"] == {"partner_key": "***"}
    status, body = await live_api.call("PATCH", path, live_api.a.token, json={"rate_limit": 0})
    assert status == 422 and body["error"]["details"][0]["path"] == "body.rate_limit"
    _, deactivated = await live_api.call("POST", f"{path}/deactivate", live_api.a.token)
    assert deactivated["status"] == "inactive"


async def test_duplicate_name_and_other_organization(live_api: LiveApi) -> None:
    created = await _integration(live_api)
    status, body = await live_api.call(
        "POST", "/v1/integrations", live_api.a.token, json={"name": "Shopee VN", "platform": "shopee"}
    )
    assert status == 422 and "already exists" in body["error"]["message"]
    for method, path in (
        ("GET", f"/v1/integrations/{created['id']}"),
        ("PATCH", f"/v1/integrations/{created['id']}"),
        ("POST", f"/v1/integrations/{created['id']}/accounts"),
    ):
        kwargs = {"json": {}} if method != "GET" else {}
        if path.endswith("accounts"):
            kwargs = {"json": {"name": "x", "platform_account_id": "1"}}
        status, body = await live_api.call(method, path, live_api.b.token, **kwargs)
        assert status == 404, (method, path, body)


async def test_accounts_and_shops(live_api: LiveApi) -> None:
    created = await _integration(live_api)
    status, account = await live_api.call(
        "POST",
        f"/v1/integrations/{created['id']}/accounts",
        live_api.a.token,
        json={
            "name": "Main",
            "platform_account_id": "880011",
            "access_token": "at-canary-1",
            "refresh_token": "rt-canary-1",
            "token_expires_at": "2030-01-01T00:00:00Z",
        },
    )
    assert status == 201 and account["access_token"] == "***" and account["refresh_token"] == "***"
    assert "canary" not in str(account)
    status, shop = await live_api.call(
        "POST",
        f"/v1/accounts/{account['id']}/shops",
        live_api.a.token,
        json={"shop_id": "880011", "shop_name": "Main shop"},
    )
    assert status == 201 and shop["integration_id"] == created["id"] and shop["platform"] == "shopee"
    status, _ = await live_api.call(
        "POST",
        f"/v1/accounts/{account['id']}/shops",
        live_api.a.token,
        json={"shop_id": "880011", "shop_name": "Again"},
    )
    assert status == 422
    _, shops = await live_api.call("GET", f"/v1/accounts/{account['id']}/shops", live_api.a.token)
    assert [s["shop_id"] for s in shops["items"]] == ["880011"]
    _, task = await live_api.call(
        "POST",
        "/v1/sync-tasks",
        live_api.a.token,
        json={
            "integration_id": created["id"],
            "shop_id": shop["id"],
            "task_type": "order_sync",
            "direction": "marketplace_to_crm",
        },
    )
    _, deactivated = await live_api.call("POST", f"/v1/accounts/{account['id']}/deactivate", live_api.a.token)
    assert deactivated["status"] == "inactive"
    _, stopped = await live_api.call("GET", f"/v1/sync-tasks/{task['task_id']}", live_api.a.token)
    assert stopped["status"] == "cancelled", "an account's pending tasks stop with it"
    status, patched = await live_api.call(
        "PATCH", f"/v1/shops/{shop['id']}", live_api.a.token, json={"shop_name": "Renamed", "sale_channel_id": "nope"}
    )
    assert status == 404 and patched["error"]["message"] == "sale channel 'nope' not found"


async def test_writes_need_the_integrations_scope(live_api: LiveApi) -> None:
    pool = await asyncpg.create_pool(live_api.settings.database_url, min_size=1, max_size=1)
    try:
        reader = await create_token(pool, live_api.a.org, ["tasks:read"], "reader")
    finally:
        await pool.close()
    status, _ = await live_api.call("POST", "/v1/integrations", reader, json={"name": "x", "platform": "lazada"})
    assert status == 403
    assert (await live_api.call("GET", "/v1/integrations", reader))[0] == 200


async def test_inputs_the_database_would_refuse_are_422(live_api: LiveApi) -> None:
    """Found by schemathesis: each of these used to surface as a 503."""
    created = await _integration(live_api)
    path = f"/v1/integrations/{created['id']}"
    cases = [
        ("PATCH", path, {"name": None}, "body"),
        ("PATCH", path, {"rate_limit": 10**12}, "body.rate_limit"),
        ("POST", "/v1/integrations", {"name": "nul\u0000name", "platform": "lazada"}, "body.name"),
        ("PATCH", f"/v1/shops/{live_api.a.shops[0]}", {"shop_status": None}, "body"),
    ]
    for method, target, body, where in cases:
        status, answer = await live_api.call(method, target, live_api.a.token, json=body)
        assert status == 422, (body, answer)
        assert any(d["path"].startswith(where) for d in answer["error"]["details"]), answer
    await _integration(live_api, name="Second")
    status, answer = await live_api.call("PATCH", path, live_api.a.token, json={"name": "Second"})
    assert status == 422 and answer["error"]["code"] == "validation_failed"
    _, read = await live_api.call("GET", path, live_api.a.token)
    assert read["created_at"].endswith("+00:00") or read["created_at"].endswith("Z"), "RFC 3339 with a zone"
