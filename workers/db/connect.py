"""Connections and pools with a deadline on every I/O.

Client side: a connect timeout and asyncpg's ``command_timeout``. Server side: ``statement_timeout`` and
``idle_in_transaction_session_timeout``. Every session runs in UTC, without JIT compilation. Connection failures are
translated into :class:`DatabaseUnavailable` with one line that says where and why.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from nfsync.workers.config import Settings, mask_url
from nfsync.workers.errors import DatabaseUnavailable
from nfsync.workers.logs import get_logger

log = get_logger(__name__)

DbConn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

_RETRYABLE = (OSError, asyncio.TimeoutError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)


def server_settings(settings: Settings, application: str) -> dict[str, str]:
    return {
        "application_name": application,
        "timezone": "UTC",
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
        # nfsync's statements are short; JIT compilation cost more than it saved (issue #20: the catalog read of an
        # unchanged re-sync, 10,000 variants, took 170 ms without it and 310 ms with it)
        "jit": "off",
    }


def connect_kwargs(settings: Settings, application: str) -> dict[str, Any]:
    return {
        "timeout": settings.db_connect_timeout,
        "command_timeout": settings.db_command_timeout,
        "server_settings": server_settings(settings, application),
    }


def _explain(exc: BaseException, url: str) -> DatabaseUnavailable:
    where = mask_url(url)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return DatabaseUnavailable(f"database in {where} does not exist; create it with `nfsync db init`")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError):
        return DatabaseUnavailable(f"PostgreSQL refused the credentials of {where}: {exc}")
    if isinstance(exc, asyncio.TimeoutError):
        return DatabaseUnavailable(f"PostgreSQL at {where} did not answer in time")
    return DatabaseUnavailable(f"cannot reach PostgreSQL at {where}: {exc}")


async def _with_startup_retries(attempt: Any, settings: Settings, url: str) -> Any:
    deadline = time.monotonic() + settings.db_startup_timeout
    delay = 0.2
    while True:
        try:
            return await attempt()
        except _RETRYABLE as exc:
            if time.monotonic() + delay > deadline:
                raise _explain(exc, url) from None
            log.warning("db.connect_retry", error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise _explain(exc, url) from None


async def connect(settings: Settings, *, url: str | None = None, application: str = "nfsync") -> asyncpg.Connection:
    """One connection, retried while PostgreSQL is starting (up to db_startup_timeout)."""
    target = url or settings.database_url

    async def attempt() -> asyncpg.Connection:
        return await asyncpg.connect(target, **connect_kwargs(settings, application))

    conn: asyncpg.Connection = await _with_startup_retries(attempt, settings, target)
    return conn


async def _rollback_only(conn: asyncpg.Connection) -> None:
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(
    settings: Settings,
    *,
    application: str = "nfsync",
    min_size: int | None = None,
    max_size: int | None = None,
    init: Any = None,
    setup: Any = None,
    stateless: bool = False,
) -> asyncpg.Pool:
    """A pool of connections with deadlines, retried while PostgreSQL is starting.

    ``stateless``: the pool's users never change session state (no SET, LISTEN, advisory locks), so a connection
    goes back without asyncpg's reset statement - one round trip less per acquire (the webhook path). A
    transaction left open is still rolled back."""
    target = settings.database_url

    async def attempt() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            target,
            min_size=settings.db_pool_min_size if min_size is None else min_size,
            max_size=settings.db_pool_max_size if max_size is None else max_size,
            init=init,
            setup=setup,
            reset=_rollback_only if stateless else None,
            **connect_kwargs(settings, application),
        )

    pool: asyncpg.Pool = await _with_startup_retries(attempt, settings, target)
    return pool
