"""GET /v1/sync-logs (issue #17): newest first, keyset pages that hold still while rows arrive, every filter, and
what another organization, bad cursors and out-of-range input get."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from nfsync.workers.config import Settings
from nfsync.workers.lab.logs_bench import run_logs
from tests.api.conftest import LiveApi, Tenant

T0 = datetime(2026, 11, 30, 12, 0, 0)


async def _logs(live_api: LiveApi, tenant: Tenant, count: int, **fields: object) -> list[uuid.UUID]:
    """``count`` rows a second apart from T0 (the newest last), for the tenant's first shop."""
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        ids = []
        for n in range(count):
            values = {
                "status": "failed" if n % 3 == 0 else "success",
                "entity_id": f"p-{n}",
                "task_id": None,
                "created_at": T0 + timedelta(seconds=n),
            } | fields
            ids.append(
                await conn.fetchval(
                    "INSERT INTO sync_logs (organization_id, integration_id, shop_id, task_id, task_type, direction,"
                    " entity_type, entity_id, action, status, error_message, created_at)"
                    " VALUES ($1, $2, $3, $4, 'product_sync', 'crm_to_marketplace', 'product', $5, 'create', $6,"
                    " CASE WHEN $6 = 'failed' THEN 'refused' END, $7) RETURNING id",
                    tenant.org,
                    tenant.integration,
                    tenant.shops[0],
                    values["task_id"],
                    values["entity_id"],
                    values["status"],
                    values["created_at"],
                )
            )
        return ids
    finally:
        await conn.close()


async def test_pages_are_newest_first_and_hold_still_while_rows_arrive(live_api: LiveApi) -> None:
    ids = await _logs(live_api, live_api.a, 7)
    status, first = await live_api.call("GET", "/v1/sync-logs?limit=3", live_api.a.token)
    assert status == 200 and [i["id"] for i in first["items"]] == [str(i) for i in ids[::-1][:3]]
    assert first["items"][0]["created_at"].endswith("Z")
    await _logs(live_api, live_api.a, 1, created_at=T0 + timedelta(days=1), entity_id="newer")  # a row arrives
    seen, after = [i["id"] for i in first["items"]], first["next_after"]
    while after:
        status, page = await live_api.call("GET", f"/v1/sync-logs?limit=3&after={after}", live_api.a.token)
        assert status == 200
        seen += [i["id"] for i in page["items"]]
        after = page["next_after"]
    assert seen == [str(i) for i in ids[::-1]], "every row once, in order; the new row is not on a later page"


async def test_every_filter(live_api: LiveApi) -> None:
    task = uuid.uuid4()
    await _logs(live_api, live_api.a, 6)
    mine = await _logs(live_api, live_api.a, 2, task_id=task, created_at=T0 + timedelta(hours=1))
    get = live_api.call
    token = live_api.a.token
    status, page = await get("GET", f"/v1/sync-logs?task_id={task}", token)
    assert status == 200 and {i["id"] for i in page["items"]} == {str(i) for i in mine}
    status, page = await get("GET", "/v1/sync-logs?status=failed&entity_type=product", token)
    assert status == 200 and {i["entity_id"] for i in page["items"]} == {"p-0", "p-3"}
    assert all(i["error_message"] == "refused" for i in page["items"])
    status, page = await get("GET", "/v1/sync-logs?entity_id=p-4", token)
    assert [i["entity_id"] for i in page["items"]] == ["p-4"]
    since, until = (T0 + timedelta(seconds=2)).isoformat() + "Z", (T0 + timedelta(seconds=4)).isoformat() + "Z"
    status, page = await get("GET", "/v1/sync-logs", token, params={"since": since, "until": until})
    assert status == 200 and [i["entity_id"] for i in page["items"]] == ["p-3", "p-2"]
    status, page = await get("GET", f"/v1/sync-logs?shop_id={live_api.a.shops[0]}&limit=500", token)
    assert status == 200 and len(page["items"]) == 8 and page["next_after"] is None


async def test_another_organization_sees_nothing_of_it(live_api: LiveApi) -> None:
    task = uuid.uuid4()
    await _logs(live_api, live_api.a, 3, task_id=task)
    for query in ("", f"?task_id={task}", f"?shop_id={live_api.a.shops[0]}"):
        status, page = await live_api.call("GET", f"/v1/sync-logs{query}", live_api.b.token)
        assert (status, page["items"]) == (200, []), query


async def test_bad_input_is_422_naming_the_field(live_api: LiveApi) -> None:
    token = live_api.a.token
    for query, field in (
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("status=lost", "status"),
        ("entity_type=ghost", "entity_type"),
        ("shop_id=not-a-uuid", "shop_id"),
        ("entity_id=" + "x" * 5000, "entity_id"),
        ("since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "query"),
        ("after=%00%ff", "after"),
        ("after=bm90IGEgY3Vyc29y", "after"),
        ("unknown=1", "unknown"),
    ):
        status, answer = await live_api.call("GET", f"/v1/sync-logs?{query}", token)
        assert status == 422, (query, answer)
        assert any(
            field in (d.get("path") or "") or field in answer["error"]["message"]
            for d in answer["error"]["details"] or [{}]
        ), (query, answer)
    assert (await live_api.call("GET", "/v1/sync-logs", None))[0] == 401


async def test_the_sync_logs_bench_reads_every_page_from_its_index(database: Settings) -> None:
    """`nfsync bench sync-logs`, reduced (no timing asserted: figures belong to the bench): each page the CRM asks for
    is found, and a task's or an entity's page comes from its own index, not from a walk through the history."""
    result = await run_logs(database, rows=200_000, days=60, repeat=1)
    pages = result["pages"]
    assert result["rows"] == 220_000 and result["partitions"] >= 3
    assert {name: page["rows"] for name, page in pages.items()} == {
        "newest": 100,
        "shop": 100,
        "failed": 100,
        "entity": 2,
        "task": 100,
        "one_day_in_the_past": 100,
        "deep_cursor": 100,
    }
    assert pages["task"]["indexes"] == ["task_id_created_at_idx"]
    assert pages["entity"]["indexes"] == ["entity_id_created_at_idx"]
    assert pages["one_day_in_the_past"]["partitions_read"] == 1, "a time range reads only its partitions"
