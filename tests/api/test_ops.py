"""Ops JSON and /metrics against a live API with a worker running."""

from __future__ import annotations

import asyncpg
import pytest

from nfsync.workers.api.auth import create_token
from tests.api.conftest import LiveApi


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
    _, admin = await live_api.call("GET", "/ops/queues", await _admin_token(live_api))
    row = next(p for p in admin["platforms"] if p["platform"] == "shopee")
    assert row["pending"] == 3 and row["broker"]["consumers"] is not None and "dead_letter" in admin
    assert row["broker"]["unacked"] is not None, "from the management API (.ci/run enables it)"


async def test_tasks_workers_webhooks_throughput(live_api: LiveApi) -> None:
    task = await _enqueue(live_api, 0)
    status, page = await live_api.call("GET", "/ops/tasks?status=pending", live_api.a.token)
    assert status == 200 and [t["id"] for t in page["items"]] == [task]
    for path, key in (("/ops/workers", "workers"), ("/ops/webhooks", "recent"), ("/ops/throughput", "minutes")):
        status, body = await live_api.call("GET", path, live_api.a.token)
        assert status == 200 and key in body, path


@pytest.mark.parametrize("path", ["/ops/queues", "/metrics", "/ops/workers"])
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
