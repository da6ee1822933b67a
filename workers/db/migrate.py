"""`nfsync db migrate`, `nfsync db status`, and the version check every long-running process makes at start.

``migrate`` takes one session-level advisory lock (the key ``db init`` takes per transaction), so replicas that
start at once migrate one after the other: the second finds nothing to do. It refuses a database newer than the
code and a database where an applied migration's file has changed since (checksum). Each pending migration runs in
its own transaction and is recorded (version, checksum, name, duration) in that transaction; a failure rolls it
back and names the migration and the statement. An empty database gets ``schema.sql`` as ``db init`` would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from nfsync.workers.config import Settings
from nfsync.workers.db.connect import DbConn, connect
from nfsync.workers.db.migrations import (
    BASELINE_VERSION,
    MIGRATIONS_DIR,
    Migration,
    Statement,
    code_schema_version,
    load_migrations,
)
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.db.schema import SchemaFile, ensure_database, install_schema
from nfsync.workers.errors import SchemaError
from nfsync.workers.logs import get_logger

log = get_logger(__name__)

_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
MIGRATE_COMMAND = "nfsync db migrate"


@dataclass(frozen=True)
class Step:
    version: int
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class Installed:
    """What a database records: the install (its lowest version) and the migrations applied after it."""

    steps: list[Step]

    @property
    def baseline(self) -> int:
        return self.steps[0].version

    @property
    def version(self) -> int:
        return self.steps[-1].version

    @property
    def migrations(self) -> list[Step]:
        return self.steps[1:]


@dataclass(frozen=True)
class Plan:
    database: str
    installed: Installed | None
    target: int
    pending: list[Migration] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.installed is None:
            return [f"database {self.database!r} is empty: schema.sql (version {self.target}) will be applied"]
        if not self.pending:
            return [f"database {self.database!r} is at schema version {self.target}; nothing to do"]
        head = f"database {self.database!r} is at schema version {self.installed.version}; to apply:"
        return [head] + [f"  {m.label}{'' if m.transactional else ' (outside a transaction)'}" for m in self.pending]


@dataclass
class _Progress:
    statement: Statement | None = None


async def read_installed(conn: DbConn) -> Installed | None:
    if not await conn.fetchval(QUERIES["schema_version_table_exists"]):
        return None
    rows = await conn.fetch(QUERIES["schema_history"])
    return Installed([Step(r["version"], r["checksum"], r["applied_at"]) for r in rows]) if rows else None


def plan_migrations(database: str, installed: Installed | None, migrations: list[Migration]) -> Plan:
    """The migrations to apply, after refusing what cannot be migrated safely."""
    target = migrations[-1].version if migrations else BASELINE_VERSION
    if installed is None:
        return Plan(database, None, target)
    if installed.version > target:
        raise SchemaError(
            f"database {database!r} is at schema version {installed.version}, newer than this release of nfsync "
            f"(version {target}); run the release that migrated it, or a newer one"
        )
    if installed.baseline < BASELINE_VERSION:
        raise SchemaError(f"database {database!r} records schema version {installed.baseline}, which no release had")
    _verify_checksums(database, installed, {m.version: m for m in migrations})
    return Plan(database, installed, target, [m for m in migrations if m.version > installed.version])


def _verify_checksums(database: str, installed: Installed, by_version: dict[int, Migration]) -> None:
    for step in installed.migrations:
        migration = by_version[step.version]
        if step.checksum != migration.checksum:
            raise SchemaError(
                f"migration {migration.label} was changed after it ran on database {database!r} (recorded checksum "
                f"{step.checksum[:12]}, file {migration.checksum[:12]}); restore the released file - a migration is "
                "never edited once released, a new one is added instead"
            )


async def migrate_database(
    settings: Settings,
    *,
    dry_run: bool = False,
    wait_seconds: float = 600.0,
    lock_timeout_seconds: float = 10.0,
    migrations_dir: Path = MIGRATIONS_DIR,
    schema_path: Path | None = None,
) -> list[str]:
    """Bring the database to the code's schema version; returns the report's lines."""
    migrations = load_migrations(migrations_dir)
    database = settings.database_name
    if not dry_run:
        await ensure_database(settings, database)
    conn = await connect(settings, application="nfsync-db-migrate")
    try:
        await conn.execute("SET statement_timeout = 0")
        await _lock(conn, database, wait_seconds)
        await conn.execute(f"SET lock_timeout = {int(lock_timeout_seconds * 1000)}")
        plan = plan_migrations(database, await read_installed(conn), migrations)
        if dry_run:
            return ["dry run: nothing is changed", *plan.lines()]
        return await _carry_out(conn, plan, schema_path or settings.schema_path)
    finally:
        await conn.close()  # also releases the session lock


async def _lock(conn: asyncpg.Connection, database: str, wait_seconds: float) -> None:
    await conn.execute(f"SET lock_timeout = {max(1, int(wait_seconds * 1000))}")
    try:
        await conn.execute(QUERIES["schema_session_lock"])
    except asyncpg.LockNotAvailableError:
        raise SchemaError(
            f"another `db init` or `db migrate` on database {database!r} still held the schema lock after "
            f"{wait_seconds:g} s; try again when it has finished"
        ) from None


async def _carry_out(conn: asyncpg.Connection, plan: Plan, schema_path: Path) -> list[str]:
    if plan.installed is None:
        return [await install_schema(conn, SchemaFile.load(schema_path), plan.database)]
    lines = plan.lines()
    version = plan.installed.version
    for migration in plan.pending:
        seconds = await _apply(conn, migration, version)
        version = migration.version
        lines.append(f"applied {migration.label} in {seconds:.2f} s")
        log.info("db.migration_applied", database=plan.database, migration=migration.label, seconds=seconds)
    if plan.pending:
        lines.append(f"database {plan.database!r} is now at schema version {version}")
    return lines


async def _apply(conn: asyncpg.Connection, migration: Migration, previous: int) -> float:
    started = time.monotonic()
    progress = _Progress()
    try:
        if migration.transactional:
            async with conn.transaction():
                await _run(conn, migration, progress, started)
        else:
            await _run(conn, migration, progress, started)
    except _FAILURES as exc:
        raise _failure(migration, progress.statement, exc, previous) from None
    return time.monotonic() - started


async def _run(conn: asyncpg.Connection, migration: Migration, progress: _Progress, started: float) -> None:
    for statement in migration.statements():
        progress.statement = statement
        await conn.execute(statement.text)
    progress.statement = None
    duration_ms = int((time.monotonic() - started) * 1000)
    await conn.execute(
        QUERIES["schema_migration_record"], migration.version, migration.checksum, migration.label, duration_ms
    )


def _failure(migration: Migration, statement: Statement | None, exc: BaseException, previous: int) -> SchemaError:
    where = "recording it" if statement is None else f"line {statement.line} ({statement.head})"
    detail = str(exc) or type(exc).__name__
    if migration.transactional:
        outcome = f"it was rolled back: the database stays at schema version {previous}"
    else:
        outcome = (
            f"it runs outside a transaction, so the statements before this one stay applied; the database is "
            f"recorded at schema version {previous} and the migration is written to run again"
        )
    return SchemaError(f"migration {migration.label} failed at {where}: {detail}; {outcome}")


async def status_lines(settings: Settings, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """`nfsync db status`: the installed steps, the code's version, and what `migrate` would apply."""
    migrations = load_migrations(migrations_dir)
    conn = await connect(settings, application="nfsync-db-status")
    try:
        installed = await read_installed(conn)
    finally:
        await conn.close()
    target = migrations[-1].version if migrations else BASELINE_VERSION
    lines = [f"code schema version: {target}"]
    if installed is None:
        return [*lines, f"database {settings.database_name!r}: no nfsync schema (run `{MIGRATE_COMMAND}`)"]
    lines.append(f"database {settings.database_name!r}: schema version {installed.version}")
    for index, step in enumerate(installed.steps):
        what = "installed from schema.sql" if index == 0 else "migrated"
        lines.append(f"  {step.version:>4}  {what:<25} {step.applied_at:%Y-%m-%d %H:%M:%S}  {step.checksum[:12]}")
    return lines + plan_migrations(settings.database_name, installed, migrations).lines()[1:]


async def require_current_schema(conn: DbConn | asyncpg.Pool, database: str, expected: int | None = None) -> None:
    """Refuse to run a process against a database whose schema is older or newer than the code's."""
    expected = code_schema_version() if expected is None else expected
    installed = None
    if await conn.fetchval(QUERIES["schema_version_table_exists"]):
        installed = await conn.fetchval(QUERIES["schema_version_current"])
    if installed == expected:
        return
    if installed is None:
        message = f"database {database!r} has no nfsync schema; run `{MIGRATE_COMMAND}`"
    elif installed < expected:
        message = (
            f"database {database!r} is at schema version {installed}, this release needs {expected}; "
            f"run `{MIGRATE_COMMAND}`"
        )
    else:
        message = (
            f"database {database!r} is at schema version {installed}, newer than this release ({expected}); "
            "upgrade nfsync"
        )
    raise SchemaError(message)
