"""Marketplace pushes into the API, for each platform, signed by that platform's sandbox exactly as it signs."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from nfsync.connectors.base.sandbox import SandboxBase, SbOrder
from nfsync.connectors.base.sandboxes import SandboxSpec, load_sandbox
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from tests.api.conftest import LiveApi

SHOP = "770001"


@dataclass
class Hook:
    api: LiveApi
    spec: SandboxSpec
    sandbox: SandboxBase
    integration: str
    shop: str
    path: str
    key: str  # the platform's shop id: SHOP, or Shopify's domain for it

    def push(self, order: SbOrder) -> tuple[dict[str, str], bytes]:
        headers, body, _url = self.sandbox.signed_push(
            self.sandbox.shops[self.key], {"kind": "order_status_changed", "order": order}
        )
        return headers, body

    async def post(self, headers: dict[str, str], body: bytes) -> int:
        status, _ = await self.api.call("POST", self.path, None, data=body, headers=headers)
        return status

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.api.settings.database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


def _split_credentials(spec: SandboxSpec) -> tuple[dict[str, str], dict[str, str]]:
    secret_names = {spec.platform.push_signed_with, "consumer_key", "consumer_secret", "app_secret", "partner_key"}
    config = {k: v for k, v in spec.sample_app.items() if k not in secret_names}
    credentials = {k: v for k, v in spec.sample_app.items() if k in secret_names}
    return config, credentials


@pytest.fixture(params=PLATFORM_PACKAGES)
async def hook(request: pytest.FixtureRequest, live_api: LiveApi) -> Any:
    spec = load_sandbox(request.param)
    sandbox = spec.sandbox(dict(spec.sample_app))
    sandbox.webhook_secret = sandbox.webhook_secret or "wc-webhook-secret-0001"
    async with sandbox.running():
        key = sandbox.add_shop(SHOP, "Hook shop", access_token="tok-1", refresh_token="ref-1").shop_id
        config, credentials = _split_credentials(spec)
        body: dict[str, Any] = {
            "name": f"{spec.name} hooks",
            "platform": spec.name,
            "config": config,
            "credentials": credentials,
        }
        if spec.name == "woocommerce":
            body["webhook_secret"] = sandbox.webhook_secret
        _, integration = await live_api.call("POST", "/v1/integrations", live_api.a.token, json=body)
        _, account = await live_api.call(
            "POST",
            f"/v1/integrations/{integration['id']}/accounts",
            live_api.a.token,
            json={"name": "a", "platform_account_id": key},
        )
        _, shop = await live_api.call(
            "POST",
            f"/v1/accounts/{account['id']}/shops",
            live_api.a.token,
            json={"shop_id": key, "shop_name": "Hook shop"},
        )
        path = f"/webhooks/{spec.name}/{integration['id']}"
        sandbox.webhook_url = live_api.url + path
        sandbox.add_listing(sandbox.shops[key], "Shirt", [{"sku": "HOOK-1", "price": "100000", "stock": 3}])
        yield Hook(live_api, spec, sandbox, integration["id"], shop["id"], path, key)


def _order(hook: Hook) -> SbOrder:
    return hook.sandbox.add_order(
        hook.sandbox.shops[hook.key], [{"sku": "HOOK-1"}], status=hook.sandbox.initial_order_status()
    )


async def test_valid_push_is_stored_once_and_enqueues_an_order_sync(hook: Hook) -> None:
    order = _order(hook)
    headers, body = hook.push(order)
    assert await hook.post(headers, body) == 200
    assert await hook.post(headers, body) == 200, "a duplicate delivery is acknowledged"
    stored = await hook.rows("SELECT status, entity_id, task_id FROM marketplace_webhooks")
    assert len(stored) == 1 and stored[0]["status"] == "processed" and stored[0]["entity_id"] == order.order_id
    tasks = await hook.rows("SELECT task_type, direction, priority, filter_criteria, shop_id FROM sync_tasks")
    assert len(tasks) == 1 and tasks[0]["task_type"] == "order_sync" and tasks[0]["priority"] == 9
    assert json.loads(tasks[0]["filter_criteria"]) == {"webhook_orders": True}
    assert str(tasks[0]["shop_id"]) == hook.shop
    linked = await hook.rows("SELECT entity_id FROM marketplace_webhooks w JOIN sync_tasks t ON t.id = w.task_id")
    assert [r["entity_id"] for r in linked] == [order.order_id], "the handler finds the order through its task"


async def test_a_burst_for_one_shop_is_one_task_linking_every_order(hook: Hook) -> None:
    orders = [_order(hook) for _ in range(5)]
    for order in orders:
        assert await hook.post(*hook.push(order)) == 200
    tasks = await hook.rows("SELECT id FROM sync_tasks")
    linked = await hook.rows("SELECT entity_id, task_id FROM marketplace_webhooks")
    assert len(tasks) == 1 and {r["task_id"] for r in linked} == {tasks[0]["id"]}
    assert sorted(r["entity_id"] for r in linked) == sorted(o.order_id for o in orders)


async def test_tampered_reserialised_and_wrong_secret_are_rejected(hook: Hook) -> None:
    order = _order(hook)
    headers, body = hook.push(order)
    altered = order.order_id[:-1] + ("0" if order.order_id[-1] != "0" else "1")
    assert await hook.post(headers, body.replace(order.order_id.encode(), altered.encode())) == 401
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    assert reserialised != body and await hook.post(headers, reserialised) == 401
    field = hook.spec.platform.push_signed_with
    change = (
        {"webhook_secret": "another-secret-9999"}
        if field == "webhook_secret"
        else {"credentials": {field: "another-secret-9999"}}
    )
    await hook.api.call("PATCH", f"/v1/integrations/{hook.integration}", hook.api.a.token, json=change)
    assert await hook.post(headers, body) == 401
    assert await hook.rows("SELECT id FROM marketplace_webhooks") == []
    assert await hook.rows("SELECT id FROM sync_tasks") == []


async def test_rotated_secret_overlap_is_accepted(hook: Hook) -> None:
    field = hook.spec.platform.push_signed_with
    old = hook.sandbox.webhook_secret if field == "webhook_secret" else hook.spec.sample_app[field]
    await hook.api.call(
        "PATCH",
        f"/v1/integrations/{hook.integration}",
        hook.api.a.token,
        json={
            **({"webhook_secret": "new-secret-0002"} if field == "webhook_secret" else {}),
            "credentials": {
                f"previous_{field}": old,
                **({} if field == "webhook_secret" else {field: "new-secret-0002"}),
            },
        },
    )
    headers, body = hook.push(_order(hook))  # still signed with the old secret
    assert await hook.post(headers, body) == 200


async def test_oversize_body_is_413_and_unknown_integration_401(hook: Hook) -> None:
    headers, _ = hook.push(_order(hook))
    big = io.BytesIO(b"{" + b" " * (1024 * 1024 + 10) + b"}")
    status, body = await hook.api.call("POST", hook.path, None, data=big, headers=headers)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    status, body = await hook.api.call(
        "POST", f"/webhooks/{hook.spec.name}/00000000-0000-0000-0000-000000000000", None, data=b"{}"
    )
    assert status == 401 and body["error"]["code"] == "unauthorized", "like a bad signature: no existence oracle"


async def test_replay_processes_a_stored_push_again(hook: Hook) -> None:
    headers, body = hook.push(_order(hook))
    assert await hook.post(headers, body) == 200
    [row] = await hook.rows("SELECT id FROM marketplace_webhooks")
    status, replayed = await hook.api.call("POST", f"/ops/webhooks/{row['id']}/replay", hook.api.a.token)
    assert status == 200 and replayed["status"] == "processed"
    attempts = await hook.rows("SELECT attempts FROM marketplace_webhooks")
    assert attempts[0]["attempts"] == 2
    status, _ = await hook.api.call("POST", f"/ops/webhooks/{row['id']}/replay", hook.api.b.token)
    assert status == 404, "another organization's webhook"


@pytest.mark.parametrize("hook", ["woocommerce"], indirect=True)
async def test_woocommerce_creation_ping_is_answered_not_stored(hook: Hook) -> None:
    ping = {"Content-Type": "application/x-www-form-urlencoded"}
    assert await hook.post(ping, b"webhook_id=17") == 200
    assert await hook.rows("SELECT id FROM marketplace_webhooks") == []
    unsigned = {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated"}
    assert await hook.post(unsigned, b'{"id": 1}') == 401, "only the ping goes unsigned"


@pytest.mark.parametrize("live_api", [{"amqp_url": "amqp://guest:guest@127.0.0.1:1/"}], indirect=True)
async def test_pushes_accepted_while_rabbitmq_is_unreachable(live_api: LiveApi) -> None:
    spec = load_sandbox("tiktok")
    sandbox = spec.sandbox(dict(spec.sample_app))
    async with sandbox.running():
        shop = sandbox.add_shop(SHOP, access_token="t")
        config, credentials = _split_credentials(spec)
        _, integration = await live_api.call(
            "POST",
            "/v1/integrations",
            live_api.a.token,
            json={"name": "tt", "platform": "tiktok", "config": config, "credentials": credentials},
        )
        _, account = await live_api.call(
            "POST",
            f"/v1/integrations/{integration['id']}/accounts",
            live_api.a.token,
            json={"name": "a", "platform_account_id": SHOP},
        )
        await live_api.call(
            "POST", f"/v1/accounts/{account['id']}/shops", live_api.a.token, json={"shop_id": SHOP, "shop_name": "s"}
        )
        sandbox.webhook_url = f"{live_api.url}/webhooks/tiktok/{integration['id']}"
        order = sandbox.add_order(shop, [{"sku": "X"}], status=sandbox.initial_order_status())
        headers, body, _ = sandbox.signed_push(shop, {"kind": "order_status_changed", "order": order})
        status, _ = await live_api.call(
            "POST", f"/webhooks/tiktok/{integration['id']}", None, data=body, headers=headers
        )
    assert status == 200
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM sync_tasks WHERE status = 'pending'") == 1
    finally:
        await conn.close()


async def test_503_while_the_database_is_unreachable(database: Any) -> None:
    """The platform must retry: with the database gone the push is answered 503, not 2xx and not 500."""
    from aiohttp import web

    from nfsync.workers.api.app import api_runner, api_state
    from tests.api.conftest import free_port

    settings = database.model_copy(update={"amqp_startup_timeout": 1.0})
    async with api_state(settings) as state:
        runner = api_runner(state)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await state.system_pool.close()  # every connection gone, as when PostgreSQL stops
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/webhooks/tiktok/00000000-0000-0000-0000-000000000001", data=b"{}"
            ) as response,
        ):
            body = await response.json()
        await runner.cleanup()
    assert response.status == 503 and body["error"]["code"] == "unavailable"


@pytest.mark.parametrize("hook", ["shopee", "tiktok"], indirect=True)
async def test_deauthorization_and_expiry_pushes(hook: Hook) -> None:
    shop = hook.sandbox.shops[SHOP]
    pending = await hook.api.call(
        "POST",
        "/v1/sync-tasks",
        hook.api.a.token,
        json={
            "integration_id": hook.integration,
            "shop_id": hook.shop,
            "task_type": "inventory_sync",
            "direction": "crm_to_marketplace",
        },
    )
    headers, body, _ = hook.sandbox.signed_push(shop, {"kind": "authorization_expiring"})
    assert await hook.post(headers, body) == 200
    expiring = await hook.rows("SELECT metadata FROM marketplace_accounts WHERE platform_account_id = $1", SHOP)
    assert "authorization_expiring_at" in json.loads(expiring[0]["metadata"])
    headers, body, _ = hook.sandbox.signed_push(shop, {"kind": "shop_deauthorized"})
    assert await hook.post(headers, body) == 200
    account = await hook.rows(
        "SELECT status, error_message FROM marketplace_accounts WHERE platform_account_id = $1", SHOP
    )
    assert account[0]["status"] == "error" and "deauthorized" in account[0]["error_message"]
    shops = await hook.rows("SELECT shop_status FROM marketplace_shops WHERE shop_id = $1", SHOP)
    assert shops[0]["shop_status"] == "inactive"
    task = await hook.rows("SELECT status FROM sync_tasks WHERE id = $1::uuid", pending[1]["task_id"])
    assert task[0]["status"] == "cancelled", "the shop's pending work stopped"
    deauthorized = await hook.rows("SELECT shop_id, subject, data FROM event_outbox WHERE type = 'shop.deauthorized'")
    assert [(str(e["shop_id"]), e["subject"]) for e in deauthorized] == [(hook.shop, f"shops/{hook.shop}")]
    data = json.loads(deauthorized[0]["data"])
    assert data["reason"] == "deauthorized by the platform" and data["platform_shop_id"] == SHOP
    assert data["reauthorize"] == f"/v1/integrations/{hook.integration}/authorize-url"
    headers, body, _ = hook.sandbox.signed_push(shop, {"kind": "shop_deauthorized"})  # a second push, same change
    assert await hook.post(headers, body) == 200
    again = await hook.rows("SELECT count(*) AS n FROM event_outbox WHERE type = 'shop.deauthorized'")
    assert again[0]["n"] == 1, "a shop already deauthorized is announced once"
