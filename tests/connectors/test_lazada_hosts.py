"""Lazada's per-venture API hosts (issue #14): each shop's calls go to the host of its venture, known from the token
answer (``country`` / ``country_user_info``; a cross-border 'cb' token serves one seller per venture), and the
sandbox refuses a seller's token on another venture's host.

Documented facts: tests/contracts/lazada.json ``hosts`` and the /auth/token/create and /auth/token/refresh entries
(LAZ-GUIDE api-endpoint-urls.md, seller-authorization-introduction.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider
from nfsync.connectors.base.client import AppCredentials, ClientSettings, ShopRef
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.lazada import PLATFORM, mapping, signing
from nfsync.connectors.lazada.client import AUTH_BASE_URL, Client
from nfsync.connectors.lazada.sandbox import Sandbox
from tests.connectors.test_lazada import ACCESS, APP, SELLER, Env, env

__all__ = ["env"]
CONTRACT: dict[str, Any] = json.loads((Path(__file__).parents[1] / "contracts" / "lazada.json").read_text())
HOSTS = {k: v for k, v in CONTRACT["hosts"].items() if k not in ("auth", "source")}


def _client(
    base_url: str, extra: dict[str, str] | None, session: Any = None, tokens: Any = None, seller: str = SELLER
) -> Client:
    shop = ShopRef(seller, extra) if extra is not None else None
    settings = ClientSettings(base_url=base_url, backoff_base=0.01, backoff_cap=0.1, read_timeout=5.0)
    return Client(settings, AppCredentials(APP), shop, session=session, tokens=tokens, limiter=LocalRateLimiter())


@pytest.mark.parametrize("venture", sorted(HOSTS))
def test_each_shop_calls_its_ventures_host(venture: str) -> None:
    """Before: one configured base URL for every shop, whatever its venture."""
    for configured in ("https://api.lazada.vn/rest", "https://api.lazada.sg", ""):
        assert _client(configured, {"region": venture.upper()}).api_base == HOSTS[venture]
        assert _client(configured, {"venture": venture, "region": "xx"}).api_base == HOSTS[venture]
        assert _client(configured, {"venture": venture}).auth_base == AUTH_BASE_URL


def test_the_configured_base_url_is_the_fallback_and_the_override() -> None:
    assert _client("https://api.lazada.co.th/rest", {}).api_base == "https://api.lazada.co.th/rest"
    with pytest.raises(PermanentError):
        _ = _client("", {"region": "cb"}).api_base  # no venture, no configured host
    sandbox = "http://127.0.0.1:8123"
    assert _client(f"{sandbox}/{{venture}}/rest", {"region": "vn"}).api_base == f"{sandbox}/vn/rest"
    assert _client(f"{sandbox}/{{venture}}/rest", None).api_base == f"{sandbox}/rest"
    assert _client(sandbox, {"region": "th"}).api_base == f"{sandbox}/rest", "a non-Lazada URL overrides the table"


def test_the_platform_hosts_are_the_documented_ones() -> None:
    documented = {urlsplit(url).hostname for url in CONTRACT["hosts"].values() if url.startswith("https://")}
    assert PLATFORM.api_hosts == documented


def test_the_token_answer_names_each_sellers_venture() -> None:
    """Before: the venture of each seller was not kept (only the account's country)."""
    now = datetime.now(UTC)
    sample = CONTRACT["calls"]["/auth/token/create"]["response_sample"]  # country 'sg', entry country 'SG'
    pair = mapping.token_pair(sample, now)
    assert pair.shop_ids == ["1001"] and pair.extra["ventures"] == {"1001": "sg"}
    assert pair.extra["shop_data"] == {"1001": {"venture": "sg"}}
    assert pair.access_expires_at == now + timedelta(seconds=10), "expires_in comes as a string"
    cross_border = {
        **sample,
        "country": "cb",
        "country_user_info": [
            {"country": "sg", "seller_id": "1001", "user_id": "10101"},
            {"country": "my", "seller_id": "2001", "user_id": "20101"},
        ],
    }  # the guide's cross-border sample
    pair = mapping.token_pair(cross_border, now)
    assert pair.shop_ids == ["1001", "2001"] and pair.extra["ventures"] == {"1001": "sg", "2001": "my"}


async def test_a_cross_border_account_reaches_each_seller_on_its_host(env: Env) -> None:
    """One cb token, a seller in SG and one in MY: each shop's client reads its own seller."""
    sg = env.sandbox.add_shop("1001", "SG seller", region="sg")
    my = env.sandbox.add_shop("2001", "MY seller", region="my")
    env.sandbox.add_cross_border([sg, my])
    pair = await env.client.exchange_code(env.sandbox.issue_code("1001"))
    assert pair.extra["country"] == "cb" and pair.extra["ventures"] == {"1001": "sg", "2001": "my"}
    for seller, data in pair.extra["shop_data"].items():
        client = _client(
            f"{env.sandbox.base_url}/{{venture}}/rest", data, env.session, MemoryTokenProvider(pair), seller
        )
        info = await client.get_shop_info()
        assert (info.platform_shop_id, info.region, info.data["cb"]) == (seller, data["venture"].upper(), True)


async def test_a_token_on_another_ventures_host_is_refused(env: Env) -> None:
    """UNCONFIRMED (no source documents it): refused as an unknown token, so the client refreshes once and then
    needs re-authorization instead of reading or writing another venture's shop."""
    on_th = await _raw_on(env, "th")
    assert on_th["code"] == "IllegalAccessToken"
    assert (await _raw_on(env, "vn"))["code"] == "0"
    expires = datetime.now(UTC) + timedelta(hours=1)
    tokens = MemoryTokenProvider(TokenPair(access_token=Secret(ACCESS), access_expires_at=expires))
    wrong = _client(f"{env.sandbox.base_url}/{{venture}}/rest", {"region": "th"}, env.session, tokens)
    with pytest.raises(ReauthorizationNeeded):
        await wrong.get_shop_info()


async def _raw_on(env: Env, venture: str) -> dict[str, Any]:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    signed = signing.sign_request(
        app_key=APP["app_key"],
        app_secret=APP["app_secret"],
        api_path="/seller/get",
        timestamp_ms=now_ms,
        access_token=ACCESS,
    )
    async with env.session.get(f"{env.sandbox.base_url}/{venture}/rest/seller/get", params=signed.query) as response:
        body: dict[str, Any] = await response.json()
        return body


async def test_token_answers_carry_the_documented_types(env: Env) -> None:
    async with aiohttp.ClientSession() as session:
        code = env.sandbox.issue_code(SELLER)
        created = await _token_call(session, env.sandbox, "/auth/token/create", {"code": code})
        refreshed = await _token_call(
            session, env.sandbox, "/auth/token/refresh", {"refresh_token": created["refresh_token"]}
        )
    assert isinstance(created["expires_in"], str) and isinstance(created["refresh_expires_in"], str)
    assert created["country_user_info"][0]["country"] == "VN" and created["country"] == "vn"
    assert refreshed["country_user_info_list"][0]["country"] == "vn"
    assert mapping.token_pair(created, datetime.now(UTC)).extra["ventures"] == {SELLER: "vn"}


async def _token_call(session: aiohttp.ClientSession, sandbox: Sandbox, path: str, params: dict[str, str]) -> Any:
    signed = signing.sign_request(
        app_key=APP["app_key"],
        app_secret=APP["app_secret"],
        api_path=path,
        timestamp_ms=int(datetime.now(UTC).timestamp() * 1000),
        params=params,
    )
    async with session.post(f"{sandbox.base_url}/rest{path}", data=signed.query) as response:
        return await response.json()
