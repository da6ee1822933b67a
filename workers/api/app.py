"""The aiohttp application of `nfsync api` and the resources it holds (one typed state: workers/api/state.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from importlib.metadata import version
from typing import Any

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web

from nfsync.workers.api import (
    api_tokens,
    customers,
    dashboard,
    integrations,
    mappings,
    oauth,
    ops,
    profiles,
    shops,
    subscriptions,
    sync_logs,
    tasks,
    webhooks,
)
from nfsync.workers.api.amqp_commands import CommandConsumer
from nfsync.workers.api.asyncapi import build_asyncapi
from nfsync.workers.api.framework import Api, Call, Route, errors_middleware, principal_resolver, scope_connection
from nfsync.workers.api.ingest import ingest_pool
from nfsync.workers.api.limits import Limits, RequestLimiter
from nfsync.workers.api.openapi import build_openapi
from nfsync.workers.api.state import API_STATE, ApiState
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.connect import create_pool
from nfsync.workers.db.migrate import require_current_schema
from nfsync.workers.engine.broker import WakeupPublisher
from nfsync.workers.engine.runtime import connect_broker_optional
from nfsync.workers.engine.service import TaskService, init_connection
from nfsync.workers.keys import verify_keyring
from nfsync.workers.marketplaces import ClientFactory
from nfsync.workers.ratelimit import PostgresRateLimiter

health = Api()


@health.route("GET", "/healthz", summary="The process is alive", scope=None, public=True, tags=("health",))
async def healthz(_call: Call) -> dict[str, str]:
    return {"status": "ok"}


@health.route(
    "GET", "/readyz", summary="The database and the broker are reachable", scope=None, public=True, tags=("health",)
)
async def readyz(call: Call) -> web.Response:
    state = call.request.app[API_STATE]
    checks = {
        "database": await _database_ok(state.system_pool),
        "broker": state.connection is not None and not state.connection.is_closed,
    }
    return web.json_response(
        {"ready": all(checks.values()), "checks": checks}, status=200 if all(checks.values()) else 503
    )


async def _database_ok(pool: asyncpg.Pool) -> bool:
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), 2.0)
    except (asyncpg.PostgresError, OSError, TimeoutError, asyncpg.InterfaceError):
        return False
    return True


@health.route("GET", "/openapi.json", summary="This document", scope=None, public=True, tags=("health",))
async def openapi(call: Call) -> dict[str, Any]:
    return build_openapi(all_routes(), version("nfsync"))


@health.route(
    "GET",
    "/asyncapi.json",
    summary="The AMQP interfaces (the enqueue command, its replies and dead letters, the events): AsyncAPI 3.0.0",
    scope=None,
    public=True,
    tags=("health",),
)
async def asyncapi(call: Call) -> dict[str, Any]:
    return build_asyncapi(version("nfsync"))


APIS = (
    health,
    tasks.api,
    sync_logs.api,
    integrations.api,
    shops.api,
    mappings.api,
    customers.api,
    subscriptions.api,
    profiles.api,
    api_tokens.api,
    oauth.api,
    webhooks.api,
    ops.api,
    dashboard.api,
)


def all_routes() -> list[Route]:
    return [route for api in APIS for route in api.routes]


def build_app(state: ApiState) -> web.Application:
    """The application holds one key, API_STATE; the routing layer is handed the same state as its Gate."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=state.settings.webhook_max_bytes)
    app[API_STATE] = state
    for api in APIS:
        api.install(app, state)
    return app


def api_runner(state: ApiState) -> web.AppRunner:
    """The API's runner. aiohttp's own idle limit is an hour and it has no separate head deadline; a connection that
    has not delivered a complete request head within api_header_timeout (from its start or from the previous
    response) is closed, which also bounds idle keep-alive connections."""
    return web.AppRunner(build_app(state), access_log=None, keepalive_timeout=state.settings.api_header_timeout)


@contextlib.asynccontextmanager
async def api_state(settings: Settings) -> AsyncIterator[ApiState]:
    """Pools (owner for authentication and health, tenant-scoped for everything else, the webhook batcher's) and the
    broker (optional: the API keeps accepting work while RabbitMQ is down; the scheduler sends the wake-ups).

    Every resource is entered on one exit stack the moment it is opened: when a later start-up step fails (the
    schema is old, a pool cannot connect, the broker refuses the topology), whatever was opened before is closed,
    newest first - as it is on a normal shutdown."""
    async with contextlib.AsyncExitStack() as stack:
        # webhooks, auth, health: plain statements only, so no reset round trip per acquire
        system = await _owned(
            stack, create_pool(settings, application="nfsync-api", init=init_connection, stateless=True)
        )
        await _check_database(system, settings)
        tenant = await _owned(
            stack, create_pool(settings, application="nfsync-api-tenant", init=init_connection, setup=scope_connection)
        )
        ingest = await _owned(stack, ingest_pool(settings))
        connection, publisher = await _open_broker(stack, settings)
        keyring = Keyring.from_secret(settings.secret_keys) if settings.secret_keys else None
        outbound = settings.outbound_policy
        clients = ClientFactory(keyring, PostgresRateLimiter(system), settings.marketplace_read_timeout, outbound)
        stack.push_async_callback(clients.close)
        system_tasks = TaskService(system, publisher)  # webhooks and AMQP commands: no caller's organization to scope
        state = ApiState(
            settings=settings,
            system_pool=system,
            tenant_pool=tenant,
            ingest_pool=ingest,
            connection=connection,
            publisher=publisher,
            keyring=keyring,
            clients=clients,
            tasks=TaskService(tenant, publisher),
            webhooks=_webhook_intake(settings, system, ingest, system_tasks, keyring),
            resolve_principal=principal_resolver(system),
            limits=Limits(RequestLimiter(settings.api_rate_per_token), RequestLimiter(settings.api_rate_per_ip)),
            body_timeout=settings.webhook_read_timeout,
            public_base_url=settings.public_base_url.rstrip("/"),
            redirect_origins=oauth.redirect_origins(settings),
            outbound=outbound,
        )
        await _start_commands(stack, state, system_tasks)
        yield state


async def _owned(stack: contextlib.AsyncExitStack, opening: Awaitable[asyncpg.Pool]) -> asyncpg.Pool:
    """A pool, closed when the stack unwinds (start-up failure or shutdown)."""
    pool = await opening
    stack.push_async_callback(pool.close)
    return pool


async def _check_database(system: asyncpg.Pool, settings: Settings) -> None:
    await require_current_schema(system, settings.database_name)
    if settings.secret_keys is not None:
        await verify_keyring(system, Keyring.from_secret(settings.secret_keys))


async def _open_broker(
    stack: contextlib.AsyncExitStack, settings: Settings
) -> tuple[AbstractRobustConnection | None, WakeupPublisher | None]:
    """The broker connection and its publisher, both closed when the stack unwinds; (None, None) while RabbitMQ is
    unreachable."""
    connection = await connect_broker_optional(settings, "nfsync-api")
    if connection is None:
        return None, None
    stack.push_async_callback(_close_broker, connection, settings.publish_timeout)
    publisher = WakeupPublisher(settings, connection)
    await publisher.start()
    stack.push_async_callback(publisher.close)
    return connection, publisher


async def _close_broker(connection: AbstractRobustConnection, seconds: float) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), seconds)


def _webhook_intake(
    settings: Settings, system: asyncpg.Pool, ingest: asyncpg.Pool, service: TaskService, keyring: Keyring | None
) -> webhooks.WebhookIntake:
    return webhooks.WebhookIntake(
        system,
        service,
        keyring,
        settings.public_base_url,
        ingest,
        read_timeout=settings.webhook_read_timeout,
        max_bytes=settings.webhook_max_bytes,
    )


async def _start_commands(stack: contextlib.AsyncExitStack, state: ApiState, service: TaskService) -> None:
    """The AMQP enqueue command consumer, when the broker is there; stopped first when the stack unwinds."""
    if state.connection is None:
        return
    commands = CommandConsumer(state.settings, state.connection, service, state.resolve_principal)
    await commands.start()
    stack.push_async_callback(commands.stop)
