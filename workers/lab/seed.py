"""Synthetic integrations and shops, for the benchmarks and the tests (never for real tenants)."""

from __future__ import annotations

import uuid

import asyncpg

from nfsync.workers.lab.queries import QUERIES


async def seed_platform_shops(
    pool: asyncpg.Pool, organization_id: uuid.UUID, platform: str, count: int
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """One active integration and account of ``platform`` with ``count`` active shops; returns their ids."""
    async with pool.acquire() as conn, conn.transaction():
        integration = await conn.fetchval(QUERIES["seed_integration"], organization_id, f"{platform} main", platform)
        account = await conn.fetchval(QUERIES["seed_account"], organization_id, integration, platform)
        shops = await conn.fetch(QUERIES["seed_shops"], organization_id, account, platform, count)
    return integration, [row["id"] for row in shops]
