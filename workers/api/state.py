"""The one typed state of the HTTP service: what `nfsync api` opened at start-up (pools, broker, keyring, marketplace
clients) and the services built from it, under ONE application key. A handler reads
``call.request.app[API_STATE].<field>``; nothing else is stored on the application.

The routing layer (workers/api/framework.py) does not read this key: ``Api.install`` is handed the state as a
``framework.Gate`` (a protocol of the three fields it needs: the principal resolver, the rate limits and the body
deadline), so that layer stays generic and the state is still held once.

Built and torn down by ``workers.api.app.api_state``. Types named here are imported for annotations only, so every
handler module can import this one without an import cycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import asyncpg
    from aio_pika.abc import AbstractRobustConnection

    from nfsync.connectors.base.outbound import OutboundPolicy
    from nfsync.workers.api.framework import Resolver
    from nfsync.workers.api.limits import Limits
    from nfsync.workers.api.webhooks import WebhookIntake
    from nfsync.workers.config import Settings
    from nfsync.workers.crypto import Keyring
    from nfsync.workers.engine.broker import WakeupPublisher
    from nfsync.workers.engine.service import TaskService
    from nfsync.workers.marketplaces import ClientFactory


@dataclass(frozen=True)
class ApiState:
    """Process resources first (owned and closed by ``api_state``), then what is built from them."""

    settings: Settings
    system_pool: asyncpg.Pool  # owner role: authentication, health, webhooks, OAuth callbacks, fleet-wide metrics
    tenant_pool: asyncpg.Pool  # row-level security by the caller's organization: everything a token asks for
    ingest_pool: asyncpg.Pool  # the webhook batcher's connections (workers.api.ingest)
    connection: AbstractRobustConnection | None  # None while RabbitMQ is unreachable (the scheduler sends wake-ups)
    publisher: WakeupPublisher | None
    keyring: Keyring | None  # None without NFSYNC_SECRET_KEYS: secrets can then be neither stored nor read
    clients: ClientFactory  # marketplace clients (OAuth exchange, WooCommerce webhook registration)
    tasks: TaskService  # on the tenant pool: /v1/sync-tasks and /ops/tasks
    webhooks: WebhookIntake  # on the system pool: pushes, replays, the integration cache
    resolve_principal: Resolver  # bearer token -> Principal (framework.Gate)
    limits: Limits  # request rate limits per token and per address (framework.Gate)
    body_timeout: float  # seconds a JSON body may take to arrive (framework.Gate)
    public_base_url: str  # without a trailing slash: webhook URLs are built on it
    redirect_origins: frozenset[str]  # where an OAuth connect may send the merchant back to
    outbound: OutboundPolicy  # the hosts a tenant's URL may name (parsed once from the settings)


API_STATE: web.AppKey[ApiState] = web.AppKey("api_state", ApiState)
