"""`/v1/sync-tasks`: the enqueue API (the same request as the Python API, the CLI and the AMQP command)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nfsync.connectors.base.errors import ValidationFailed
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE
from nfsync.workers.engine.models import Direction, EnqueueRequest, EnqueueResult, Platform, TaskStatus, TaskType
from nfsync.workers.engine.service import TaskService

api = Api()
WRITE_SCOPE = "tasks:write"  # enqueue, cancel, retry


class SyncTaskCreate(BaseModel):
    """Body of POST /v1/sync-tasks (the organization is the token's; the idempotency key may also come as the
    Idempotency-Key header)."""

    model_config = ConfigDict(extra="forbid")

    integration_id: uuid.UUID
    shop_id: uuid.UUID | None = None
    task_type: TaskType
    direction: Direction
    priority: int = Field(5, ge=1, le=10)
    scheduled_at: datetime | None = None
    filter_criteria: dict[str, Any] | None = None
    max_retries: int = Field(3, ge=0, le=100)
    idempotency_key: str | None = Field(None, min_length=1, max_length=255)


class SyncTask(BaseModel):
    id: uuid.UUID
    integration_id: uuid.UUID
    shop_id: uuid.UUID | None
    platform: str | None
    task_type: str
    direction: str
    status: str
    priority: int
    scheduled_at: UtcDateTime
    started_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None
    progress: int
    total_items: int = 0
    processed_items: int = 0
    successful_items: int = 0
    failed_items: int = 0
    filter_criteria: dict[str, Any] | None = None
    error_message: str | None = None
    retry_count: int
    max_retries: int
    next_retry_at: UtcDateTime | None = None
    created_at: UtcDateTime | None = None


class SyncTaskPage(BaseModel):
    items: list[SyncTask]
    limit: int
    offset: int


class SyncTaskQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = None
    platform: Platform | None = None
    shop_id: uuid.UUID | None = None
    task_type: TaskType | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class BulkRetry(BaseModel):
    """Body of POST /v1/sync-tasks/retry: the list's filters (status failed or cancelled) and how many at most."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["failed", "cancelled"] = "failed"
    platform: Platform | None = None
    shop_id: uuid.UUID | None = None
    task_type: TaskType | None = None
    limit: int = Field(500, ge=1, le=5000)


class BulkRetried(BaseModel):
    retried: int
    task_ids: list[uuid.UUID]
    more: bool  # the limit was reached: more tasks may match (call again)


class TaskAction(BaseModel):
    id: uuid.UUID
    status: str


def _service(call: Call) -> TaskService:
    return call.request.app[API_STATE].tasks


@api.route(
    "POST",
    "/v1/sync-tasks",
    summary="Enqueue a sync task (coalesces into a pending one for the same shop)",
    scope=WRITE_SCOPE,
    body=SyncTaskCreate,
    response=EnqueueResult,
    status=201,
    tags=("tasks",),
)
async def create_task(call: Call) -> EnqueueResult:
    body = call.body_as(SyncTaskCreate)
    header_key = call.request.headers.get("Idempotency-Key")
    if header_key and body.idempotency_key and header_key != body.idempotency_key:
        raise ValidationFailed("Idempotency-Key header and body idempotency_key differ")
    request = EnqueueRequest(
        organization_id=call.organization_id,
        **body.model_dump(exclude={"idempotency_key"}),
        idempotency_key=header_key or body.idempotency_key,
    )
    return await _service(call).enqueue(request)


@api.route(
    "GET", "/v1/sync-tasks/{task_id}", summary="One task", scope="tasks:read", response=SyncTask, tags=("tasks",)
)
async def get_task(call: Call) -> SyncTask:
    return SyncTask.model_validate(await _service(call).get(call.path_uuid("task_id"), call.tenant))


@api.route(
    "GET",
    "/v1/sync-tasks",
    summary="Tasks, newest first, filtered and paged",
    scope="tasks:read",
    query=SyncTaskQuery,
    response=SyncTaskPage,
    tags=("tasks",),
)
async def list_tasks(call: Call) -> SyncTaskPage:
    q = call.query_as(SyncTaskQuery)
    rows = await _service(call).list(
        call.tenant,
        status=q.status,
        platform=q.platform,
        shop_id=q.shop_id,
        task_type=q.task_type,
        limit=q.limit,
        offset=q.offset,
    )
    return SyncTaskPage(items=[SyncTask.model_validate(r) for r in rows], limit=q.limit, offset=q.offset)


@api.route(
    "POST",
    "/v1/sync-tasks/{task_id}/cancel",
    summary="Cancel a pending task, or stop a running one",
    scope=WRITE_SCOPE,
    response=TaskAction,
    tags=("tasks",),
)
async def cancel_task(call: Call) -> TaskAction:
    task_id = call.path_uuid("task_id")
    return TaskAction(id=task_id, status=await _service(call).cancel(task_id, call.tenant))


@api.route(
    "POST",
    "/v1/sync-tasks/{task_id}/retry",
    summary="Retry a failed or cancelled task",
    scope=WRITE_SCOPE,
    response=TaskAction,
    tags=("tasks",),
)
async def retry_task(call: Call) -> TaskAction:
    task_id = call.path_uuid("task_id")
    return TaskAction(id=task_id, status=await _service(call).retry(task_id, call.tenant))


@api.route(
    "POST",
    "/v1/sync-tasks/retry",
    summary="Retry the failed (or cancelled) tasks that match the list's filters, oldest first",
    scope=WRITE_SCOPE,
    body=BulkRetry,
    response=BulkRetried,
    tags=("tasks",),
)
async def retry_tasks(call: Call) -> BulkRetried:
    body = call.body_as(BulkRetry)
    ids = await _service(call).retry_many(
        call.organization_id,
        status=body.status,
        platform=body.platform,
        shop_id=body.shop_id,
        task_type=body.task_type,
        limit=body.limit,
    )
    return BulkRetried(retried=len(ids), task_ids=list(ids), more=len(ids) == body.limit)
