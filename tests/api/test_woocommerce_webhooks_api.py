"""Connecting a WooCommerce store registers its webhooks; disconnecting removes them (issue #14).

The store is the WooCommerce sandbox on loopback; the API is live (tests/api/conftest.py). No push is sent to the
API here (the intake's wake-ups use the shared broker): the registered secret is checked against what the
integration stores, and a delivery signed with it against the connector's verification."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.woocommerce import webhooks
from nfsync.connectors.woocommerce.client import WEBHOOK_TOPICS
from nfsync.connectors.woocommerce.sandbox import SANDBOX, Sandbox
from nfsync.workers.crypto import Keyring, SecretField
from tests.api.conftest import KEY_ENTRY, LiveApi

APP = dict(SANDBOX.sample_app)


@dataclass
class Connected:
    api: LiveApi
    sandbox: Sandbox
    integration: dict[str, Any]
    account: dict[str, Any]

    @property
    def delivery_url(self) -> str:
        return f"{self.api.url}/webhooks/woocommerce/{self.integration['id']}"

    def hooks(self, shop_id: str = "woo-1") -> dict[int, Any]:
        return self.sandbox.hooks.of(shop_id)

    async def add_shop(self, shop_id: str, url: str) -> tuple[int, dict[str, Any]]:
        return await self.api.call(
            "POST",
            f"/v1/accounts/{self.account['id']}/shops",
            self.api.a.token,
            json={"shop_id": shop_id, "shop_name": shop_id, "shop_url": url},
        )


@pytest.fixture
async def woo(live_api: LiveApi) -> AsyncIterator[Connected]:
    sandbox = Sandbox(APP, seed=9)
    async with sandbox.running():
        sandbox.add_shop("woo-1", "Woo shop")
        body = {"name": "woo", "platform": "woocommerce", "api_base_url": sandbox.base_url, "credentials": APP}
        _, integration = await live_api.call("POST", "/v1/integrations", live_api.a.token, json=body)
        _, account = await live_api.call(
            "POST",
            f"/v1/integrations/{integration['id']}/accounts",
            live_api.a.token,
            json={"name": "woo keys", "platform_account_id": "woo-1", "auth_type": "api_key"},
        )
        yield Connected(live_api, sandbox, integration, account)


async def stored_secret(api: LiveApi, integration_id: str) -> str:
    conn = await asyncpg.connect(api.settings.database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM marketplace_integrations WHERE id = $1", uuid.UUID(integration_id))
    finally:
        await conn.close()
    assert row is not None and row["webhook_secret"] is not None
    where = SecretField("marketplace_integrations", "webhook_secret", str(row["organization_id"]), str(row["id"]))
    return Keyring.parse(KEY_ENTRY).decrypt(row["webhook_secret"], where).reveal()


async def test_connecting_a_store_registers_its_webhooks_with_our_secret(woo: Connected) -> None:
    status, shop = await woo.add_shop("woo-1", woo.sandbox.store_url(woo.sandbox.shops["woo-1"]))
    assert status == 201 and shop["error_message"] is None
    hooks = woo.hooks()
    assert sorted(h.topic for h in hooks.values()) == sorted(WEBHOOK_TOPICS)
    assert {h.delivery_url for h in hooks.values()} == {woo.delivery_url} and {h.status for h in hooks.values()} == {
        "active"
    }
    secret = await stored_secret(woo.api, woo.integration["id"])  # generated: the integration had none
    assert {h.secret for h in hooks.values()} == {secret} and secret.isalnum()
    woo.sandbox.add_listing(woo.sandbox.shops["woo-1"], "Cup", [{"sku": "CUP-1"}])
    order = woo.sandbox.add_order(woo.sandbox.shops["woo-1"], [{"sku": "CUP-1"}], status="processing")
    topic, payload = woo.sandbox._push_payload(
        woo.sandbox.shops["woo-1"], {"kind": "order_status_changed", "order": order}
    )
    hook = next(h for h in hooks.values() if h.topic == topic)
    headers, body = woo.sandbox._delivery(woo.sandbox.shops["woo-1"], topic, payload, hook.secret, str(hook.id))
    assert webhooks.verify(headers, body, AppCredentials(APP), [secret], woo.delivery_url)


async def test_updates_do_not_duplicate_and_deactivation_removes_them(woo: Connected) -> None:
    _, shop = await woo.add_shop("woo-1", woo.sandbox.store_url(woo.sandbox.shops["woo-1"]))
    ids = set(woo.hooks())
    status, _ = await woo.api.call("PATCH", f"/v1/shops/{shop['id']}", woo.api.a.token, json={"shop_name": "Renamed"})
    assert status == 200 and set(woo.hooks()) == ids
    merchant = woo.sandbox.hooks.create("woo-1", {"topic": "order.created", "delivery_url": "https://erp.example/h"})
    status, _ = await woo.api.call("POST", f"/v1/shops/{shop['id']}/deactivate", woo.api.a.token)
    assert status == 200 and list(woo.hooks()) == [merchant.id]  # ours gone, the merchant's kept
    status, again = await woo.api.call(
        "PATCH", f"/v1/shops/{shop['id']}", woo.api.a.token, json={"shop_status": "active"}
    )
    assert status == 200 and again["error_message"] is None and len(woo.hooks()) == len(WEBHOOK_TOPICS) + 1
    status, _ = await woo.api.call("POST", f"/v1/accounts/{woo.account['id']}/deactivate", woo.api.a.token)
    assert status == 200 and list(woo.hooks()) == [merchant.id]


async def test_a_failed_registration_keeps_the_shop_and_says_why(woo: Connected) -> None:
    status, shop = await woo.add_shop("woo-gone", f"{woo.sandbox.base_url}/no-such-store")
    assert status == 201 and shop["shop_status"] == "active"
    assert shop["error_message"].startswith("webhooks not registered: ") and "rest_no_route" in shop["error_message"]
    status, listed = await woo.api.call("GET", f"/v1/accounts/{woo.account['id']}/shops", woo.api.a.token)
    assert status == 200 and [s["shop_id"] for s in listed["items"]] == ["woo-gone"]
    woo.sandbox.add_shop("no-such-store", "Now it exists")
    status, fixed = await woo.api.call(
        "PATCH",
        f"/v1/shops/{shop['id']}",
        woo.api.a.token,
        json={"shop_url": woo.sandbox.store_url(woo.sandbox.shops["no-such-store"])},
    )
    assert status == 200 and fixed["error_message"] is None and len(woo.hooks("no-such-store")) == len(WEBHOOK_TOPICS)
