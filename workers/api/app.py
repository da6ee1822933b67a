"""The aiohttp application of `nfsync api` and the resources it holds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import asyncpg
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web

from nfsync.workers.api import api_tokens, dashboard, integrations, oauth, ops, tasks, webhooks
from nfsync.workers.api.amqp_commands import CommandConsumer
from nfsync.workers.api.framework import (
    BODY_TIMEOUT_KEY,
    PRINCIPAL_KEY,
    Api,
    Call,
    errors_middleware,
    principal_resolver,
    scope_connection,
)
from nfsync.workers.api.ingest import ingest_pool
from nfsync.workers.api.limits import LIMITS_KEY, Limits, RequestLimiter
from nfsync.workers.api.openapi import build_openapi
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


@dataclass
class ApiState:
    settings: Settings
    system_pool: asyncpg.Pool
    tenant_pool: asyncpg.Pool
    connection: AbstractRobustConnection | None
    publisher: WakeupPublisher | None
    keyring: Keyring | None
    clients: ClientFactory
    commands: CommandConsumer | None = None
    ingest_pool: asyncpg.Pool | None = None  # the webhook batcher's connections (workers.api.ingest)


STATE_KEY: web.AppKey[ApiState] = web.AppKey("state")


@health.route("GET", "/healthz", summary="The process is alive", scope=None, public=True, tags=("health",))
async def healthz(_call: Call) -> dict[str, str]:
    return {"status": "ok"}


@health.route(
    "GET", "/readyz", summary="The database and the broker are reachable", scope=None, public=True, tags=("health",)
)
async def readyz(call: Call) -> web.Response:
    state: ApiState = call.request.app[STATE_KEY]
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


def all_routes() -> list[Any]:
    return [
        *health.routes,
        *tasks.api.routes,
        *integrations.api.routes,
        *api_tokens.api.routes,
        *oauth.api.routes,
        *webhooks.api.routes,
        *ops.api.routes,
        *dashboard.api.routes,
    ]


def build_app(state: ApiState) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=state.settings.webhook_max_bytes)
    app[STATE_KEY] = state
    app[PRINCIPAL_KEY] = principal_resolver(state.system_pool)
    app[BODY_TIMEOUT_KEY] = state.settings.webhook_read_timeout
    app[tasks.SERVICE_KEY] = TaskService(state.tenant_pool, state.publisher)
    app[integrations.KEYRING_KEY] = state.keyring
    app[integrations.POOL_KEY] = state.tenant_pool
    app[integrations.PUBLIC_URL_KEY] = state.settings.public_base_url.rstrip("/")
    app[integrations.OUTBOUND_KEY] = state.settings.outbound_policy
    app[webhooks.WEBHOOKS_KEY] = webhooks.WebhookIntake(
        state.system_pool,
        TaskService(state.system_pool, state.publisher),
        state.keyring,
        state.settings.public_base_url,
        state.ingest_pool,
        read_timeout=state.settings.webhook_read_timeout,
        max_bytes=state.settings.webhook_max_bytes,
    )
    app[ops.STATE_KEY] = state
    app[oauth.FACTORY_KEY] = state.clients
    app[oauth.SYSTEM_POOL_KEY] = state.system_pool
    app[oauth.REDIRECT_ORIGINS_KEY] = oauth.redirect_origins(state.settings)
    app[LIMITS_KEY] = Limits(
        RequestLimiter(state.settings.api_rate_per_token), RequestLimiter(state.settings.api_rate_per_ip)
    )
    for api in (health, tasks.api, integrations.api, api_tokens.api, oauth.api, webhooks.api, ops.api, dashboard.api):
        api.install(app)
    return app


def api_runner(state: ApiState) -> web.AppRunner:
    """The API's runner. aiohttp's own idle limit is an hour and it has no separate head deadline; a connection that
    has not delivered a complete request head within api_header_timeout (from its start or from the previous
    response) is closed, which also bounds idle keep-alive connections."""
    return web.AppRunner(build_app(state), access_log=None, keepalive_timeout=state.settings.api_header_timeout)


@contextlib.asynccontextmanager
async def api_state(settings: Settings) -> AsyncIterator[ApiState]:
    """Pools (owner for authentication and health, tenant-scoped for everything else) and the broker (optional:
    the API keeps accepting work while RabbitMQ is down; the scheduler sends the wake-ups)."""
    # webhooks, auth, health: plain statements only, so no reset round trip per acquire
    system = await create_pool(settings, application="nfsync-api", init=init_connection, stateless=True)
    try:
        await require_current_schema(system, settings.database_name)
        if settings.secret_keys is not None:
            await verify_keyring(system, Keyring.from_secret(settings.secret_keys))
    except BaseException:
        await system.close()
        raise
    tenant = await create_pool(settings, application="nfsync-api-tenant", init=init_connection, setup=scope_connection)
    ingest = await ingest_pool(settings)
    connection = await connect_broker_optional(settings, "nfsync-api")
    publisher = None
    if connection is not None:
        publisher = WakeupPublisher(settings, connection)
        await publisher.start()
    try:
        keyring = Keyring.from_secret(settings.secret_keys) if settings.secret_keys else None
        clients = ClientFactory(
            keyring, PostgresRateLimiter(system), settings.marketplace_read_timeout, settings.outbound_policy
        )
        state = ApiState(settings, system, tenant, connection, publisher, keyring, clients, ingest_pool=ingest)
        if connection is not None:
            state.commands = CommandConsumer(
                settings, connection, TaskService(system, publisher), principal_resolver(system)
            )
            await state.commands.start()
        yield state
        if state.commands is not None:
            await state.commands.stop()
        await clients.close()
    finally:
        if publisher is not None:
            await publisher.close()
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), settings.publish_timeout)
        await ingest.close()
        await tenant.close()
        await system.close()
