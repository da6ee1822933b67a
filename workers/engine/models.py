"""The engine's vocabulary and the validated shapes that cross its boundaries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
_LIST_KEYS = ("_ids", "categories", "statuses", "skus")
_TIME_SUFFIXES = ("_after", "_before", "_from", "_to")


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
    def _check_filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if not value:
            return None
        for key, item in value.items():
            _check_filter_entry(key, item)
        return value


def _check_filter_entry(key: str, item: Any) -> None:
    if key.endswith(_LIST_KEYS):
        if not isinstance(item, list) or not all(isinstance(v, str | int) for v in item):
            raise ValueError(f"filter {key!r} must be a list of ids")
    elif key.endswith(_TIME_SUFFIXES):
        if not isinstance(item, str):
            raise ValueError(f"filter {key!r} must be an ISO 8601 time")
        try:
            datetime.fromisoformat(item)
        except ValueError:
            raise ValueError(f"filter {key!r} must be an ISO 8601 time, got {item!r}") from None


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


class Wakeup(BaseModel):
    """The body of a wake-up message: a hint that a platform has due work. Never the task itself."""

    model_config = ConfigDict(extra="ignore")

    v: Literal[1] = 1
    platform: Platform
    reason: str = Field("enqueue", max_length=40)
    task_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
