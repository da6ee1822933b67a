"""Ops JSON and /metrics against a live API with a worker running."""

from __future__ import annotations

from typing import Any

import aio_pika
import asyncpg
import pytest

from nfsync.workers import ops_snapshot
from nfsync.workers.api.amqp_commands import DEAD_QUEUE as COMMANDS_DEAD_QUEUE
from nfsync.workers.api.auth import create_token
from nfsync.workers.engine.broker import DEAD_QUEUE as TASKS_DEAD_QUEUE
from nfsync.workers.engine.models import TASK_STATUSES
from nfsync.workers.engine.service import ACTION_STATUSES
from tests.api.conftest import LiveApi
from tests.engine.conftest import wait_until


async def _admin_token(api: LiveApi) -> str:
    return await api.token(None, ["admin"])


async def _enqueue(api: LiveApi, shop: int) -> str:
    _, created = await api.call(
        "POST",
        "/v1/sync-tasks",
        api.a.token,
        json={
            "integration_id": str(api.a.integration),
            "shop_id": str(api.a.shops[shop]),
            "task_type": "order_sync",
            "direction": "marketplace_to_crm",
        },
    )
    return str(created["task_id"])


async def test_queues_counts_per_platform_and_tenant(live_api: LiveApi) -> None:
    for shop in range(3):
        await _enqueue(live_api, shop)
    status, own = await live_api.call("GET", "/ops/queues", live_api.a.token)
    assert status == 200
    shopee = next(p for p in own["platforms"] if p["platform"] == "shopee")
    assert shopee["pending"] == 3 and shopee["due"] == 3 and shopee["oldest_due_seconds"] >= 0
    assert "broker" not in shopee and "dead_letter" not in own, "broker numbers are for operators"
    _, other = await live_api.call("GET", "/ops/queues", live_api.b.token)
    assert next(p for p in other["platforms"] if p["platform"] == "shopee")["pending"] == 0
    admin_token = await _admin_token(live_api)
    _, admin = await live_api.call("GET", "/ops/queues", admin_token)
    row = next(p for p in admin["platforms"] if p["platform"] == "shopee")
    assert row["pending"] == 3 and row["broker"]["consumers"] is not None and "dead_letter" in admin

    async def sampled() -> bool:  # the management API samples a queue declared just now within a few seconds
        _, body = await live_api.call("GET", "/ops/queues", admin_token)
        broker = next(p for p in body["platforms"] if p["platform"] == "shopee")["broker"]
        return broker["unacked"] is not None and broker["source"] == "management" and broker["note"] is None

    await wait_until(sampled, what="unacked from the management API (.ci/run enables it)")


async def test_tasks_workers_webhooks_throughput(live_api: LiveApi) -> None:
    task = await _enqueue(live_api, 0)
    status, page = await live_api.call("GET", "/ops/tasks?status=pending", live_api.a.token)
    assert status == 200 and [t["id"] for t in page["items"]] == [task]
    for path, key in (("/ops/workers", "workers"), ("/ops/webhooks", "recent"), ("/ops/throughput", "minutes")):
        status, body = await live_api.call("GET", path, live_api.a.token)
        assert status == 200 and key in body, path


@pytest.mark.parametrize("path", ["/ops/queues", "/metrics", "/ops/workers", "/ops/events"])
async def test_ops_need_the_ops_scope(live_api: LiveApi, path: str) -> None:
    pool = await asyncpg.create_pool(live_api.settings.database_url, min_size=1, max_size=1)
    try:
        writer = await create_token(pool, live_api.a.org, ["tasks:write"], "writer")
    finally:
        await pool.close()
    assert (await live_api.call("GET", path, writer))[0] == 403


async def test_metrics_exposition(live_api: LiveApi) -> None:
    await _enqueue(live_api, 1)
    headers = {"Authorization": f"Bearer {live_api.a.token}"}
    async with live_api.session.get(live_api.url + "/metrics", headers=headers) as response:
        text = await response.text()
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    assert 'nfsync_queue_pending{platform="shopee"} 1.0' in text
    assert "nfsync_queue_oldest_due_seconds" in text
    fleet = ("nfsync_webhooks_total", "nfsync_queue_throttled_calls{", "nfsync_marketplace_calls")
    assert not [name for name in fleet if name in text], "fleet-wide series are for operators (issue #13)"
    operator = {"Authorization": f"Bearer {await _admin_token(live_api)}"}
    async with live_api.session.get(live_api.url + "/metrics", headers=operator) as response:
        assert "nfsync_webhooks_total" in await response.text()


async def test_metrics_carry_worker_side_series(live_api: LiveApi) -> None:
    task = await _enqueue(live_api, 2)
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        await conn.execute(
            "UPDATE sync_tasks SET status = 'completed', started_at = now() - interval '2 seconds',"
            " completed_at = now(), retry_count = 1 WHERE id = $1::uuid",
            task,
        )
        await conn.fetch("SELECT * FROM nfsync_rate_lease('shopee:app:shop:default', 50, 5)")
        await conn.execute("SELECT nfsync_rate_pause('shopee:app:shop:default', 0.1)")
    finally:
        await conn.close()
    headers = {"Authorization": f"Bearer {await _admin_token(live_api)}"}
    async with live_api.session.get(live_api.url + "/metrics", headers=headers) as response:
        text = await response.text()
    labels = 'outcome="completed",platform="shopee",task_type="order_sync"'
    assert f"nfsync_tasks_finished_last_hour{{{labels}}} 1.0" in text
    assert f"nfsync_task_retries_last_hour{{{labels}}} 1.0" in text
    assert "nfsync_task_duration_seconds_last_hour{" in text
    assert 'nfsync_marketplace_calls_total{platform="shopee"} 5.0' in text
    assert 'nfsync_marketplace_throttles_total{platform="shopee"} 1.0' in text
    assert "nfsync_limiter_wait_seconds_total" in text


async def _dead_letter_queues(api: LiveApi) -> dict[str, dict[str, Any]]:
    status, body = await api.call("GET", "/ops/queues", await _admin_token(api))
    assert status == 200, body
    return {queue["key"]: queue for queue in body["dead_letters"]}


async def test_queues_count_both_dead_letter_queues(live_api: LiveApi) -> None:
    """The tasks' and the AMQP commands' dead-letter queues, each labelled and counted; `dead_letter` stays."""
    connection = await aio_pika.connect(live_api.settings.amqp_url)
    try:
        channel = await connection.channel()
        for name, count in ((TASKS_DEAD_QUEUE, 1), (COMMANDS_DEAD_QUEUE, 2)):
            queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
            await queue.purge()
            for i in range(count):
                await channel.default_exchange.publish(aio_pika.Message(f"dead {i}".encode()), routing_key=name)

        async def counted() -> bool:  # the management API refreshes its figures every few seconds
            queues = await _dead_letter_queues(live_api)
            tasks, commands = queues["tasks"], queues["commands"]
            return (tasks["ready"], commands["ready"], tasks["unacked"], commands["unacked"]) == (1, 2, 0, 0)

        await wait_until(counted, what="both dead-letter counts on /ops/queues")
    finally:
        await connection.close()
    queues = await _dead_letter_queues(live_api)
    assert (queues["tasks"]["queue"], queues["tasks"]["label"]) == (TASKS_DEAD_QUEUE, "task wake-ups")
    assert (queues["commands"]["queue"], queues["commands"]["label"]) == (COMMANDS_DEAD_QUEUE, "AMQP commands")
    assert queues["commands"]["note"] is None and queues["commands"]["source"] == "management"
    _, body = await live_api.call("GET", "/ops/queues", await _admin_token(live_api))
    assert body["dead_letter"]["ready"] == 1 and {"ready", "unacked", "consumers"} <= set(body["dead_letter"])
    _, own = await live_api.call("GET", "/ops/queues", live_api.a.token)
    assert "dead_letters" not in own, "broker numbers are for operators"


@pytest.mark.parametrize("live_api", [{"rabbitmq_management_url": "http://127.0.0.1:1"}], indirect=True)
async def test_unacked_is_unknown_with_its_reason_without_the_management_api(live_api: LiveApi) -> None:
    _, body = await live_api.call("GET", "/ops/queues", await _admin_token(live_api))
    for entry in [*(p["broker"] for p in body["platforms"]), *body["dead_letters"]]:
        assert entry["unacked"] is None and entry["ready"] is not None, entry  # ready from a passive declare
        assert (entry["source"], entry["note"]) == ("amqp", ops_snapshot.NOTE_NO_MANAGEMENT), entry


@pytest.mark.parametrize(
    "live_api",
    [{"amqp_url": "amqp://guest:guest@127.0.0.1:1/", "rabbitmq_management_url": "http://127.0.0.1:1"}],
    indirect=True,
)
async def test_broker_figures_are_unknown_with_their_reason_without_rabbitmq(live_api: LiveApi) -> None:
    _, body = await live_api.call("GET", "/ops/queues", await _admin_token(live_api))
    entries = [*(p["broker"] for p in body["platforms"]), *body["dead_letters"], body["dead_letter"]]
    for entry in entries:
        assert [entry[k] for k in ("ready", "unacked", "consumers", "source")] == [None] * 4, entry
        assert entry["note"] == ops_snapshot.NOTE_NO_BROKER
    assert [q["key"] for q in body["dead_letters"]] == ["tasks", "commands"], "both, even when unknown"


async def _set_status(api: LiveApi, task: str, status: str) -> None:
    conn = await asyncpg.connect(api.settings.database_url)
    try:
        await conn.execute(
            "UPDATE sync_tasks SET status = $2, lease_owner = CASE WHEN $2 = 'processing' THEN 'w-test' END,"
            " cancel_requested_at = NULL WHERE id = $1::uuid",
            task,
            status,
        )
    finally:
        await conn.close()


async def _offered(api: LiveApi, token: str, task: str, status: str) -> list[str]:
    code, page = await api.call("GET", f"/ops/tasks?status={status}", token)
    assert code == 200, page
    [item] = [t for t in page["items"] if t["id"] == task]
    return list(item["actions"])


async def test_ops_tasks_offer_exactly_the_actions_the_api_accepts(live_api: LiveApi) -> None:
    """For every status, /ops/tasks lists an action (the dashboard's button) if and only if the API accepts it."""
    task = await _enqueue(live_api, 0)
    reader = await live_api.token(live_api.a.org, ["ops:read"])
    for status in TASK_STATUSES:
        await _set_status(live_api, task, status)
        offered = await _offered(live_api, live_api.a.token, task, status)
        assert await _offered(live_api, reader, task, status) == [], "no action without tasks:write"
        for action in ("cancel", "retry"):
            await _set_status(live_api, task, status)
            code, body = await live_api.call("POST", f"/v1/sync-tasks/{task}/{action}", live_api.a.token)
            assert (code == 200) == (action in offered), (status, action, code, body, offered)
    assert set(ACTION_STATUSES) == {"cancel", "retry"}


async def test_ops_events_count_shop_states_backlog_and_subscribers_per_tenant(live_api: LiveApi) -> None:
    a = live_api.a
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        await conn.execute(
            "INSERT INTO sync_tasks (organization_id, integration_id, account_id, shop_id, task_type, direction,"
            " platform, status, attempt, started_at, completed_at, error_message)"
            " SELECT $1, $2, s.account_id, s.id, 'product_sync', 'crm_to_marketplace', 'shopee', 'failed', 1, now(),"
            " now(), 'boom' FROM marketplace_shops s WHERE s.id = $3",
            a.org,
            a.integration,
            a.shops[0],
        )
        await conn.execute("UPDATE marketplace_shops SET paused_at = now() WHERE id = $1", a.shops[1])
        await conn.execute(
            "INSERT INTO event_outbox (organization_id, type, subject, data) VALUES ($1, 'shop.stale', 's', '{}')",
            a.org,
        )
        await conn.execute(
            "INSERT INTO event_subscriptions (organization_id, url, event_types, secret, status, disabled_reason)"
            " VALUES ($1, 'https://8.8.8.8/hook', '{*}', 'x', 'disabled', 'deliveries failed')",
            a.org,
        )
    finally:
        await conn.close()
    status, body = await live_api.call("GET", "/ops/events", a.token)
    assert status == 200, body
    assert body["shop_states"] == {"healthy": 1, "degraded": 0, "failing": 1, "needs_reauthorization": 0, "paused": 1}
    assert {s["state"] for s in body["shops_needing_attention"]} == {"failing", "paused"}
    assert body["event_backlog"]["events"] == 1, "the event waits for RabbitMQ (no scheduler runs)"
    assert [(s["url"], s["status"]) for s in body["subscribers"]] == [("https://8.8.8.8/hook", "disabled")]
    status, other = await live_api.call("GET", "/ops/events", live_api.b.token)
    assert other["shop_states"]["healthy"] == 3 and other["subscribers"] == [] and other["event_backlog"]["events"] == 0
    headers = {"Authorization": f"Bearer {a.token}"}
    async with live_api.session.get(live_api.url + "/metrics", headers=headers) as response:
        text = await response.text()
    assert 'nfsync_shops{state="failing"} 1.0' in text and 'nfsync_shops{state="paused"} 1.0' in text
    assert "nfsync_event_backlog " in text
    assert 'nfsync_subscriber_deliveries{status="pending",subscriber_status="disabled"} 0.0' in text
