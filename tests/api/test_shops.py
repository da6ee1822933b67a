"""Shop health, pause and resume, and bulk retry (issue #17): each state from what the database holds, another
organization's shops and tasks out of reach, bad input a 4xx naming the field."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from tests.api.conftest import LiveApi, Tenant


async def _sql(live_api: LiveApi, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def _task(
    live_api: LiveApi, tenant: Tenant, shop: int, status: str, *, error: str | None = None, ago: float = 0
) -> str:
    """A product_sync task of the tenant's shop, ended ``status`` (``ago`` seconds ago)."""
    rows = await _sql(
        live_api,
        "INSERT INTO sync_tasks (organization_id, integration_id, account_id, shop_id, task_type, direction, platform,"
        " status, attempt, started_at, completed_at, error_message)"
        " SELECT $1, $2, s.account_id, s.id, 'product_sync', 'crm_to_marketplace', 'shopee', $4, 1,"
        " now() - make_interval(secs => $6), now() - make_interval(secs => $6), $5"
        " FROM marketplace_shops s WHERE s.id = $3 RETURNING id",
        tenant.org,
        tenant.integration,
        tenant.shops[shop],
        status,
        error,
        float(ago),
    )
    return str(rows[0]["id"])


async def _health(live_api: LiveApi, tenant: Tenant, shop: int = 0) -> dict[str, Any]:
    status, body = await live_api.call("GET", f"/v1/shops/{tenant.shops[shop]}/health", tenant.token)
    assert status == 200, body
    return dict(body)


async def test_a_quiet_shop_is_healthy_with_its_figures(live_api: LiveApi) -> None:
    health = await _health(live_api, live_api.a)
    assert health["state"] == "healthy" and health["reasons"] == []
    assert health["shop_id"] == str(live_api.a.shops[0]) and health["pending_tasks"] == 0
    assert health["item_error_rate_24h"] is None and health["tasks"] == [] and health["stale"] is False


async def test_failing_then_degraded_then_healthy_as_tasks_end(live_api: LiveApi) -> None:
    a = live_api.a
    await _task(live_api, a, 0, "failed", error="platform refused the token", ago=60)
    health = await _health(live_api, a)
    assert health["state"] == "failing" and "platform refused the token" in health["reasons"][0]
    assert health["tasks"][0]["last_error"] == "platform refused the token"
    await _task(live_api, a, 0, "completed")  # a later success of the same task type
    health = await _health(live_api, a)
    assert health["state"] == "degraded" and health["reasons"] == ["product_sync failed 1 time(s) in 24 h"]
    await _sql(live_api, "UPDATE sync_tasks SET completed_at = now() - interval '2 days' WHERE status = 'failed'")
    assert (await _health(live_api, a))["state"] == "healthy", "a failure older than a day is history"


async def test_item_error_rate_and_stale_and_authorization_states(live_api: LiveApi) -> None:
    a = live_api.a
    await _sql(
        live_api,
        "INSERT INTO sync_tasks (organization_id, integration_id, account_id, shop_id, task_type, direction, platform,"
        " status, attempt, started_at, completed_at, processed_items, successful_items, failed_items)"
        " SELECT $1, $2, s.account_id, s.id, 'inventory_sync', 'crm_to_marketplace', 'shopee', 'completed', 1,"
        " now(), now(), 10, 4, 6 FROM marketplace_shops s WHERE s.id = $3",
        a.org,
        a.integration,
        a.shops[1],
    )
    health = await _health(live_api, a, 1)
    assert (health["items_24h"], health["failed_items_24h"], health["item_error_rate_24h"]) == (10, 6, 0.6)
    assert health["state"] == "failing"

    await _sql(live_api, "UPDATE marketplace_integrations SET sync_interval = 10 WHERE id = $1", a.integration)
    stale = await _health(live_api, a, 2)
    assert stale["state"] == "degraded" and stale["stale"] is True and "30 minutes" in stale["reasons"][0]

    await _sql(live_api, "UPDATE marketplace_accounts SET status = 'error' WHERE organization_id = $1", a.org)
    assert (await _health(live_api, a, 2))["state"] == "needs_reauthorization"


async def test_pause_and_resume_and_the_paused_state(live_api: LiveApi) -> None:
    a, shop = live_api.a, live_api.a.shops[0]
    status, paused = await live_api.call("POST", f"/v1/shops/{shop}/pause", a.token)
    assert status == 200 and paused["paused"] is True and paused["paused_at"].endswith("Z")
    status, again = await live_api.call("POST", f"/v1/shops/{shop}/pause", a.token)
    assert again["paused_at"] == paused["paused_at"], "pausing a paused shop keeps when it was paused"
    assert (await _health(live_api, a))["state"] == "paused"
    status, resumed = await live_api.call("POST", f"/v1/shops/{shop}/resume", a.token)
    assert status == 200 and resumed == {"id": str(shop), "paused": False, "paused_at": None}
    assert (await _health(live_api, a))["state"] == "healthy"


async def test_another_organization_reaches_none_of_it(live_api: LiveApi) -> None:
    a, b = live_api.a, live_api.b
    await _task(live_api, a, 0, "failed", error="boom")
    for method, path in (
        ("GET", f"/v1/shops/{a.shops[0]}/health"),
        ("POST", f"/v1/shops/{a.shops[0]}/pause"),
        ("POST", f"/v1/shops/{a.shops[0]}/resume"),
    ):
        status, body = await live_api.call(method, path, b.token)
        assert status == 404 and body["error"]["code"] == "not_found", (path, body)
    assert (await _health(live_api, a))["paused_at"] is None
    status, body = await live_api.call("POST", "/v1/sync-tasks/retry", b.token, json={})
    assert status == 200 and body["retried"] == 0, "B retried A's failed task"
    status, body = await live_api.call("POST", f"/v1/shops/{uuid.uuid4()}/pause", a.token)
    assert status == 404


async def test_bulk_retry_takes_the_lists_filters(live_api: LiveApi) -> None:
    a = live_api.a
    mine = [await _task(live_api, a, 0, "failed", error="boom") for _ in range(3)]
    other_shop = await _task(live_api, a, 1, "failed", error="boom")
    cancelled = await _task(live_api, a, 0, "cancelled")
    b_task = await _task(live_api, live_api.b, 0, "failed", error="boom")
    status, body = await live_api.call(
        "POST", "/v1/sync-tasks/retry", a.token, json={"shop_id": str(a.shops[0]), "limit": 2}
    )
    assert status == 200 and body["retried"] == 2 and body["more"] is True
    assert body["task_ids"] == mine[:2], "oldest first"
    status, body = await live_api.call("POST", "/v1/sync-tasks/retry", a.token, json={"shop_id": str(a.shops[0])})
    assert body["task_ids"] == mine[2:] and body["more"] is False
    statuses = {
        str(r["id"]): r["status"]
        for r in await _sql(
            live_api,
            "SELECT id, status FROM sync_tasks WHERE id = ANY($1::uuid[])",
            [*mine, other_shop, cancelled, b_task],
        )
    }
    assert [statuses[t] for t in mine] == ["pending"] * 3
    assert (statuses[other_shop], statuses[cancelled], statuses[b_task]) == ("failed", "cancelled", "failed")
    status, body = await live_api.call("POST", "/v1/sync-tasks/retry", a.token, json={"status": "cancelled"})
    assert body["task_ids"] == [cancelled]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "completed"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 10**9}, "limit"),
        ({"shop_id": "not-a-uuid"}, "shop_id"),
        ({"task_type": "x" * 10_000}, "task_type"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bulk_retry_refuses_bad_input_naming_the_field(live_api: LiveApi, body: Any, field: str) -> None:
    status, answer = await live_api.call("POST", "/v1/sync-tasks/retry", live_api.a.token, json=body)
    assert status == 422 and field in str(answer["error"]), answer


async def test_bulk_retry_needs_the_write_scope(live_api: LiveApi) -> None:
    reader = await live_api.token(live_api.a.org, ["tasks:read"])
    status, _ = await live_api.call("POST", "/v1/sync-tasks/retry", reader, json={})
    assert status == 403
