"""``/v1/shops/{id}/health``, ``/pause`` and ``/resume`` (issue #17): what a merchant's shop needs, and an
operator's brake. A paused shop's tasks - running ones finish - wait, pending, until it is resumed; the scheduler
keeps coalescing the work it would have done into them, so nothing is lost while it is paused."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from nfsync.connectors.base.errors import NotFound
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger
from nfsync.workers.shop_health import ShopHealth, shop_health

api = Api()
log = get_logger(__name__)


class ShopPaused(BaseModel):
    id: uuid.UUID
    paused: bool
    paused_at: UtcDateTime | None


def _pool(call: Call) -> asyncpg.Pool:
    return call.request.app[API_STATE].tenant_pool


@api.route(
    "GET",
    "/v1/shops/{shop_id}/health",
    summary="The shop's state (healthy, degraded, failing, needs_reauthorization, paused), why, and its figures",
    scope=None,
    response=ShopHealth,
    tags=("integrations",),
)
async def get_health(call: Call) -> ShopHealth:
    shop_id = call.path_uuid("shop_id")
    found = await shop_health(_pool(call), shop_id=shop_id, organization_id=call.tenant, limit=1)
    if not found:
        raise NotFound(f"shop {shop_id} not found")
    return found[0]


async def _set_paused(call: Call, query: str) -> ShopPaused:
    shop_id = call.path_uuid("shop_id")
    row = await _pool(call).fetchrow(QUERIES[query], shop_id, call.tenant)
    if row is None:
        raise NotFound(f"shop {shop_id} not found")
    paused_at: datetime | None = row["paused_at"]
    log.info("shop.paused" if paused_at else "shop.resumed", shop_id=str(shop_id))
    if paused_at is None:  # its waiting tasks may run now
        await call.request.app[API_STATE].tasks.wake(row["platform"], [], reason="resume")
    return ShopPaused(id=shop_id, paused=paused_at is not None, paused_at=paused_at)


@api.route(
    "POST",
    "/v1/shops/{shop_id}/pause",
    summary="Pause a shop: no task of it is started until it is resumed (running ones finish)",
    scope="integrations:write",
    response=ShopPaused,
    tags=("integrations",),
)
async def pause_shop(call: Call) -> ShopPaused:
    return await _set_paused(call, "shop_pause")


@api.route(
    "POST",
    "/v1/shops/{shop_id}/resume",
    summary="Resume a paused shop: its waiting tasks run",
    scope="integrations:write",
    response=ShopPaused,
    tags=("integrations",),
)
async def resume_shop(call: Call) -> ShopPaused:
    return await _set_paused(call, "shop_resume")
