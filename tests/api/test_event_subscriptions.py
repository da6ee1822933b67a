"""HTTP delivery of the events (issue #17): subscribers registered per organization, deliveries signed like Standard
Webhooks (checked with the `standardwebhooks` package), retried, a failing subscriber disabled with an event and
nothing lost, a slow one delaying nobody; another organization out of reach; bad input a 422 naming the field."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from nfsync.workers.engine.subscribers import SubscriberDelivery
from tests.api.conftest import LiveApi, Tenant, free_port
from tests.engine.conftest import wait_until

LOOPBACK = {"outbound_allowed_hosts": "127.0.0.1"}
FAST_RETRIES = {**LOOPBACK, "subscriber_backoff_base": 0.05, "subscriber_backoff_max": 0.2}


@dataclass
class Subscriber:
    """A local HTTP endpoint that records what it is sent and answers ``status`` after ``delay`` seconds."""

    url: str
    status: int = 200
    delay: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        await asyncio.sleep(self.delay)
        self.received.append((dict(request.headers), body))
        return web.Response(status=self.status)


@contextlib.asynccontextmanager
async def subscriber(**options: Any) -> AsyncIterator[Subscriber]:
    port = free_port()
    endpoint = Subscriber(f"http://127.0.0.1:{port}/hooks", **options)
    app = web.Application()
    app.router.add_post("/hooks", endpoint.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield endpoint
    finally:
        await runner.cleanup()


async def _subscribe(live_api: LiveApi, tenant: Tenant, url: str, types: list[str]) -> dict[str, Any]:
    status, body = await live_api.call(
        "POST", "/v1/event-subscriptions", tenant.token, json={"url": url, "event_types": types}
    )
    assert status == 201, body
    return dict(body)


async def _emit(live_api: LiveApi, tenant: Tenant, count: int, event_type: str = "shop.stale") -> list[str]:
    """``count`` events written to the outbox as a change would (the delivery trigger fans them out)."""
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        ids = []
        for n in range(count):
            ids.append(
                str(
                    await conn.fetchval(
                        "INSERT INTO event_outbox (organization_id, type, subject, data)"
                        " VALUES ($1, $2, $3, $4::jsonb) RETURNING id",
                        tenant.org,
                        event_type,
                        f"shops/{tenant.shops[0]}",
                        json.dumps({"n": n}),
                    )
                )
            )
        return ids
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def delivering(live_api: LiveApi, **settings: Any) -> AsyncIterator[SubscriberDelivery]:
    pool = await asyncpg.create_pool(live_api.settings.database_url, min_size=1, max_size=4)
    try:
        configured = live_api.settings.model_copy(update=settings)
        async with SubscriberDelivery.from_settings(configured, pool).running() as delivery:
            yield delivery
    finally:
        await pool.close()


@pytest.mark.parametrize("live_api", [LOOPBACK], indirect=True)
async def test_a_delivery_is_signed_like_standard_webhooks(live_api: LiveApi) -> None:
    async with subscriber() as hook, delivering(live_api):
        created = await _subscribe(live_api, live_api.a, hook.url, ["task.cancelled"])
        assert created["secret"].startswith("whsec_")
        _status, task = await live_api.call(
            "POST",
            "/v1/sync-tasks",
            live_api.a.token,
            json={
                "integration_id": str(live_api.a.integration),
                "shop_id": str(live_api.a.shops[0]),
                "task_type": "inventory_sync",
                "direction": "crm_to_marketplace",
                "scheduled_at": "2100-01-01T00:00:00Z",
            },
        )
        await live_api.call("POST", f"/v1/sync-tasks/{task['task_id']}/cancel", live_api.a.token)
        await _emit(live_api, live_api.a, 1, "shop.stale")  # a type this subscriber did not ask for
        await wait_until(lambda: _received(hook, 1), 15, "the cancellation delivered")
        headers, body = hook.received[0]
        event = Webhook(created["secret"]).verify(body, headers)  # raises on a bad signature or timestamp
        assert event["type"] == "task.cancelled" and event["data"]["task_id"] == task["task_id"]
        assert headers["webhook-id"] == event["id"] and headers["Content-Type"] == "application/cloudevents+json"
        with pytest.raises(Exception, match="No matching signature found"):
            Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
        path = f"/v1/event-subscriptions/{created['id']}/deliveries"

        async def recorded() -> bool:  # the subscriber's answer is recorded just after it received the POST
            status, deliveries = await live_api.call("GET", path, live_api.a.token)
            assert status == 200
            return [d["status"] for d in deliveries["items"]] == ["delivered"]

        await wait_until(recorded, 15, "the delivery recorded as delivered")
    assert len(hook.received) == 1, "only the subscribed type was delivered"


async def _received(hook: Subscriber, count: int) -> bool:
    return len(hook.received) >= count


@pytest.mark.parametrize("live_api", [FAST_RETRIES], indirect=True)
async def test_a_failing_subscriber_is_retried_then_disabled_and_nothing_is_lost(live_api: LiveApi) -> None:
    async with subscriber(status=500) as hook:
        created = await _subscribe(live_api, live_api.a, hook.url, ["*"])
        other = await _subscribe(live_api, live_api.a, hook.url.replace("/hooks", "/other"), ["subscription.disabled"])
        await _emit(live_api, live_api.a, 2)
        async with delivering(live_api, **FAST_RETRIES, subscriber_retry_window=1.5):

            async def disabled() -> bool:
                _, body = await live_api.call("GET", f"/v1/event-subscriptions/{created['id']}", live_api.a.token)
                return bool(body["status"] == "disabled")

            await wait_until(disabled, 20, "the failing subscription disabled")
        _, body = await live_api.call("GET", f"/v1/event-subscriptions/{created['id']}", live_api.a.token)
        assert body["failed_deliveries"] == 2 and "no success" in body["disabled_reason"]
        assert len(hook.received) > 2, "each delivery was retried"
        _, deliveries = await live_api.call(
            "GET", f"/v1/event-subscriptions/{created['id']}/deliveries?status=failed", live_api.a.token
        )
        assert all(d["attempts"] > 1 and d["last_status"] == 500 for d in deliveries["items"])
        conn = await asyncpg.connect(live_api.settings.database_url)
        try:
            told = await conn.fetch("SELECT data FROM event_outbox WHERE type = 'subscription.disabled'")
            pending_for_other = await conn.fetchval(
                "SELECT count(*) FROM event_deliveries WHERE subscription_id = $1", uuid.UUID(other["id"])
            )
        finally:
            await conn.close()
        assert [json.loads(r["data"])["subscription_id"] for r in told] == [created["id"]]
        assert pending_for_other == 1, "the organization's other subscriber is told"

        hook.status = 200  # the subscriber is fixed: re-enable it and replay what failed
        status, _ = await live_api.call(
            "PATCH", f"/v1/event-subscriptions/{created['id']}", live_api.a.token, json={"status": "active"}
        )
        assert status == 200
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        status, replayed = await live_api.call(
            "POST", f"/v1/event-subscriptions/{created['id']}/replay", live_api.a.token, json={"since": since}
        )
        assert status == 200 and replayed == {"replayed": 2}
        hook.received.clear()
        async with delivering(live_api, **FAST_RETRIES):
            await wait_until(lambda: _received(hook, 2), 15, "the replayed deliveries")
        ids = {Webhook(created["secret"]).verify(body, headers)["data"]["n"] for headers, body in hook.received}
        assert ids == {0, 1}


@pytest.mark.parametrize("live_api", [LOOPBACK], indirect=True)
async def test_a_slow_subscriber_delays_no_other(live_api: LiveApi) -> None:
    async with subscriber(delay=30) as slow, subscriber() as fast:
        await _subscribe(live_api, live_api.a, slow.url, ["*"])
        await _subscribe(live_api, live_api.a, fast.url, ["*"])
        await _emit(live_api, live_api.a, 10)
        async with delivering(live_api, subscriber_timeout=20.0):
            await wait_until(lambda: _received(fast, 10), 10, "every event at the fast subscriber")
            assert slow.received == [], "the slow subscriber is still answering"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://8.8.8.8/hook", "event_types": ["*"]}, "url"),  # not https
        ({"url": "https://10.0.0.7/hook", "event_types": ["*"]}, "url"),  # a private address
        ({"url": "https://169.254.169.254/latest", "event_types": ["*"]}, "url"),  # cloud metadata
        ({"url": "https://127.0.0.1/hook", "event_types": ["*"]}, "url"),  # loopback, not allowed here
        ({"url": "https://[::1]/hook", "event_types": ["*"]}, "url"),
        ({"url": "https://8.8.8.8/" + "a" * 3000, "event_types": ["*"]}, "url"),
        ({"url": "not a url", "event_types": ["*"]}, "url"),
        ({"url": "https://8.8.8.8/hook", "event_types": ["order.teleported"]}, "event_types"),
        ({"url": "https://8.8.8.8/hook", "event_types": []}, "event_types"),
        ({"url": "https://8.8.8.8/hook", "event_types": [["*"]]}, "event_types"),
        ({"url": "https://8.8.8.8/hook", "event_types": ["*"], "secret": "hunter2"}, "secret"),
        ({"url": "https://8.8.8.8/hook", "event_types": ["*"], "secret": "whsec_AAAA"}, "secret"),
        (
            {"url": "https://8.8.8.8/hook", "event_types": ["*"], "organization_id": str(uuid.uuid4())},
            "organization_id",
        ),
    ],
)
@pytest.mark.parametrize("live_api", [{"outbound_allowed_hosts": ""}], indirect=True)
async def test_bad_subscriptions_are_refused_naming_the_field(live_api: LiveApi, body: Any, field: str) -> None:
    status, answer = await live_api.call("POST", "/v1/event-subscriptions", live_api.a.token, json=body)
    assert status == 422 and field in json.dumps(answer["error"]), answer
    _, listed = await live_api.call("GET", "/v1/event-subscriptions", live_api.a.token)
    assert listed["items"] == [], "nothing stored"


async def test_another_organization_reaches_none_of_it(live_api: LiveApi) -> None:
    created = await _subscribe(live_api, live_api.a, "https://8.8.8.8/hook", ["*"])
    path = f"/v1/event-subscriptions/{created['id']}"
    since = {"since": "2020-01-01T00:00:00Z"}
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"url": "https://1.1.1.1/steal"}),
        ("DELETE", "", None),
        ("POST", "/replay", since),
        ("GET", "/deliveries", None),
    ):
        status, answer = await live_api.call(method, path + suffix, live_api.b.token, json=body)
        assert status == 404, (method, suffix, answer)
    _, listed = await live_api.call("GET", "/v1/event-subscriptions", live_api.b.token)
    assert listed["items"] == []
    _, mine = await live_api.call("GET", path, live_api.a.token)
    assert mine["url"] == "https://8.8.8.8/hook" and "secret" not in mine, "the secret is write-only"
    await _emit(live_api, live_api.b, 1)
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        deliveries = await conn.fetchval("SELECT count(*) FROM event_deliveries")
    finally:
        await conn.close()
    assert deliveries == 0, "B's event went to A's subscriber"


async def test_an_organization_has_at_most_twenty_subscribers(live_api: LiveApi) -> None:
    for n in range(20):
        await _subscribe(live_api, live_api.a, f"https://8.8.8.8/hook/{n}", ["*"])
    status, answer = await live_api.call(
        "POST", "/v1/event-subscriptions", live_api.a.token, json={"url": "https://8.8.8.8/x", "event_types": ["*"]}
    )
    assert status == 422 and "at most 20" in answer["error"]["message"]
    status, _ = await live_api.call("DELETE", "/v1/event-subscriptions/" + str(uuid.uuid4()), live_api.a.token)
    assert status == 404
