"""`nfsync db migrate`: the first release's database, filled with data, migrates to exactly what a fresh schema.sql
builds, loses nothing, and every fault leaves it at the previous version.

A new migration extends this file: add rows to v1_data.sql only if the first release had the table, and assert
what the migration promises about existing rows in test_release_1_migrates_to_the_current_schema.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, SecretField, generate_key_entry
from nfsync.workers.db.migrate import migrate_database, require_current_schema, status_lines
from nfsync.workers.db.migrations import MIGRATIONS_DIR, code_schema_version
from nfsync.workers.db.schema import SchemaFile, check_database, init_database
from nfsync.workers.errors import SchemaError
from nfsync.workers.keys import rotate_keys
from tests.conftest import admin_execute, drop_database, settings_for

HERE = Path(__file__).resolve().parent
RELEASE_1 = HERE / "schema_v1.sql"
RELEASE_1_SHA256 = "78dc3a014e0ebf1f6ac547690297f7c32c73ec3813da9f0615367533ecc30a74"
ORG_A = "00000000-0000-4000-8000-00000000a001"
ORG_B = "00000000-0000-4000-8000-00000000b001"
INTEGRATION_A = "00000000-0000-4000-8000-00000000a010"
ACCOUNT_A = "00000000-0000-4000-8000-00000000a020"
# every table v1_data.sql fills, with the columns that order its rows
TABLES = {
    "organizations": "id",
    "users": "id",
    '"Organizer"': "id",
    '"Merchant"': "id",
    '"SaleChannel"': "id",
    '"Product"': "id",
    '"ProductVariant"': "id",
    '"StockLevel"': '"variantId"',
    '"VariantPrice"': '"variantId"',
    "marketplace_integrations": "id",
    "marketplace_accounts": "id",
    "marketplace_shops": "id",
    "sync_tasks": "id",
    "product_mappings": "variant_id",
    '"SalesOrder"': "id",
    "order_mappings": "platform_order_id",
    "marketplace_webhooks": "dedupe_key",
    "sync_logs": "created_at",
    "api_tokens": "name",
}
NFSYNC = [sys.executable, "-m", "nfsync.workers"]


async def install_release_1(settings: Settings) -> None:
    """Build a database the way release 1's `db init` did: its schema.sql in one transaction, then its record."""
    raw = RELEASE_1.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == RELEASE_1_SHA256, "the release 1 fixture must stay byte for byte"
    await admin_execute(f'CREATE DATABASE "{settings.database_name}"')
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute(raw.decode())
            await conn.execute("INSERT INTO nfsync_schema_version (version, checksum) VALUES (1, $1)", RELEASE_1_SHA256)
    finally:
        await conn.close()


@pytest.fixture
async def release_1(fresh_database_name: str) -> AsyncIterator[Settings]:
    settings = settings_for(fresh_database_name)
    await install_release_1(settings)
    yield settings
    await drop_database(fresh_database_name)


async def _fill(settings: Settings, keyring: Keyring) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute((HERE / "v1_data.sql").read_text())
        where = SecretField("marketplace_integrations", "credentials", ORG_A, INTEGRATION_A)
        credentials = keyring.encrypt_fields({"partner_key": "pk-canary"}, where)
        hook = keyring.encrypt(
            "hook-canary", SecretField("marketplace_integrations", "webhook_secret", ORG_A, INTEGRATION_A)
        )
        await conn.execute(
            "UPDATE marketplace_integrations SET credentials = $2::jsonb, webhook_secret = $3 WHERE id = $1",
            INTEGRATION_A,
            json.dumps(credentials),
            hook,
        )
        tokens = [
            keyring.encrypt(value, SecretField("marketplace_accounts", column, ORG_A, ACCOUNT_A))
            for column, value in (("access_token", "at-canary"), ("refresh_token", "rt-canary"))
        ]
        await conn.execute(
            "UPDATE marketplace_accounts SET access_token = $2, refresh_token = $3 WHERE id = $1", ACCOUNT_A, *tokens
        )
    finally:
        await conn.close()


async def _rows(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return {
            table: [
                json.loads(r[0]) for r in await conn.fetch(f"SELECT to_jsonb(t)::text FROM {table} t ORDER BY {key}")
            ]
            for table, key in TABLES.items()
        }
    finally:
        await conn.close()


async def _secrets(settings: Settings, keyring: Keyring) -> list[str]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        integration = await conn.fetchrow(
            "SELECT credentials::text, webhook_secret FROM marketplace_integrations WHERE id = $1", INTEGRATION_A
        )
        account = await conn.fetchrow(
            "SELECT access_token, refresh_token FROM marketplace_accounts WHERE id = $1", ACCOUNT_A
        )
    finally:
        await conn.close()
    place = SecretField("marketplace_integrations", "credentials", ORG_A, INTEGRATION_A)
    values = list(keyring.decrypt_fields(json.loads(integration[0]), place).values())
    values.append(
        keyring.decrypt(integration[1], SecretField("marketplace_integrations", "webhook_secret", ORG_A, INTEGRATION_A))
    )
    for column in ("access_token", "refresh_token"):
        values.append(keyring.decrypt(account[column], SecretField("marketplace_accounts", column, ORG_A, ACCOUNT_A)))
    return [value.reveal() for value in values]


def _subset(after: dict[str, list[dict[str, Any]]], before: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The rows after, limited to the columns that existed before (a migration may add columns)."""
    return {
        table: [{k: row[k] for k in old} for row, old in zip(rows, before[table], strict=False)]
        for table, rows in after.items()
    }


async def test_release_1_migrates_to_the_current_schema(release_1: Settings) -> None:
    first_key = generate_key_entry("k1")
    keyring = Keyring.parse(first_key)
    await _fill(release_1, keyring)
    before = await _rows(release_1)
    assert all(before.values()), "every table of the fixture holds rows"

    report = await migrate_database(release_1)

    assert report[-1] == f"database {release_1.database_name!r} is now at schema version {code_schema_version()}"
    assert await check_database(release_1) == [], "a migrated database is exactly what schema.sql builds"
    after = await _rows(release_1)
    assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in before.items()}
    assert _subset(after, before) == before, "every row is still there with the same values"
    assert await _secrets(release_1, keyring) == ["pk-canary", "hook-canary", "at-canary", "rt-canary"]
    conn = await asyncpg.connect(release_1.database_url)
    try:
        rotation = await rotate_keys(conn, Keyring.parse(f"{generate_key_entry('k2')},{first_key}"), 100)
        history = await conn.fetch("SELECT version, name, duration_ms FROM nfsync_schema_version ORDER BY version")
    finally:
        await conn.close()
    assert rotation.errors == [] and rotation.reencrypted == 4, "keys rotate reads every migrated secret"
    assert [(r["version"], r["name"]) for r in history][:2] == [(1, "schema.sql"), (2, "0002_migration_history")]
    assert all(r["duration_ms"] is not None for r in history[1:])
    assert await _merchant_links(release_1) == {"m-a": ORG_A, "m-b": ORG_B}, "0003: each shop's merchant is linked"
    again = await migrate_database(release_1)
    assert again == [
        f"database {release_1.database_name!r} is at schema version {code_schema_version()}; nothing to do"
    ]


async def _merchant_links(settings: Settings) -> dict[str, str]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT merchant_id, organization_id::text FROM organization_merchants")
        return {r[0]: r[1] for r in rows}
    finally:
        await conn.close()


async def test_0003_links_no_merchant_two_organizations_reached(release_1: Settings) -> None:
    """Release 1 let organization B point its shop at A's channel: after the migration that merchant belongs to no
    one (an operator decides), and B's shop can no longer be attached to it again."""
    conn = await asyncpg.connect(release_1.database_url)
    try:
        await conn.execute((HERE / "v1_data.sql").read_text())
        await conn.execute("UPDATE marketplace_shops SET sale_channel_id = 'sc-a' WHERE organization_id = $1", ORG_B)
    finally:
        await conn.close()
    await migrate_database(release_1)
    assert await _merchant_links(release_1) == {}
    conn = await asyncpg.connect(release_1.database_url)
    try:
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                "UPDATE marketplace_shops SET sale_channel_id = 'sc-b' WHERE organization_id = $1", ORG_B
            )
    finally:
        await conn.close()


async def test_0004_makes_admin_tokens_operator_tokens(release_1: Settings) -> None:
    conn = await asyncpg.connect(release_1.database_url)
    try:
        await conn.execute((HERE / "v1_data.sql").read_text())
        await conn.execute(
            "INSERT INTO api_tokens (organization_id, name, token_hash, scopes)"
            " VALUES ($1, 'ops', repeat('cd', 32), ARRAY['admin', 'ops:read'])",
            ORG_B,
        )
    finally:
        await conn.close()
    await migrate_database(release_1)
    conn = await asyncpg.connect(release_1.database_url)
    try:
        rows = await conn.fetch("SELECT name, kind, organization_id::text FROM api_tokens ORDER BY name")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [("ci", "tenant", ORG_A), ("ops", "operator", None)]


def test_schema_sql_version_is_the_last_migration() -> None:
    assert SchemaFile.load(Settings().schema_path).version == code_schema_version()
    assert code_schema_version() >= 2


async def test_migrate_on_an_empty_database_installs_schema_sql(fresh_database_name: str) -> None:
    settings = settings_for(fresh_database_name)
    try:
        lines = await migrate_database(settings)
        assert lines == [
            f"database {fresh_database_name!r} initialised at schema {SchemaFile.load(settings.schema_path).label}"
        ]
        assert await check_database(settings) == []
        conn = await asyncpg.connect(settings.database_url)
        try:
            await require_current_schema(conn, fresh_database_name)
        finally:
            await conn.close()
    finally:
        await drop_database(fresh_database_name)


async def test_dry_run_prints_the_plan_and_changes_nothing(release_1: Settings) -> None:
    lines = await migrate_database(release_1, dry_run=True)
    assert lines[0] == "dry run: nothing is changed"
    assert lines[1] == f"database {release_1.database_name!r} is at schema version 1; to apply:"
    assert "  0002_migration_history" in lines
    conn = await asyncpg.connect(release_1.database_url)
    try:
        assert await conn.fetchval("SELECT max(version) FROM nfsync_schema_version") == 1
    finally:
        await conn.close()
    status = await status_lines(release_1)
    assert status[0] == f"code schema version: {code_schema_version()}"
    assert status[1] == f"database {release_1.database_name!r}: schema version 1"
    assert "  0002_migration_history" in status


async def test_init_on_an_older_database_points_at_migrate(release_1: Settings) -> None:
    with pytest.raises(SchemaError, match=r"at nfsync schema version 1 .* run `nfsync db migrate`"):
        await init_database(release_1)


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """The shipped migrations in a directory a test may add to."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory


def _next_migration(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{code_schema_version() + 1:04d}_{name}.sql"
    path.write_text(text)
    return path


async def _version_and_table(settings: Settings, table: str) -> tuple[int, bool]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        version = await conn.fetchval("SELECT max(version) FROM nfsync_schema_version")
        return version, bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))
    finally:
        await conn.close()


async def test_a_failing_migration_rolls_back_and_names_the_statement(
    database: Settings, migrations_copy: Path
) -> None:
    _next_migration(migrations_copy, "broken", "CREATE TABLE half_done (id int);\n\nSELECT 1 / 0;\n")
    label = f"{code_schema_version() + 1:04d}_broken"
    with pytest.raises(SchemaError) as failure:
        await migrate_database(database, migrations_dir=migrations_copy)
    message = str(failure.value)
    assert f"migration {label} failed at line 3 (SELECT 1 / 0)" in message
    assert "division by zero" in message
    assert f"the database stays at schema version {code_schema_version()}" in message
    assert await _version_and_table(database, "half_done") == (code_schema_version(), False)


async def _wait_for(condition: Callable[[], Awaitable[bool]], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _advisory_waiters(conn: asyncpg.Connection, database: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = $1",
            database,
        )
    )


async def test_a_lost_connection_leaves_the_previous_version(database: Settings, migrations_copy: Path) -> None:
    _next_migration(
        migrations_copy, "stalls", "CREATE TABLE lost_midway (id int);\nSELECT pg_advisory_xact_lock(4242);\n"
    )
    holder = await asyncpg.connect(database.database_url)
    try:
        await holder.execute("SELECT pg_advisory_lock(4242)")
        running = asyncio.ensure_future(migrate_database(database, migrations_dir=migrations_copy))
        await _wait_for(lambda: _is_waiting(holder, database.database_name), "the migration to block")
        await holder.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND application_name = 'nfsync-db-migrate'",
            database.database_name,
        )
        with pytest.raises(SchemaError, match=r"_stalls failed at line 2 \(SELECT pg_advisory_xact_lock\(4242\)\)"):
            await running
        assert await _version_and_table(database, "lost_midway") == (code_schema_version(), False)
        await holder.execute("SELECT pg_advisory_unlock(4242)")
        await migrate_database(database, migrations_dir=migrations_copy)
        assert await _version_and_table(database, "lost_midway") == (code_schema_version() + 1, True)
    finally:
        await holder.close()


async def _is_waiting(conn: asyncpg.Connection, database: str) -> bool:
    return await _advisory_waiters(conn, database) >= 1


async def test_a_no_transaction_migration_runs_statement_by_statement(
    database: Settings, migrations_copy: Path
) -> None:
    text = (
        "-- nfsync: no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS sync_tasks_created_probe_idx ON sync_tasks (created_at);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS sync_tasks_updated_probe_idx ON sync_tasks (updated_at);\n"
    )
    _next_migration(migrations_copy, "concurrent_index", text)
    plan = await migrate_database(database, migrations_dir=migrations_copy, dry_run=True)
    assert plan[-1].endswith("_concurrent_index (outside a transaction)")
    await migrate_database(database, migrations_dir=migrations_copy)
    assert await _version_and_table(database, "sync_tasks_updated_probe_idx") == (code_schema_version() + 1, True)


async def test_an_edited_migration_is_refused(database: Settings, migrations_copy: Path) -> None:
    path = _next_migration(migrations_copy, "added", "CREATE TABLE added_once (id int);\n")
    await migrate_database(database, migrations_dir=migrations_copy)
    path.write_text("CREATE TABLE added_once (id bigint);\n")
    with pytest.raises(SchemaError, match=r"_added was changed after it ran .* restore the released file"):
        await migrate_database(database, migrations_dir=migrations_copy)


async def test_a_newer_database_is_refused_everywhere(database: Settings) -> None:
    conn = await asyncpg.connect(database.database_url)
    try:
        await conn.execute("INSERT INTO nfsync_schema_version (version, checksum, name) VALUES (999, 'x', 'future')")
        with pytest.raises(SchemaError, match="at schema version 999, newer than this release"):
            await require_current_schema(conn, database.database_name)
    finally:
        await conn.close()
    with pytest.raises(SchemaError, match="at schema version 999, newer than this release of nfsync"):
        await migrate_database(database)
    with pytest.raises(SchemaError, match="at nfsync schema version 999, newer than this release"):
        await init_database(database)


def _cli(args: list[str], settings: Settings) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env.update(
        {
            "NFSYNC_DATABASE_URL": settings.database_url,
            "NFSYNC_LOG_FORMAT": "json",
            "NFSYNC_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",
            "NFSYNC_AMQP_STARTUP_TIMEOUT": "1",
        }
    )
    return subprocess.Popen([*NFSYNC, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


async def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = await asyncio.to_thread(process.communicate, timeout=60)
    return process.returncode, out, err


@pytest.mark.slow
async def test_two_replicas_migrate_once(release_1: Settings) -> None:
    """Two `db migrate` processes start while a third party holds the schema lock: one applies, one finds nothing."""
    holder = await asyncpg.connect(release_1.database_url)
    try:
        await holder.execute("SELECT pg_advisory_lock(hashtext('nfsync.schema'))")
        processes = [_cli(["db", "migrate"], release_1) for _ in range(2)]
        await _wait_for(lambda: _both_waiting(holder, release_1.database_name), "both migrations to wait for the lock")
        await holder.execute("SELECT pg_advisory_unlock(hashtext('nfsync.schema'))")
        results = [await _finish(p) for p in processes]
    finally:
        await holder.close()
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    outputs = sorted(out for _, out, _ in results)
    applied = [out for out in outputs if "applied 0002_migration_history" in out]
    idle = [out for out in outputs if out.strip().endswith("nothing to do")]
    assert len(applied) == 1 and len(idle) == 1, outputs
    assert await check_database(release_1) == []


async def _both_waiting(conn: asyncpg.Connection, database: str) -> bool:
    return await _advisory_waiters(conn, database) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("command", [["worker", "--platform", "shopee"], ["scheduler"], ["api", "--port", "0"]])
async def test_processes_refuse_an_older_schema(release_1: Settings, command: list[str]) -> None:
    code, out, err = await _finish(_cli(command, release_1))
    assert code == 1, (out, err)
    assert err.strip().splitlines()[-1] == (
        f"nfsync: error: database {release_1.database_name!r} is at schema version 1, this release needs "
        f"{code_schema_version()}; run `nfsync db migrate`"
    )
