"""Outbound calls only where they belong (issue #13): a tenant cannot make the service call loopback, private,
metadata or arbitrary hosts, and what a host answers is never reflected to the caller."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from nfsync.connectors.base.outbound import GuardedResolver, OutboundPolicy, OutboundRefused, ResolvedInward, check_url
from nfsync.connectors.shopee import API_HOSTS as SHOPEE_HOSTS
from tests.api.conftest import LiveApi, free_port

STRICT = {"outbound_allowed_hosts": ""}  # as in production: no local host allowed


async def _create(live_api: LiveApi, platform: str, url: str) -> tuple[int, Any]:
    return await live_api.call(
        "POST",
        "/v1/integrations",
        live_api.a.token,
        json={"name": f"{platform} {url}"[:100], "platform": platform, "config": {}, "api_base_url": url},
    )


@pytest.mark.parametrize("live_api", [STRICT], indirect=True)
@pytest.mark.parametrize(
    ("platform", "url"),
    [
        ("shopee", "http://127.0.0.1:9/"),
        ("shopee", "https://169.254.169.254/latest/meta-data"),
        ("shopee", "file:///etc/passwd"),
        ("shopee", "https://evil.example.com"),
        ("lazada", "https://[::1]/rest"),
        ("woocommerce", "https://10.0.0.7"),
        ("woocommerce", "https://[::ffff:127.0.0.1]"),
        ("woocommerce", "http://shop.example.com"),
        ("shopify", "https://x.myshopify.com"),
    ],
)
async def test_a_tenant_cannot_point_the_service_inward(live_api: LiveApi, platform: str, url: str) -> None:
    status, body = await _create(live_api, platform, url)
    assert status == 422, body


@pytest.mark.parametrize("live_api", [STRICT], indirect=True)
async def test_the_platforms_hosts_and_a_public_store_are_accepted(live_api: LiveApi) -> None:
    assert (await _create(live_api, "shopee", "https://partner.shopeemobile.com"))[0] == 201
    assert (await _create(live_api, "woocommerce", "https://shop.example.com"))[0] == 201
    status, body = await live_api.call(
        "PATCH",
        f"/v1/shops/{live_api.a.shops[0]}",
        live_api.a.token,
        json={"shop_data": {"auth_base_url": "https://127.0.0.1"}},
    )
    assert status == 422 and "shop_data.auth_base_url" in body["error"]["message"], body


def test_urls_are_checked_against_the_platform_and_the_operator() -> None:
    strict = OutboundPolicy()
    with pytest.raises(OutboundRefused):
        check_url("https://api.lazada.vn.evil.example/rest", SHOPEE_HOSTS, strict)
    check_url("http://127.0.0.1:9101", SHOPEE_HOSTS, OutboundPolicy.parse("127.0.0.1"))  # an operator's sandbox


async def test_names_resolving_inward_are_refused_after_dns() -> None:
    resolver = GuardedResolver(OutboundPolicy())
    try:
        with pytest.raises(ResolvedInward):
            await resolver.resolve("localhost", 80, socket.AF_INET)
    finally:
        await resolver.close()
    allowed = GuardedResolver(OutboundPolicy.parse("localhost"))
    try:
        assert [r["host"] for r in await allowed.resolve("localhost", 80, socket.AF_INET)] == ["127.0.0.1"]
    finally:
        await allowed.close()


@pytest.fixture
async def chatty_host() -> AsyncIterator[str]:
    """A 'platform' whose token endpoint answers with text that must not reach an unauthenticated caller."""

    async def refuse(_request: web.Request) -> web.Response:
        return web.json_response({"error": "canary-upstream-text", "message": "canary-upstream-text"}, status=403)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_upstream_text_is_never_reflected(live_api: LiveApi, chatty_host: str) -> None:
    _, integration = await live_api.call(
        "POST",
        "/v1/integrations",
        live_api.a.token,
        json={
            "name": "chatty",
            "platform": "shopee",
            "api_base_url": chatty_host,
            "config": {"partner_id": "1"},
            "credentials": {"partner_key": "k"},
        },
    )
    _, link = await live_api.call(
        "GET", f"/v1/integrations/{integration['id']}/authorize-url?redirect_uri={live_api.url}/done", live_api.a.token
    )
    state = link["state"]
    status, body = await live_api.call("GET", f"/oauth/callback/shopee?code=c&state={state}&shop_id=1", None)
    assert status == 422, body
    assert "canary" not in str(body)
