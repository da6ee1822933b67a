"""OAuth `state` (issue #13): single-use, bound to the token that asked for it, redirect_uri on allowed origins, and
no connect into a deactivated integration. Before: a state could be replayed for an hour to attach another shop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from nfsync.connectors.base.sandbox import SandboxBase
from nfsync.connectors.base.sandboxes import load_sandbox
from tests.api.conftest import LiveApi


@dataclass
class Connect:
    api: LiveApi
    sandbox: SandboxBase
    integration: str

    async def link(self, token: str, redirect: str | None = None) -> tuple[int, Any]:
        target = redirect or f"{self.api.url}/connected"
        return await self.api.call(
            "GET", f"/v1/integrations/{self.integration}/authorize-url?redirect_uri={target}", token
        )

    async def callback(self, state: str, shop: str) -> tuple[int, Any]:
        self.sandbox.add_shop(shop, f"shop {shop}")
        code = self.sandbox.issue_code(shop)
        return await self.api.call("GET", f"/oauth/callback/shopee?code={code}&state={state}&shop_id={shop}", None)


@pytest.fixture
async def connect(live_api: LiveApi) -> AsyncIterator[Connect]:
    spec = load_sandbox("shopee")
    sandbox = spec.sandbox(dict(spec.sample_app))
    async with sandbox.running():
        _, integration = await live_api.call(
            "POST",
            "/v1/integrations",
            live_api.a.token,
            json={
                "name": "shopee oauth",
                "platform": "shopee",
                "api_base_url": sandbox.base_url,
                "config": {"partner_id": spec.sample_app["partner_id"]},
                "credentials": {"partner_key": spec.sample_app["partner_key"]},
            },
        )
        yield Connect(live_api, sandbox, integration["id"])


async def test_a_state_is_used_once(connect: Connect) -> None:
    _, link = await connect.link(connect.api.a.token)
    status, first = await connect.callback(link["state"], "660001")
    assert status == 200, first
    status, again = await connect.callback(link["state"], "660002")
    assert status == 422 and "used" in again["error"]["message"], "a replayed state attaches nothing"
    _, shops = await connect.api.call("GET", f"/v1/accounts/{first['account_id']}/shops", connect.api.a.token)
    assert [s["shop_id"] for s in shops["items"]] == ["660001"]


async def test_a_state_dies_with_the_token_that_asked_for_it(connect: Connect) -> None:
    token = await connect.api.token(connect.api.a.org, ["integrations:write"])
    _, link = await connect.link(token)
    _, listing = await connect.api.call("GET", "/v1/tokens", connect.api.a.token)
    used = next(t for t in listing["items"] if t["scopes"] == ["integrations:write"] and t["last_used_at"])
    await connect.api.call("POST", f"/v1/tokens/{used['id']}/revoke", connect.api.a.token)
    status, _ = await connect.callback(link["state"], "660003")
    assert status == 422


async def test_redirect_uri_must_be_on_an_allowed_origin(connect: Connect) -> None:
    status, body = await connect.link(connect.api.a.token, "https://attacker.example/steal")
    assert status == 422 and "redirect_uri" in body["error"]["message"]


async def test_no_connect_into_a_deactivated_integration(connect: Connect) -> None:
    _, link = await connect.link(connect.api.a.token)
    await connect.api.call("POST", f"/v1/integrations/{connect.integration}/deactivate", connect.api.a.token)
    status, _ = await connect.callback(link["state"], "660004")
    assert status == 404
