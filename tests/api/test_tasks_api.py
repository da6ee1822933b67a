"""/v1/sync-tasks over HTTP: auth, scopes, tenant isolation, validation errors, enqueue, cancel, retry."""

from __future__ import annotations

import asyncpg

from nfsync.workers.api.app import all_routes
from nfsync.workers.api.auth import create_token
from tests.api.conftest import LiveApi


def _task(api: LiveApi, **fields: object) -> dict[str, object]:
    return {
        "integration_id": str(api.a.integration),
        "shop_id": str(api.a.shops[0]),
        "task_type": "order_sync",
        "direction": "marketplace_to_crm",
        **fields,
    }


async def test_auth_is_required(live_api: LiveApi) -> None:
    status, body = await live_api.call("GET", "/v1/sync-tasks", None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await live_api.call("GET", "/v1/sync-tasks", "nfs_not-a-real-token")
    assert status == 401
    assert (await live_api.call("GET", "/healthz", None))[0] == 200


async def test_missing_scope_is_403(live_api: LiveApi, database: object) -> None:
    pool = await asyncpg.create_pool(live_api.settings.database_url, min_size=1, max_size=1)
    try:
        reader = await create_token(pool, live_api.a.org, ["tasks:read"], "reader")
    finally:
        await pool.close()
    status, body = await live_api.call("POST", "/v1/sync-tasks", reader, json=_task(live_api))
    assert status == 403 and "tasks:write" in body["error"]["message"]
    assert (await live_api.call("GET", "/v1/sync-tasks", reader))[0] == 200


async def test_enqueue_read_list_cancel_retry(live_api: LiveApi) -> None:
    token = live_api.a.token
    status, created = await live_api.call(
        "POST", "/v1/sync-tasks", token, json=_task(live_api, priority=9), headers={"Idempotency-Key": "http-1"}
    )
    assert status == 201 and created["created"] and created["platform"] == "shopee"
    status, again = await live_api.call(
        "POST", "/v1/sync-tasks", token, json=_task(live_api), headers={"Idempotency-Key": "http-1"}
    )
    assert status == 201 and again["task_id"] == created["task_id"] and again["replayed"]
    task_id = created["task_id"]
    status, task = await live_api.call("GET", f"/v1/sync-tasks/{task_id}", token)
    assert status == 200 and task["priority"] == 9 and task["status"] == "pending"
    status, page = await live_api.call("GET", "/v1/sync-tasks?status=pending&platform=shopee&limit=10", token)
    assert status == 200 and [t["id"] for t in page["items"]] == [task_id]
    assert (await live_api.call("POST", f"/v1/sync-tasks/{task_id}/cancel", token))[1]["status"] == "cancelled"
    status, body = await live_api.call("POST", f"/v1/sync-tasks/{task_id}/cancel", token)
    assert status == 422 and "cannot be cancelled" in body["error"]["message"]
    assert (await live_api.call("POST", f"/v1/sync-tasks/{task_id}/retry", token))[1]["status"] == "pending"


async def test_other_organizations_objects_are_404(live_api: LiveApi) -> None:
    _, created = await live_api.call("POST", "/v1/sync-tasks", live_api.a.token, json=_task(live_api))
    task_id = created["task_id"]
    for method, path in (
        ("GET", f"/v1/sync-tasks/{task_id}"),
        ("POST", f"/v1/sync-tasks/{task_id}/cancel"),
        ("POST", f"/v1/sync-tasks/{task_id}/retry"),
    ):
        status, body = await live_api.call(method, path, live_api.b.token)
        assert status == 404 and body["error"]["code"] == "not_found", path
    _, page = await live_api.call("GET", "/v1/sync-tasks", live_api.b.token)
    assert page["items"] == []
    status, body = await live_api.call("POST", "/v1/sync-tasks", live_api.b.token, json=_task(live_api))
    assert status == 422 and "not found" in body["error"]["message"], "B cannot enqueue on A's integration"


async def test_validation_errors_name_the_field(live_api: LiveApi) -> None:
    status, body = await live_api.call(
        "POST", "/v1/sync-tasks", live_api.a.token, json=_task(live_api, priority=11, task_type="refund_sync")
    )
    assert status == 422 and body["error"]["code"] == "validation_failed"
    paths = {d["path"] for d in body["error"]["details"]}
    assert {"body.priority", "body.task_type"} <= paths
    status, body = await live_api.call(
        "POST", "/v1/sync-tasks", live_api.a.token, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 422 and "not valid JSON" in body["error"]["message"]
    status, body = await live_api.call("GET", "/v1/sync-tasks?limit=0", live_api.a.token)
    assert status == 422 and body["error"]["details"][0]["path"] == "query.limit"
    status, body = await live_api.call("GET", "/v1/sync-tasks/not-a-uuid", live_api.a.token)
    assert status == 404


async def test_openapi_documents_every_route(live_api: LiveApi) -> None:
    status, spec = await live_api.call("GET", "/openapi.json", None)
    assert status == 200 and spec["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert documented == {(r.method, r.path) for r in all_routes()}
    assert spec["paths"]["/v1/sync-tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]


async def test_row_level_security_for_the_application_role(live_api: LiveApi) -> None:
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        await live_api.call("POST", "/v1/sync-tasks", live_api.a.token, json=_task(live_api))
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE nfsync_app")
            assert await conn.fetchval("SELECT count(*) FROM sync_tasks") == 0, "no organization set: zero rows"
            await conn.execute("SELECT set_config('app.organization_id', $1, true)", str(live_api.b.org))
            assert await conn.fetchval("SELECT count(*) FROM sync_tasks") == 0
            assert await conn.fetchval("SELECT count(*) FROM marketplace_integrations") == 1
            await conn.execute("SELECT set_config('app.organization_id', $1, true)", str(live_api.a.org))
            assert await conn.fetchval("SELECT count(*) FROM sync_tasks") == 1
    finally:
        await conn.close()
