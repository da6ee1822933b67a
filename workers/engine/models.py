"""The engine's vocabulary and the validated shapes that cross its boundaries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from nfsync.connectors.base.errors import PermanentError
from nfsync.workers.engine.filters import F, FilterInvalid, check_filter, filter_as

Platform = Literal["shopee", "lazada", "tiktok", "woocommerce", "shopify"]
TaskType = Literal["product_sync", "order_sync", "inventory_sync", "price_sync", "shop_sync", "customer_sync"]
Direction = Literal["crm_to_marketplace", "marketplace_to_crm", "bidirectional"]
TaskStatus = Literal["pending", "processing", "completed", "failed", "cancelled"]
Outcome = Literal["completed", "failed", "retry", "release", "cancelled"]

# One source: the tuples are the Literals' values (pydantic needs the Literals for validation and the OpenAPI enums).
PLATFORMS: tuple[str, ...] = get_args(Platform)
TASK_TYPES: tuple[str, ...] = get_args(TaskType)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)
NATURAL_DIRECTION: dict[str, str] = {
    "order_sync": "marketplace_to_crm",
    "shop_sync": "marketplace_to_crm",
    "customer_sync": "marketplace_to_crm",
    "product_sync": "crm_to_marketplace",
    "inventory_sync": "crm_to_marketplace",
    "price_sync": "crm_to_marketplace",
}
"""The direction a task type runs in unless told otherwise (CRM owns catalog, prices, stock; platforms orders)."""
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


def to_utc_naive(value: datetime) -> datetime:
    """The seed's `timestamp` columns hold UTC without a zone."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00: past what a datetime holds once in UTC
        raise ValueError("time is out of range once converted to UTC") from None


class EnqueueRequest(BaseModel):
    """One request for a sync task; the same shape over Python, the CLI, HTTP and AMQP."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organization_id: uuid.UUID
    integration_id: uuid.UUID
    shop_id: uuid.UUID | None = None
    task_type: TaskType
    direction: Direction
    priority: int = Field(5, ge=1, le=10)
    scheduled_at: datetime | None = None
    filter_criteria: dict[str, Any] | None = None
    idempotency_key: str | None = Field(None, min_length=1, max_length=255)
    max_retries: int = Field(3, ge=0, le=100)
    created_by: uuid.UUID | None = None

    @field_validator("scheduled_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else to_utc_naive(value)

    @field_validator("filter_criteria")
    @classmethod
    def _check_filter(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        """The task type's filter model decides (see filters.py); stored in its normalised JSON form."""
        task_type = info.data.get("task_type")
        if task_type is None:  # the task type itself was refused: that error is the one to report
            return value
        return check_filter(task_type, value)


class EnqueueResult(BaseModel):
    task_id: uuid.UUID
    platform: str
    status: str
    created: bool
    coalesced: bool
    replayed: bool = False


class ClaimedTask(BaseModel):
    """A task as its worker sees it while it holds the lease."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    integration_id: uuid.UUID
    account_id: uuid.UUID | None
    shop_id: uuid.UUID | None
    platform: str
    task_type: str
    direction: str
    priority: int
    scheduled_at: datetime
    filter_criteria: dict[str, Any] | None
    attempt: int
    retry_count: int
    max_retries: int

    def filters(self, model: type[F]) -> F:
        """The task's filter as its task type's model; a stored filter the model refuses fails the task."""
        try:
            return filter_as(model, self.task_type, self.filter_criteria)
        except FilterInvalid as exc:
            raise PermanentError(f"filter_criteria: {exc}") from None


class Wakeup(BaseModel):
    """The body of a wake-up message: a hint that a platform has due work. Never the task itself."""

    model_config = ConfigDict(extra="ignore")

    v: Literal[1] = 1
    platform: Platform
    reason: str = Field("enqueue", max_length=40)
    task_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
