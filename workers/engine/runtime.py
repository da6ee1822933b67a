"""Process wiring shared by the CLI commands: pools, the broker, the task service, stop signals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

import asyncpg
from aio_pika.abc import AbstractRobustConnection

from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.connect import create_pool
from nfsync.workers.db.migrate import require_current_schema
from nfsync.workers.engine.broker import WakeupPublisher, connect_broker
from nfsync.workers.engine.service import TaskService, init_connection
from nfsync.workers.errors import BrokerUnavailable
from nfsync.workers.keys import verify_keyring
from nfsync.workers.logs import get_logger

log = get_logger(__name__)


@dataclass
class Runtime:
    pool: asyncpg.Pool
    connection: AbstractRobustConnection | None
    publisher: WakeupPublisher | None
    service: TaskService


async def engine_pool(settings: Settings, application: str, max_size: int | None = None) -> asyncpg.Pool:
    """The pool of the engine's processes (workers, scheduler, CLI). Its users never change session state - a
    session setting, a LISTEN or a session advisory lock takes a dedicated connection (``connect``) - so a connection
    goes back without asyncpg's reset statement: the fleet simulation (issue #20) found that statement to be 45% of
    every statement PostgreSQL ran."""
    return await create_pool(settings, application=application, max_size=max_size, init=init_connection, stateless=True)


@contextlib.asynccontextmanager
async def runtime(
    settings: Settings,
    application: str,
    *,
    broker: Literal["required", "optional", "none"] = "required",
    pool_size: int | None = None,
) -> AsyncIterator[Runtime]:
    """Pool, broker and task service for one process. With ``broker="optional"`` (enqueue, retry) an unreachable
    RabbitMQ costs one connect attempt and a warning: the rows still commit and the scheduler sends the wake-ups."""
    pool = await engine_pool(settings, application, pool_size)
    connection = publisher = None
    try:
        await require_current_schema(pool, settings.database_name)
        if settings.secret_keys is not None:
            await verify_keyring(pool, Keyring.from_secret(settings.secret_keys))
        if broker == "required":
            connection = await connect_broker(settings, application)
        elif broker == "optional":
            connection = await connect_broker_optional(settings, application)
        if connection is not None:
            publisher = WakeupPublisher(settings, connection)
            await publisher.start()
        yield Runtime(pool, connection, publisher, TaskService(pool, publisher))
    finally:
        if publisher is not None:
            await publisher.close()
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), settings.publish_timeout)
        await asyncio.wait_for(pool.close(), settings.db_command_timeout)


async def connect_broker_optional(settings: Settings, application: str) -> AbstractRobustConnection | None:
    """One connect attempt; None (and a warning) when RabbitMQ is unreachable."""
    try:
        return await connect_broker(settings, application, retry=False)
    except BrokerUnavailable as exc:
        log.warning("wakeup.broker_unavailable", error=str(exc))
        return None


def install_stop_signals(stop: Callable[[], None]) -> None:
    """First SIGTERM/SIGINT: graceful stop. Second: exit at once (leases recover the rest)."""
    loop = asyncio.get_running_loop()
    received = 0

    def on_signal() -> None:
        nonlocal received
        received += 1
        if received == 1:
            stop()
        else:
            log.warning("process.forced_exit")
            os._exit(143)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
