"""db init / db check against the real server, the sync_logs partitions, and every named query."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from nfsync.workers.config import Settings
from nfsync.workers.db.schema import SchemaFile, check_database, init_database
from nfsync.workers.errors import DatabaseUnavailable, SchemaError
from nfsync.workers.lab.queries import QUERIES  # the runtime's queries and the lab's
from tests.conftest import admin_execute, drop_database, settings_for, url_for


async def _exists(name: str) -> bool:
    conn = await asyncpg.connect(url_for("postgres"))
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def _table_count(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'allocation')"))
    finally:
        await conn.close()


async def test_init_creates_database_then_is_a_no_op(fresh_database_name: str) -> None:
    settings = settings_for(fresh_database_name)
    try:
        first = await init_database(settings)
        assert f"initialised at schema version {SchemaFile.load(settings.schema_path).version}" in first
        tables = await _table_count(settings)
        assert tables >= 40
        second = await init_database(settings)
        assert "nothing to do" in second
        assert await _table_count(settings) == tables
        assert await check_database(settings) == []
        plain = await asyncpg.connect(settings.database_url)
        assert await plain.fetchval("SHOW timezone") == "UTC", "db init makes UTC the database default"
        await plain.close()
    finally:
        await drop_database(fresh_database_name)


async def test_init_refuses_other_version(database: Settings) -> None:
    conn = await asyncpg.connect(database.database_url)
    try:
        await conn.execute("UPDATE nfsync_schema_version SET version = 0, checksum = 'abc'")
    finally:
        await conn.close()
    with pytest.raises(SchemaError, match=r"at nfsync schema version 0 .* left untouched - run `nfsync db migrate`"):
        await init_database(database)


async def test_init_refuses_foreign_tables(fresh_database_name: str) -> None:
    await admin_execute(f'CREATE DATABASE "{fresh_database_name}"')
    settings = settings_for(fresh_database_name)
    try:
        conn = await asyncpg.connect(settings.database_url)
        await conn.execute("CREATE TABLE legacy (id int)")
        await conn.close()
        with pytest.raises(SchemaError, match="already holds tables"):
            await init_database(settings)
    finally:
        await drop_database(fresh_database_name)


async def test_broken_schema_changes_nothing(fresh_database_name: str, tmp_path: Path) -> None:
    good = SchemaFile.load(settings_for("x").schema_path).text
    broken = tmp_path / "schema.sql"
    broken.write_text(good.replace("CREATE TABLE sync_tasks (", "CREATE TABLE sync_tasks ( oops,", 1))
    settings = settings_for(fresh_database_name)
    with pytest.raises(SchemaError, match="failed to apply, nothing was changed"):
        await init_database(settings, broken)
    assert not await _exists(fresh_database_name), "a database this call created is removed again"
    await admin_execute(f'CREATE DATABASE "{fresh_database_name}"')
    try:
        with pytest.raises(SchemaError):
            await init_database(settings, broken)
        assert await _table_count(settings) == 0, "the half-applied schema was rolled back"
    finally:
        await drop_database(fresh_database_name)


async def test_schema_file_without_version_line(tmp_path: Path, database: Settings) -> None:
    path = tmp_path / "schema.sql"
    path.write_text("CREATE TABLE t (id int);\n")
    with pytest.raises(SchemaError, match="must start with"):
        await init_database(database, path)
    with pytest.raises(SchemaError, match="cannot read schema file"):
        await init_database(database, tmp_path / "missing.sql")


async def test_check_reports_drift(database: Settings) -> None:
    conn = await asyncpg.connect(database.database_url)
    try:
        await conn.execute("DROP INDEX sync_tasks_status_idx")
        await conn.execute("ALTER TABLE sync_tasks ADD COLUMN rogue int")
    finally:
        await conn.close()
    problems = await check_database(database)
    assert any(p.startswith("missing index public.sync_tasks_status_idx") for p in problems)
    assert any(p.startswith("unexpected column public.sync_tasks.rogue") for p in problems)


async def test_unreachable_database_is_one_clear_error() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/nowhere", db_startup_timeout=0.5)
    with pytest.raises(DatabaseUnavailable, match=r"cannot reach PostgreSQL at postgresql://postgres@127\.0\.0\.1:1"):
        await init_database(settings)


async def test_sync_logs_partitions(conn: asyncpg.Connection) -> None:
    names = {
        r["relname"]
        for r in await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'sync_logs'::regclass"
        )
    }
    assert "sync_logs_default" in names and len(names) == 6, names
    org = "00000000-0000-0000-0000-000000000001"
    insert = (
        "INSERT INTO sync_logs (created_at, organization_id, integration_id, entity_type, action, status)"
        " VALUES (now() + interval '12 months', $1, $1, 'product', 'create', 'success')"
    )
    await conn.execute(insert, org)
    assert await conn.fetchval("SELECT count(*) FROM sync_logs_default") == 1, "nothing is lost past the horizon"
    assert await conn.fetchval("SELECT sync_logs_ensure_partitions(0, 12)") == 9
    assert await conn.fetchval("SELECT count(*) FROM sync_logs_default") == 0, "moved into its month"
    assert await conn.fetchval("SELECT count(*) FROM sync_logs") == 1
    assert await conn.fetchval("SELECT sync_logs_ensure_partitions(0, 12)") == 0, "idempotent"
    dropped = await conn.fetchval("SELECT sync_logs_drop_partitions_before(date_trunc('month', now())::timestamp)")
    assert dropped == 1, "last month's partition is past retention"


async def test_every_named_query_prepares(conn: asyncpg.Connection) -> None:
    assert len(QUERIES) > 5
    for setup in ("chaos_audit_table", "chaos_audit_function", "chaos_audit_trigger"):
        await conn.execute(QUERIES[setup])  # the chaos suite's queries read its audit table (its own database)
    for name, sql in QUERIES.items():
        try:
            await conn.prepare(sql)
        except asyncpg.PostgresError as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"query {name} does not prepare: {exc}")
