"""`nfsync db init` and `nfsync db check`.

``init`` creates the database named in the URL when it is missing, applies ``schema.sql`` in one transaction
and records its version and checksum; run again it is a no-op; an older database is sent to ``nfsync db migrate``
(``workers/db/migrate.py``), a newer one or unrelated tables are refused. ``check`` builds ``schema.sql`` in a
scratch database and compares the two catalogs object by object (a migrated database must match it exactly).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from nfsync.workers.config import Settings
from nfsync.workers.db.connect import connect
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.errors import SchemaError
from nfsync.workers.logs import get_logger

log = get_logger(__name__)

_VERSION_LINE = re.compile(r"^--\s*nfsync-schema-version:\s*(\d+)\s*$")
MAINTENANCE_DB = "postgres"


@dataclass(frozen=True)
class SchemaFile:
    path: Path
    text: str
    version: int
    checksum: str

    @classmethod
    def load(cls, path: Path) -> SchemaFile:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SchemaError(f"cannot read schema file {path}: {exc.strerror}") from None
        text = raw.decode()
        match = _VERSION_LINE.match(text.splitlines()[0] if text else "")
        if not match:
            raise SchemaError(f"{path} must start with '-- nfsync-schema-version: N'")
        return cls(path, text, int(match.group(1)), hashlib.sha256(raw).hexdigest())

    @property
    def label(self) -> str:
        return f"version {self.version} (checksum {self.checksum[:12]})"


async def ensure_database(settings: Settings, name: str) -> bool:
    """Create the database if missing; True when this call created it."""
    conn = await connect(settings, url=settings.database_url_for(MAINTENANCE_DB), application="nfsync-db-init")
    try:
        if await conn.fetchval(QUERIES["database_exists"], name):
            return False
        await conn.execute(await conn.fetchval(QUERIES["create_database_statement"], name))
        log.info("db.created", database=name)
        return True
    finally:
        await conn.close()


async def drop_database(settings: Settings, name: str) -> None:
    """Drop a database of the same server if it exists (scratch and benchmark databases)."""
    conn = await connect(settings, url=settings.database_url_for(MAINTENANCE_DB), application="nfsync-db-init")
    try:
        await conn.execute(await conn.fetchval(QUERIES["drop_database_statement"], name))
    finally:
        await conn.close()


async def _installed(conn: asyncpg.Connection) -> tuple[int, str] | None:
    if not await conn.fetchval(QUERIES["schema_version_table_exists"]):
        return None
    row = await conn.fetchrow(QUERIES["schema_version_current"])
    return None if row is None else (row["version"], row["checksum"])


def _refusal(database: str, installed: tuple[int, str], schema: SchemaFile) -> SchemaError:
    version = installed[0]
    if version < schema.version:
        return SchemaError(
            f"database {database!r} is at nfsync schema version {version} and this release is at {schema.version}; "
            "it is left untouched - run `nfsync db migrate` to upgrade it"
        )
    return SchemaError(
        f"database {database!r} is at nfsync schema version {version}, newer than this release ({schema.label}); "
        "it is left untouched - run the release that created it, or a newer one"
    )


async def install_schema(conn: asyncpg.Connection, schema: SchemaFile, database: str) -> str:
    """Apply schema.sql in one transaction to a database without nfsync tables; a no-op at the same version."""
    async with conn.transaction():
        await conn.execute(QUERIES["schema_lock"])
        installed = await _installed(conn)
        if installed is not None and installed[0] == schema.version:
            return f"database {database!r} is already at schema version {schema.version}; nothing to do"
        if installed is not None:
            raise _refusal(database, installed, schema)
        if await conn.fetchval(QUERIES["user_relation_count"]):
            raise SchemaError(
                f"database {database!r} already holds tables but no nfsync schema version; refusing to apply "
                "schema.sql over them"
            )
        try:
            await conn.execute(schema.text)
        except asyncpg.PostgresError as exc:
            raise SchemaError(f"{schema.path.name} failed to apply, nothing was changed: {exc}") from None
        await conn.execute(QUERIES["schema_version_record"], schema.version, schema.checksum)
    log.info("db.schema_applied", database=database, version=schema.version)
    return f"database {database!r} initialised at schema {schema.label}"


async def init_database(settings: Settings, schema_path: Path | None = None) -> str:
    """Create (if needed) and initialise the database; returns a one-line report."""
    schema = SchemaFile.load(schema_path or settings.schema_path)
    database = settings.database_name
    created = await ensure_database(settings, database)
    try:
        conn = await connect(settings, application="nfsync-db-init")
        try:
            await conn.execute("SET statement_timeout = 0")
            return await install_schema(conn, schema, database)
        finally:
            await conn.close()
    except BaseException:
        if created:
            await drop_database(settings, database)
        raise


async def describe(conn: asyncpg.Connection) -> dict[tuple[str, str], str]:
    rows = await conn.fetch(QUERIES["describe_catalog"])
    return {(row["kind"], row["name"]): row["definition"] for row in rows}


def diff_catalogs(expected: dict[tuple[str, str], str], actual: dict[tuple[str, str], str]) -> list[str]:
    """Human-readable differences, one per line, sorted."""
    lines = []
    for key in sorted(expected.keys() | actual.keys()):
        kind, name = key
        if key not in actual:
            lines.append(f"missing {kind} {name}: {expected[key]}")
        elif key not in expected:
            lines.append(f"unexpected {kind} {name}: {actual[key]}")
        elif expected[key] != actual[key]:
            lines.append(f"different {kind} {name}: expected {expected[key]!r}, found {actual[key]!r}")
    return lines


async def _reference_catalog(settings: Settings, schema: SchemaFile) -> dict[tuple[str, str], str]:
    scratch = f"nfsync_check_{secrets.token_hex(4)}"
    scratch_settings = settings.model_copy(update={"database_url": settings.database_url_for(scratch)})
    try:
        await init_database(scratch_settings, schema.path)
        conn = await connect(scratch_settings, application="nfsync-db-check")
        try:
            return await describe(conn)
        finally:
            await conn.close()
    finally:
        await drop_database(settings, scratch)


async def check_database(settings: Settings, schema_path: Path | None = None) -> list[str]:
    """Differences between the live database and schema.sql (empty when they match)."""
    schema = SchemaFile.load(schema_path or settings.schema_path)
    conn = await connect(settings, application="nfsync-db-check")
    try:
        installed = await _installed(conn)
        actual = await describe(conn)
    finally:
        await conn.close()
    problems = [] if installed is not None and installed[0] == schema.version else [_version_line(installed, schema)]
    return problems + diff_catalogs(await _reference_catalog(settings, schema), actual)


def _version_line(installed: tuple[int, str] | None, schema: SchemaFile) -> str:
    if installed is None:
        return f"no nfsync schema version recorded (schema.sql is {schema.label})"
    return f"recorded schema version {installed[0]} differs from schema.sql {schema.label}"
