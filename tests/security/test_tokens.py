"""Token lifecycle and operator credentials (issue #13): revoked, expired and inactive-organization tokens
authenticate nothing; no organization's token is fleet-wide; the API role cannot widen row-level security."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from nfsync.connectors.base.errors import ValidationFailed
from tests.api.conftest import LiveApi


async def test_a_revoked_token_authenticates_nothing(live_api: LiveApi) -> None:
    spare = await live_api.token(live_api.a.org, ["tasks:read"])
    assert (await live_api.call("GET", "/v1/sync-tasks", spare))[0] == 200
    _, listing = await live_api.call("GET", "/v1/tokens", live_api.a.token)
    used = [t for t in listing["items"] if t["last_used_at"] is not None and t["scopes"] == ["tasks:read"]]
    spare_id = used[0]["id"]
    assert all("hash" not in key for t in listing["items"] for key in t), "values and hashes are never shown"
    status, _ = await live_api.call("POST", f"/v1/tokens/{spare_id}/revoke", live_api.b.token)
    assert status == 404, "B cannot revoke (or learn of) A's token"
    _, other = await live_api.call("GET", "/v1/tokens", live_api.b.token)
    assert spare_id not in {t["id"] for t in other["items"]}
    status, revoked = await live_api.call("POST", f"/v1/tokens/{spare_id}/revoke", live_api.a.token)
    assert status == 200 and revoked["revoked_at"] is not None
    assert (await live_api.call("GET", "/v1/sync-tasks", spare))[0] == 401


async def test_an_expired_token_authenticates_nothing(live_api: LiveApi) -> None:
    soon = await live_api.token(live_api.a.org, ["tasks:read"], expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert (await live_api.call("GET", "/v1/sync-tasks", soon))[0] == 200
    past = await live_api.token(live_api.a.org, ["tasks:read"], expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await live_api.call("GET", "/v1/sync-tasks", past))[0] == 401


async def test_an_inactive_organizations_tokens_authenticate_nothing(live_api: LiveApi) -> None:
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        await conn.execute("UPDATE organizations SET status = 'inactive' WHERE id = $1", live_api.b.org)
    finally:
        await conn.close()
    assert (await live_api.call("GET", "/v1/sync-tasks", live_api.b.token))[0] == 401
    assert (await live_api.call("GET", "/v1/sync-tasks", live_api.a.token))[0] == 200


async def test_no_organizations_token_can_be_fleet_wide(live_api: LiveApi) -> None:
    with pytest.raises(ValidationFailed, match="operator tokens only"):
        await live_api.token(live_api.a.org, ["admin"])
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "UPDATE api_tokens SET scopes = ARRAY['admin'] WHERE organization_id = $1", live_api.a.org
            )
    finally:
        await conn.close()
    operator = await live_api.token(None, ["admin"])
    for tenant in (live_api.a, live_api.b):
        await live_api.call(
            "POST",
            "/v1/sync-tasks",
            tenant.token,
            json={
                "integration_id": str(tenant.integration),
                "shop_id": str(tenant.shops[0]),
                "task_type": "order_sync",
                "direction": "marketplace_to_crm",
            },
        )
    _, everything = await live_api.call("GET", "/v1/sync-tasks", operator)
    _, own = await live_api.call("GET", "/v1/sync-tasks", live_api.a.token)
    assert len(everything["items"]) == 2 and len(own["items"]) == 1
    status, body = await live_api.call(
        "POST",
        "/v1/sync-tasks",
        operator,
        json={
            "integration_id": str(live_api.a.integration),
            "task_type": "order_sync",
            "direction": "marketplace_to_crm",
        },
    )
    assert status == 403 and "operator" in body["error"]["message"], "an operator acts for no organization"


async def test_the_api_role_cannot_widen_row_level_security(live_api: LiveApi) -> None:
    """Before: `SET app.admin = on` on a tenant connection showed every organization's rows."""
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        await conn.execute("SET ROLE nfsync_app")
        await conn.execute("SELECT set_config('app.organization_id', $1, false)", str(live_api.a.org))
        await conn.execute("SET app.admin = 'on'")
        organizations = await conn.fetch("SELECT DISTINCT organization_id FROM marketplace_integrations")
    finally:
        await conn.close()
    assert [r[0] for r in organizations] == [live_api.a.org]


def test_tokens_list_and_revoke_commands(live_api: LiveApi) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env["NFSYNC_DATABASE_URL"] = live_api.settings.database_url

    def nfsync(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nfsync.workers", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    orgs = [line.split("\t") for line in nfsync("orgs", "list").stdout.splitlines()[1:]]
    assert {row[0] for row in orgs} >= {str(live_api.a.org), str(live_api.b.org)} and all(row[2] for row in orgs)
    listed = nfsync("tokens", "list", "--org", str(live_api.b.org))
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
    assert len(rows) == 1 and rows[0][1] == "tenant" and rows[0][2] == str(live_api.b.org)
    revoked = nfsync("tokens", "revoke", rows[0][0])
    assert revoked.returncode == 0 and revoked.stdout.splitlines()[1].split("\t")[-1] != "", revoked.stderr
    assert nfsync("tokens", "create", "--org", str(live_api.b.org), "--scopes", "admin").returncode == 1
    operator = nfsync("tokens", "create", "--operator", "--scopes", "admin", "--expires-at", "2030-01-01T00:00:00Z")
    assert operator.returncode == 0 and operator.stdout.startswith("nfs_"), operator.stderr
