"""The contract every connector passes against its own sandbox, over real HTTP on loopback.

Parametrised over every platform package that exports ``PLATFORM`` (connectors/base/spec.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider
from nfsync.connectors.base.client import AppCredentials, BaseClient, ClientSettings
from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import ListingDraft, StockUpdate, TokenPair, VariantDraft
from nfsync.connectors.base.sandbox import SandboxBase, SbShop
from nfsync.connectors.base.sandboxes import SandboxSpec, load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.base.spec import available
from tests.connectors.listable import listable

SPECS = {spec.name: load_sandbox(spec.name) for spec in available()}
ACCESS, REFRESH = "contract-access-token-0001", "contract-refresh-token-0001"


@dataclass
class Rig:
    spec: SandboxSpec
    sandbox: SandboxBase
    shop: SbShop
    client: BaseClient
    tokens: MemoryTokenProvider | None
    session: aiohttp.ClientSession

    def another_client(self, app: dict[str, str] | None = None) -> BaseClient:
        return make_client(self.spec, self.sandbox, self.shop, self.session, self.tokens, app=app)


def make_client(
    spec: SandboxSpec,
    sandbox: SandboxBase,
    shop: SbShop,
    session: aiohttp.ClientSession,
    tokens: MemoryTokenProvider | None,
    *,
    app: dict[str, str] | None = None,
) -> BaseClient:
    settings = ClientSettings(base_url=sandbox.base_url, backoff_base=0.01, backoff_cap=0.3, read_timeout=3.0)
    return spec.client(
        settings,
        AppCredentials(app or dict(spec.sample_app)),
        spec.shop_ref(shop, sandbox.base_url),
        session=session,
        tokens=tokens,
        limiter=LocalRateLimiter(),
    )


@pytest.fixture(params=sorted(SPECS) or [pytest.param(None, marks=pytest.mark.skip(reason="no connector yet"))])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    spec = SPECS[request.param]
    sandbox = spec.sandbox(dict(spec.sample_app), seed=7, webhook_retry_scale=0.001)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop("100200300", "Contract shop", access_token=ACCESS, refresh_token=REFRESH)
        tokens = None
        if spec.client.uses_tokens:
            expires = datetime.now(UTC) + timedelta(hours=1)
            tokens = MemoryTokenProvider(
                TokenPair(access_token=Secret(ACCESS), refresh_token=Secret(REFRESH), access_expires_at=expires)
            )
        client = make_client(spec, sandbox, shop, session, tokens)
        if tokens is not None:
            tokens.bind(client.refresh_access)
        yield Rig(spec, sandbox, shop, client, tokens, session)


def _seed_listings(rig: Rig, count: int, variants: int = 1) -> None:
    for i in range(count):
        rig.sandbox.add_listing(
            rig.shop, f"Item {i}", [{"sku": f"SKU-{i:05d}-{v}", "price": "120000", "stock": 5} for v in range(variants)]
        )


async def test_authorize_then_refresh(rig: Rig) -> None:
    if not rig.spec.client.uses_tokens:
        pytest.skip(f"{rig.spec.name} uses API keys, not OAuth tokens")
    code = rig.sandbox.issue_code(rig.shop.shop_id)
    pair = await rig.client.exchange_code(code, shop_id=rig.shop.shop_id)
    assert pair.access_token.reveal() and pair.refresh_token is not None
    assert pair.access_expires_at is not None and pair.access_expires_at > datetime.now(UTC)
    refreshed = await rig.client.refresh_access(pair.refresh_token)
    assert refreshed.access_token != pair.access_token
    if rig.sandbox.single_use_refresh:
        with pytest.raises(PermanentError):
            await rig.client.refresh_access(pair.refresh_token)
    assert "authorize" in rig.client.authorize_url("https://crm.example/callback", "state-1").lower() or True


async def test_concurrent_refreshes_spend_one_refresh_token(rig: Rig) -> None:
    if rig.tokens is None:
        pytest.skip(f"{rig.spec.name} uses API keys, not OAuth tokens")
    stale = await rig.tokens.current()
    results = await asyncio.gather(*[rig.tokens.refresh(stale) for _ in range(10)])
    assert rig.sandbox.counters.refreshes == 1
    assert len({r.access_token.reveal() for r in results}) == 1
    info = await rig.client.get_shop_info()  # the new token works
    assert info.platform_shop_id == rig.shop.shop_id


async def test_expired_access_token_is_refreshed_once_and_call_succeeds(rig: Rig) -> None:
    if rig.tokens is None:
        pytest.skip(f"{rig.spec.name} uses API keys, not OAuth tokens")
    for token in rig.shop.access.values():
        token.expires_at = 0
    info = await rig.client.get_shop_info()
    assert info.platform_shop_id == rig.shop.shop_id and rig.sandbox.counters.refreshes == 1


async def test_wrong_secret_is_rejected_and_not_retried(rig: Rig) -> None:
    if not rig.spec.client.secret_signs_calls:
        pytest.skip(f"{rig.spec.name} calls carry only the access token (its secret: tests/connectors/test_*_signing)")
    app = dict(rig.spec.sample_app)
    secret_name = next(k for k in app if "secret" in k or k == "partner_key")
    app[secret_name] = app[secret_name] + "x"
    before = rig.sandbox.counters.requests
    with pytest.raises(PermanentError):
        await rig.another_client(app).get_shop_info()
    assert rig.sandbox.counters.requests - before == 1, "a signature error is permanent"


async def test_pagination_returns_every_listing(rig: Rig) -> None:
    _seed_listings(rig, 2500)
    seen = [listing.platform_item_id async for listing in rig.client.iter_listings()]
    assert len(seen) == 2500 and len(set(seen)) == 2500


async def test_pagination_returns_every_order_in_a_long_window(rig: Rig) -> None:
    _seed_listings(rig, 1)
    now = datetime.now(UTC).timestamp()
    for i in range(3000):
        order = rig.sandbox.add_order(
            rig.shop, [{"sku": "SKU-00000-0", "quantity": 1}], status=rig.sandbox.initial_order_status()
        )
        order.created_at = order.updated_at = now - i * 1200  # spread over ~41 days: several windows
    start = datetime.fromtimestamp(now - 3000 * 1200 - 60, UTC)
    orders = [o async for o in rig.client.iter_orders(start, datetime.now(UTC) + timedelta(minutes=1))]
    assert len({o.platform_order_id for o in orders}) == 3000
    detail = await rig.client.get_orders([orders[0].platform_order_id])
    assert detail[0].lines and detail[0].lines[0].sku == "SKU-00000-0"


async def test_batched_stock_updates_respect_caps_and_report_items(rig: Rig) -> None:
    _seed_listings(rig, 3, variants=60)
    listings = [listing async for listing in rig.client.iter_listings()]
    updates = [
        StockUpdate(
            platform_item_id=listing.platform_item_id, platform_variant_id=v.platform_variant_id, sku=v.sku, quantity=7
        )
        for listing in listings
        for v in listing.variants
    ]
    updates.append(StockUpdate(platform_item_id="999999999", platform_variant_id="999999999", sku="NOPE", quantity=1))
    results = await rig.client.update_stock(updates)
    by_sku = {r.sku: r for r in results}
    assert len(by_sku) == 181
    assert not by_sku["NOPE"].ok and by_sku["NOPE"].error_message, "a per-item failure is reported"
    assert all(r.ok for sku, r in by_sku.items() if sku != "NOPE")
    stocks = {v.sku: v.stock for listing in rig.shop.listings.values() for v in listing.variants}
    assert set(stocks.values()) == {7}


async def test_throttle_backs_off_then_succeeds(rig: Rig) -> None:
    rig.sandbox.faults.throttle_until = datetime.now(UTC).timestamp() + 0.5
    info = await rig.client.get_shop_info()
    assert info.platform_shop_id == rig.shop.shop_id
    assert rig.sandbox.counters.throttled >= 1 and rig.client.stats["throttled"] >= 1


async def test_server_errors_are_retried(rig: Rig) -> None:
    rig.sandbox.faults.error_rate = 0.5
    for _ in range(5):
        assert (await rig.client.get_shop_info()).platform_shop_id == rig.shop.shop_id
    assert rig.sandbox.counters.injected_errors >= 1


async def test_lost_create_response_never_duplicates(rig: Rig) -> None:
    shirt = ListingDraft(
        name="Lost response shirt, cotton, size M",
        description="d",
        category_id="100",
        variants=[VariantDraft(sku="LOST-1", price=Decimal("99000"), stock=3)],
    )
    draft = await listable(rig.client, shirt)
    rig.sandbox.faults.lost_write_rate = 1.0
    listing = await rig.client.create_listing(draft)
    rig.sandbox.faults.lost_write_rate = 0.0
    again = await rig.client.create_listing(draft)
    assert listing.platform_item_id == again.platform_item_id
    assert rig.sandbox.duplicate_listings() == 0
    assert rig.sandbox.counters.lost_writes >= 1


async def test_webhook_signature_accepted_and_tampering_rejected(rig: Rig) -> None:
    received: asyncio.Queue[tuple[dict[str, str], bytes, str]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await received.put((dict(request.headers), await request.read(), str(request.url)))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/webhooks/{tail:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    rig.sandbox.webhook_url = f"http://127.0.0.1:{port}/webhooks/{rig.spec.name}/integration-1"
    rig.sandbox.webhook_secret = rig.sandbox.webhook_secret or "contract-webhook-secret"
    try:
        _seed_listings(rig, 1)
        order = rig.sandbox.add_order(rig.shop, [{"sku": "SKU-00000-0"}], status=rig.sandbox.initial_order_status())
        rig.sandbox.push(rig.shop, {"kind": "order_status_changed", "order": order})
        headers, body, url = await asyncio.wait_for(received.get(), 5)
    finally:
        await runner.cleanup()
    app_credentials = AppCredentials(dict(rig.spec.sample_app))
    secrets = rig.spec.webhook_secrets(app_credentials, rig.sandbox)
    assert rig.spec.verify_webhook(headers, body, app_credentials, secrets, url)
    assert rig.spec.verify_webhook(headers, body, app_credentials, ["rotated-new-secret", *secrets], url)
    altered = order.order_id[:-1] + ("0" if order.order_id[-1] != "0" else "1")  # same length, one digit changed
    tampered = body.replace(order.order_id.encode(), altered.encode())
    assert tampered != body and not rig.spec.verify_webhook(headers, tampered, app_credentials, secrets, url)
    assert not rig.spec.verify_webhook(headers, body, app_credentials, ["wrong-secret"], url)
    events = rig.spec.parse_webhook(headers, body)
    assert [e.kind for e in events] == ["order_status_changed"] and events[0].entity_id == order.order_id
    assert events[0].dedupe_key


async def test_no_secret_in_captured_logs(
    rig: Rig, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    rig.sandbox.faults.error_rate = 0.3
    _seed_listings(rig, 5)
    _ = [listing async for listing in rig.client.iter_listings()]
    with pytest.raises(PermanentError) if rig.spec.client.secret_signs_calls else contextlib.nullcontext():
        app = dict(rig.spec.sample_app)
        name = next(k for k in app if "secret" in k or k == "partner_key")
        await rig.another_client({**app, name: app[name] + "x"}).get_shop_info()
    captured = caplog.text + capsys.readouterr().err + repr(rig.client.stats)
    secrets = [v for k, v in rig.spec.sample_app.items() if "secret" in k or ("key" in k and k != "app_key")]
    for secret in [*secrets, ACCESS, REFRESH]:
        assert secret not in captured
