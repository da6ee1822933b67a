"""Start-up of `nfsync api` (workers/api/app.py ``api_state``) closes what it opened when a later step fails: the
pools opened before a failing pool, a broker that refuses, or a publisher that cannot declare its topology are not
left holding PostgreSQL connections (issue #15 item 9). Connections are counted in ``pg_stat_activity`` of the
per-test database by the API's application names."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from nfsync.workers.api import app as api_app
from nfsync.workers.api.app import api_state
from nfsync.workers.config import Settings
from nfsync.workers.engine.broker import WakeupPublisher
from nfsync.workers.engine.runtime import connect_broker_optional

COUNT_API_CONNECTIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'nfsync-api%' AND pid <> pg_backend_pid()
"""
DEADLINE = 5.0  # seconds for the server to see a closed connection go


class StartupBroke(Exception):
    """The failure injected into one start-up step."""


async def api_connections(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url, timeout=10)
    try:
        return int(await conn.fetchval(COUNT_API_CONNECTIONS))
    finally:
        await conn.close()


async def settles_at_zero(settings: Settings) -> int:
    """The API's connections to the database, polled until none is left or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while True:
        count = await api_connections(settings)
        if count == 0 or time.monotonic() >= deadline:
            return count
        await asyncio.sleep(0.1)


def failing_after_pools(settings: Settings, seen: list[int]) -> Callable[..., Any]:
    """A step that fails once the pools before it are open, recording how many connections they held then."""

    async def fail(*_args: Any, **_kwargs: Any) -> Any:
        seen.append(await api_connections(settings))
        raise StartupBroke("injected")

    return fail


@pytest.mark.parametrize("step", ["ingest_pool", "connect_broker_optional"])
async def test_a_failing_startup_step_closes_the_pools_opened_before_it(
    database: Settings, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """The third pool (or the broker connect) fails: the system and tenant pools opened before it are closed."""
    settings = database.model_copy(update={"amqp_startup_timeout": 1.0})
    seen: list[int] = []
    monkeypatch.setattr(api_app, step, failing_after_pools(settings, seen))
    with pytest.raises(StartupBroke):
        async with api_state(settings):
            pytest.fail("start-up should have failed")
    assert seen and seen[0] > 0, "the pools before the failing step held connections"
    assert await settles_at_zero(settings) == 0, "a pool opened before the failure was left open"


async def test_a_publisher_that_cannot_start_closes_the_broker_connection_and_the_pools(
    database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker is reachable but the publisher's topology is refused: the connection and every pool close."""
    settings = database.model_copy(update={"amqp_startup_timeout": 1.0})
    connections: list[Any] = []

    async def recording(*args: Any) -> Any:
        connection = await connect_broker_optional(*args)
        connections.append(connection)
        return connection

    async def refuse(_self: WakeupPublisher) -> None:
        raise StartupBroke("topology refused")

    monkeypatch.setattr(api_app, "connect_broker_optional", recording)
    monkeypatch.setattr(WakeupPublisher, "start", refuse)
    with pytest.raises(StartupBroke):
        async with api_state(settings):
            pytest.fail("start-up should have failed")
    assert connections and connections[0] is not None, "RabbitMQ is reachable in this test"
    assert connections[0].is_closed, "the broker connection was left open"
    assert await settles_at_zero(settings) == 0, "a pool opened before the failure was left open"


async def test_a_normal_shutdown_closes_everything(database: Settings) -> None:
    settings = database.model_copy(update={"amqp_startup_timeout": 1.0})
    async with api_state(settings) as state:
        assert await api_connections(settings) > 0
        connection = state.connection
    assert connection is None or connection.is_closed
    assert await settles_at_zero(settings) == 0
