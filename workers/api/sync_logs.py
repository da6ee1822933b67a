"""``GET /v1/sync-logs``: what happened to each item of each task, for the CRM (issue #17).

Newest first, keyset-paged: ``next_after`` is an opaque cursor for the next page (``after=``), stable while new rows
arrive. Filters: shop, task, entity type and id, status, and a time range (``since`` inclusive, ``until`` exclusive),
which also limits the partitions read. Another organization's rows are never returned (the organization filter and
row-level security); an unknown shop or task simply has no rows.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nfsync.connectors.base.errors import ValidationFailed
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import MAX_ID_LENGTH

api = Api()
EntityType = Literal["product", "variant", "inventory", "price", "order", "shop", "account"]


class SyncLogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    entity_type: EntityType | None = None
    entity_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)
    status: Literal["success", "skipped", "failed"] | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: str | None = Field(None, min_length=1, max_length=200)
    limit: int = Field(100, ge=1, le=500)

    @model_validator(mode="after")
    def _range(self) -> SyncLogQuery:
        if self.since is not None and self.until is not None and _naive(self.since) >= _naive(self.until):
            raise ValueError("since must be before until")
        return self


class SyncLog(BaseModel):
    id: uuid.UUID
    created_at: UtcDateTime
    integration_id: uuid.UUID
    shop_id: uuid.UUID | None
    task_id: uuid.UUID | None
    task_type: str | None
    direction: str | None
    entity_type: str
    entity_id: str | None
    platform_entity_id: str | None
    action: str
    status: str
    error_code: str | None
    error_message: str | None
    details: dict[str, Any] | None
    duration_ms: int | None


class SyncLogPage(BaseModel):
    items: list[SyncLog]
    next_after: str | None


def _naive(value: datetime) -> datetime:
    """UTC without a zone, as sync_logs stores it."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def _position(after: str | None) -> tuple[datetime | None, uuid.UUID | None]:
    if after is None:
        return None, None
    try:
        text = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
        moment, row_id = text.split("|", 1)
        return _naive(datetime.fromisoformat(moment)), uuid.UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed("after: not a cursor this API returned") from None


@api.route(
    "GET",
    "/v1/sync-logs",
    summary="Item-level sync logs, newest first, filtered and keyset-paged",
    scope="tasks:read",
    query=SyncLogQuery,
    response=SyncLogPage,
    tags=("tasks",),
)
async def list_sync_logs(call: Call) -> SyncLogPage:
    q = call.query_as(SyncLogQuery)
    async with call.request.app[API_STATE].tenant_pool.acquire() as conn:
        rows = await page_query(
            conn,
            call.tenant,
            shop_id=q.shop_id,
            task_id=q.task_id,
            entity_type=q.entity_type,
            entity_id=q.entity_id,
            status=q.status,
            since=q.since,
            until=q.until,
            after=_position(q.after),
            limit=q.limit,
        )
    items = [SyncLog.model_validate(dict(r)) for r in rows]
    last = rows[-1] if len(rows) == q.limit else None
    return SyncLogPage(items=items, next_after=cursor(last["created_at"], last["id"]) if last else None)


async def page_query(conn: DbConn, organization_id: uuid.UUID | None, **filters: Any) -> list[asyncpg.Record]:
    """One page, planned for its own filters every time (``plan_cache_mode = force_custom_plan``): a generic plan
    of the prepared statement would neither prune partitions by the time range nor pick the index of the filter
    given - on a large history that is the difference between milliseconds and a scan. ``filters``: those of
    ``page_arguments``."""
    async with conn.transaction():
        await conn.execute(QUERIES["sync_logs_custom_plans"])
        return list(await conn.fetch(QUERIES["sync_logs_page"], *page_arguments(organization_id, **filters)))


def page_arguments(
    organization_id: uuid.UUID | None,
    *,
    limit: int,
    shop_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime | None, uuid.UUID | None] = (None, None),
) -> tuple[Any, ...]:
    """The parameters of ``sync_logs_page``, in its order."""
    return (
        organization_id,
        shop_id,
        task_id,
        entity_type,
        entity_id,
        status,
        _naive(since) if since else None,
        _naive(until) if until else None,
        after[0],
        after[1],
        limit,
    )
