"""A live API on loopback, over the per-test database, with two organizations and their tokens."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from nfsync.connectors.base.secret import Secret
from nfsync.workers.api.app import api_runner, api_state
from nfsync.workers.api.auth import create_organization, create_token
from nfsync.workers.config import Settings
from nfsync.workers.crypto import generate_key_entry
from nfsync.workers.lab.seed import seed_platform_shops

KEY_ENTRY = generate_key_entry("api1")
# Request limits far above what the tests send (schemathesis included); tests/security/test_limits.py sets its own.
RELAXED_LIMITS = {"api_rate_per_token": 10_000.0, "api_rate_per_ip": 10_000.0}


@dataclass
class Tenant:
    org: uuid.UUID
    token: str
    integration: uuid.UUID
    shops: list[uuid.UUID]


@dataclass
class LiveApi:
    url: str
    session: aiohttp.ClientSession
    a: Tenant
    b: Tenant
    settings: Settings

    async def token(self, org: uuid.UUID | None, scopes: list[str], **options: Any) -> str:
        """A new token of the organization (an operator token for None)."""
        pool = await asyncpg.create_pool(self.settings.database_url, min_size=1, max_size=1)
        try:
            return await create_token(pool, org, scopes, "test", **options)
        finally:
            await pool.close()

    async def call(self, method: str, path: str, token: str | None, **kwargs: Any) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(method, self.url + path, headers=headers, **kwargs) as response:
            body = await response.json(content_type=None) if response.content_length != 0 else None
            return response.status, body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _tenant(pool: Any, name: str, scopes: list[str]) -> Tenant:
    org = await create_organization(pool, name)
    integration, shops = await seed_platform_shops(pool, org, "shopee", 3)
    return Tenant(org, await create_token(pool, org, scopes, "test"), integration, shops)


@pytest.fixture
async def live_api(database: Settings, request: pytest.FixtureRequest) -> AsyncIterator[LiveApi]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = database.model_copy(
        update={
            "amqp_startup_timeout": 2.0,
            "secret_keys": Secret(KEY_ENTRY),
            "public_base_url": url,
            **RELAXED_LIMITS,
            **getattr(request, "param", {}),
        }
    )
    async with api_state(settings) as state:
        runner = api_runner(state)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        scopes = ["tasks:read", "tasks:write", "integrations:write", "ops:read", "ops:write"]
        a = await _tenant(state.system_pool, "Org A", scopes)
        b = await _tenant(state.system_pool, "Org B", scopes)
        async with aiohttp.ClientSession() as session:
            yield LiveApi(url, session, a, b, settings)
        await runner.cleanup()
