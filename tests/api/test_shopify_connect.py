"""Shopify's connect through the live API and its sandbox (issue #19): the authorization URL names the shop, the
sandbox's approval redirects back with a signed query, and the callback checks that signature before it stores or
exchanges anything. A hostile ``shop`` or a tampered callback is refused (422), and nothing is stored."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import asyncpg
import pytest

from nfsync.connectors.shopify.sandbox import SAMPLE_APP
from nfsync.connectors.shopify.sandbox.emulator import Sandbox
from tests.api.conftest import LiveApi

DOMAIN = "connect-shop.myshopify.com"


async def _integration(live_api: LiveApi, sandbox: Sandbox) -> dict[str, Any]:
    status, integration = await live_api.call(
        "POST",
        "/v1/integrations",
        live_api.a.token,
        json={
            "name": "shopify oauth",
            "platform": "shopify",
            "api_base_url": sandbox.base_url,
            "config": {"client_id": SAMPLE_APP["client_id"]},
            "credentials": {"client_secret": SAMPLE_APP["client_secret"]},
        },
    )
    assert status == 201, integration
    return dict(integration)


async def _approved(live_api: LiveApi, sandbox: Sandbox, integration_id: str) -> dict[str, str]:
    """The callback query the sandbox's approval redirects to (code, hmac, host, shop, state, timestamp)."""
    redirect = f"{live_api.url}/connected"
    query = urlencode({"redirect_uri": redirect, "shop": DOMAIN})
    status, link = await live_api.call(
        "GET", f"/v1/integrations/{integration_id}/authorize-url?{query}", live_api.a.token
    )
    assert status == 200, link
    assert link["url"].startswith(f"{sandbox.base_url}/{DOMAIN}/admin/oauth/authorize?")
    async with live_api.session.get(link["url"], allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith(redirect)
    return dict(parse_qsl(urlsplit(location).query))


async def _rows(live_api: LiveApi, table: str, integration_id: str) -> int:
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        return int(
            await conn.fetchval(f"SELECT count(*) FROM {table} WHERE integration_id = $1", uuid.UUID(integration_id))
        )
    finally:
        await conn.close()


async def test_connect_through_the_signed_redirect(live_api: LiveApi) -> None:
    sandbox = Sandbox(dict(SAMPLE_APP))
    async with sandbox.running():
        sandbox.add_shop(DOMAIN, "Connect shop")
        integration = await _integration(live_api, sandbox)
        query = await _approved(live_api, sandbox, integration["id"])
        status, connected = await live_api.call("GET", f"/oauth/callback/shopify?{urlencode(query)}", None)
        assert status == 200, connected
        assert connected["shops"] == [DOMAIN]


@pytest.mark.parametrize(
    "tamper",
    [
        {"hmac": "0" * 64},
        {"shop": "evil-shop.myshopify.com"},
        {"code": "another-code"},
        {"timestamp": "1"},
        {"shop": "evil.example.com"},
    ],
    ids=["hmac", "other-shop", "other-code", "stale", "not-myshopify"],
)
async def test_a_tampered_callback_is_refused_and_nothing_is_stored(live_api: LiveApi, tamper: dict[str, str]) -> None:
    sandbox = Sandbox(dict(SAMPLE_APP))
    async with sandbox.running():
        sandbox.add_shop(DOMAIN, "Connect shop")
        integration = await _integration(live_api, sandbox)
        query = await _approved(live_api, sandbox, integration["id"])
        tokens_before = len(sandbox.shops[DOMAIN].access)
        status, body = await live_api.call("GET", f"/oauth/callback/shopify?{urlencode({**query, **tamper})}", None)
        assert status == 422, body
        assert await _rows(live_api, "marketplace_accounts", integration["id"]) == 0
        assert len(sandbox.shops[DOMAIN].access) == tokens_before  # the code was never exchanged
        # the untouched query still connects: the refusal did not use up the state
        status, connected = await live_api.call("GET", f"/oauth/callback/shopify?{urlencode(query)}", None)
        assert status == 200, connected


@pytest.mark.parametrize(
    "shop",
    [
        "evil.example.com",
        "connect-shop.myshopify.com.evil.example.com",
        "https://connect-shop.myshopify.com",
        "connect-shop.myshopify.com/admin",
        "../../etc/passwd",
        "connect-shop.myshopify.com\n",
        "-lead.myshopify.com",
        "a" * 255,
        "\u0441onnect.myshopify.com",  # a Cyrillic letter
        "connect shop.myshopify.com",
    ],
)
async def test_authorize_url_refuses_a_shop_that_is_not_a_myshopify_domain(live_api: LiveApi, shop: str) -> None:
    sandbox = Sandbox(dict(SAMPLE_APP))
    async with sandbox.running():
        integration = await _integration(live_api, sandbox)
        redirect = quote(f"{live_api.url}/connected", safe="")
        path = f"/v1/integrations/{integration['id']}/authorize-url?redirect_uri={redirect}&shop={quote(shop, safe='')}"
        status, body = await live_api.call("GET", path, live_api.a.token)
        assert status == 422, body
        assert await _rows(live_api, "oauth_states", integration["id"]) == 0  # no state was issued


async def test_authorize_url_without_a_shop_says_shopify_needs_one(live_api: LiveApi) -> None:
    sandbox = Sandbox(dict(SAMPLE_APP))
    async with sandbox.running():
        integration = await _integration(live_api, sandbox)
        redirect = quote(f"{live_api.url}/connected", safe="")
        status, body = await live_api.call(
            "GET", f"/v1/integrations/{integration['id']}/authorize-url?redirect_uri={redirect}", live_api.a.token
        )
        assert status == 422 and "myshopify.com" in str(body), body


async def test_another_organization_cannot_ask_for_the_authorize_url(live_api: LiveApi) -> None:
    sandbox = Sandbox(dict(SAMPLE_APP))
    async with sandbox.running():
        integration = await _integration(live_api, sandbox)
        query = urlencode({"redirect_uri": f"{live_api.url}/connected", "shop": DOMAIN})
        status, _ = await live_api.call(
            "GET", f"/v1/integrations/{integration['id']}/authorize-url?{query}", live_api.b.token
        )
        assert status == 404
