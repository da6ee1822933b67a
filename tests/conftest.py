"""Shared fixtures: a template database built once from schema.sql, a fresh copy for each test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from nfsync.workers.config import Settings
from nfsync.workers.crypto import generate_key_entry
from nfsync.workers.db.schema import init_database
from nfsync.workers.lab import vhosts

SERVER_URL = os.environ.get("NFSYNC_TEST_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")
REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "docs" / "seeds"


SERVICE_FIXTURES = frozenset({"template_database", "fresh_database_name", "live_api"})
"""Every test that reaches PostgreSQL or RabbitMQ does it through one of these (or is marked ``services``)."""


DISRUPTIVE_ENV = "NFSYNC_TEST_DISRUPTIVE"
"""Set to 1 to run the ``disruptive`` tests, which stop and restart the shared PostgreSQL and RabbitMQ (.ci/run)."""
TEST_VHOST_PREFIX = "nfsync-test-"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``unit``: the tests that need neither PostgreSQL nor RabbitMQ (``make unit``, seconds, no services).
    ``disruptive``: skipped unless NFSYNC_TEST_DISRUPTIVE=1. A run with any service test gets its own RabbitMQ vhost."""
    run_disruptive = os.environ.get(DISRUPTIVE_ENV) == "1"
    for item in items:
        if not SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("services"):
            item.add_marker(pytest.mark.unit)
        if item.get_closest_marker("disruptive") and not run_disruptive:
            item.add_marker(pytest.mark.skip(reason=f"restarts the shared services: set {DISRUPTIVE_ENV}=1"))
    if any(not item.get_closest_marker("unit") for item in items):
        _own_vhost(config)


def _own_vhost(config: pytest.Config) -> None:
    """Point this run (and every process it starts) at a RabbitMQ vhost of its own: its queues, purges and
    wake-ups never meet another run's or an installation's. Vhosts of runs that are gone are deleted."""
    base = Settings()
    try:
        for name in vhosts.list_vhosts(base.amqp_url, base.rabbitmq_management_url):
            if name.startswith(TEST_VHOST_PREFIX) and not _owner_alive(name.replace("-", "_")):
                vhosts.delete_vhost(base.amqp_url, base.rabbitmq_management_url, name)
        name = f"{TEST_VHOST_PREFIX}{os.getpid()}"
        os.environ["NFSYNC_AMQP_URL"] = vhosts.create_vhost(base.amqp_url, base.rabbitmq_management_url, name)
    except vhosts.VhostUnavailable as exc:
        sys.stderr.write(f"warning: tests share the configured RabbitMQ vhost: {exc}\n")
        return
    config.add_cleanup(lambda: vhosts.delete_vhost(base.amqp_url, base.rabbitmq_management_url, name))


def url_for(database: str) -> str:
    return f"{SERVER_URL}/{database}"


def settings_for(database: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url_for(database),
        "db_startup_timeout": 5.0,
        "outbound_allowed_hosts": "127.0.0.1,localhost",
    }  # the sandboxes run here
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def admin_execute(*statements: str) -> None:
    conn = await asyncpg.connect(url_for("postgres"), timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _owner_alive(database: str) -> bool:
    """Whether the test run that made a database (its pid is in the name) still runs: two runs may share a server."""
    pid = next((part for part in database.split("_")[2:] if part.isdigit()), None)
    if pid is None:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return int(pid) != os.getpid()


@pytest.fixture(scope="session")
async def template_database() -> AsyncIterator[str]:
    conn = await asyncpg.connect(url_for("postgres"), timeout=10)
    try:
        stale = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'nfsync\\_t\\_%' OR datname LIKE 'nfsync\\_tpl\\_%'"
            " OR datname LIKE 'nfsync\\_check\\_%'"
        )
    finally:
        await conn.close()
    for row in stale:
        if not _owner_alive(row["datname"]):
            await drop_database(row["datname"])
    name = f"nfsync_tpl_{os.getpid()}"
    await init_database(settings_for(name))
    yield name
    await _Spares.drop()
    await drop_database(name)


class _Spares:
    """One copy of the template made ahead, while the previous test runs (a copy takes ~0.2 s of PostgreSQL's time;
    made in the background it costs the suite's wall time almost nothing)."""

    next: asyncio.Task[str] | None = None

    @classmethod
    async def take(cls, template: str) -> str:
        spare, cls.next = cls.next, None
        name = None
        if spare is not None:
            with contextlib.suppress(Exception):  # e.g. PostgreSQL was restarted meanwhile: make one now
                name = await spare
        if name is None:
            name = await _copy(template)
        cls.next = asyncio.ensure_future(_copy(template))
        return name

    @classmethod
    async def drop(cls) -> None:
        spare, cls.next = cls.next, None
        if spare is not None:
            with contextlib.suppress(Exception):
                await drop_database(await spare)


async def _copy(template: str) -> str:
    name = f"nfsync_t_{os.getpid()}_{secrets.token_hex(5)}"
    await admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


@pytest.fixture
async def database(template_database: str) -> AsyncIterator[Settings]:
    """Settings pointing at a fresh copy of the template database."""
    name = await _Spares.take(template_database)
    yield settings_for(name)
    await drop_database(name)


@pytest.fixture
async def conn(database: Settings) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database.database_url, timeout=10, server_settings={"timezone": "UTC"})
    yield connection
    await connection.close()


@pytest.fixture
def fresh_database_name() -> str:
    """A name with no database behind it (dropped after the test if one was created)."""
    return f"nfsync_t_{os.getpid()}_{secrets.token_hex(5)}"


@pytest.fixture
def keyring_text() -> str:
    return generate_key_entry("k1")


async def make_organization(conn: asyncpg.Connection, name: str = "Org") -> str:
    return str(await conn.fetchval("INSERT INTO organizations (name) VALUES ($1) RETURNING id", name))


async def make_integration(conn: asyncpg.Connection, org: str, platform: str = "shopee", name: str = "Main") -> str:
    return str(
        await conn.fetchval(
            "INSERT INTO marketplace_integrations (organization_id, name, platform, config)"
            " VALUES ($1, $2, $3, '{}') RETURNING id",
            org,
            name,
            platform,
        )
    )
