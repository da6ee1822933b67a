"""``filter_criteria``: which part of its work a task covers, one typed model per task type.

The stored form is the JSON of the model (``dump_filter``): what the scheduler, the webhook intake, reconcile, the
CLI and the API write is validated here, and what a handler reads is parsed back into the same model
(``parse_filter``), so a key nobody reads is refused at the door instead of being ignored by a worker.

Coalescing merges two stored filters in SQL (``nfsync_merge_filters``: lists united, time bounds widened, keys on
one side only dropped); every merge of two valid filters of one task type is again valid for that type.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

MAX_IDS = 50_000
"""Ids one filter may name (a reconcile of a large shop may name every variant; past that, sync everything)."""


def _id_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


MAX_ID_LENGTH = 255
Id = Annotated[str, BeforeValidator(_id_text), Field(min_length=1, max_length=MAX_ID_LENGTH)]
IdList = Annotated[list[Id], Field(max_length=MAX_IDS)]


class Diagnostics(BaseModel):
    """Read only by the lab's diagnostic handlers (benchmarks and tests); the real handlers ignore it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sleep: float = Field(0.0, ge=0, le=3600)
    steps: int | None = Field(None, ge=0, le=100_000)
    fail: Literal["transient", "permanent"] | None = None
    fail_times: int = Field(0, ge=0, le=100)
    crash_after_claim: bool = False


class TaskFilter(BaseModel):
    """What every task type accepts. None or ``{}`` means all of the task's work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    diag: Diagnostics | None = None


class ProductSyncFilter(TaskFilter):
    """A part of a sale channel's catalog; every given field narrows."""

    product_ids: IdList | None = None  # CRM product ids; a marketplace -> CRM pull reads them as platform item ids
    variant_ids: IdList | None = None
    category_ids: IdList | None = None
    categories: IdList | None = None  # the seed's word for category_ids; both narrow together
    updated_after: datetime | None = None
    statuses: IdList | None = None  # CRM product statuses, e.g. ["ACTIVATED"]
    reconcile: bool = False  # compare the shop with the CRM and enqueue what closes the differences

    @field_validator("statuses")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [s.upper() for s in value]


class InventorySyncFilter(TaskFilter):
    variant_ids: IdList | None = None
    force: bool = False  # push every value, not only what changed since the last push


class PriceSyncFilter(InventorySyncFilter):
    pass


class OrderSyncFilter(TaskFilter):
    order_ids: IdList | None = None
    webhook_orders: bool = False  # the orders pushed by webhook and attached to this task
    updated_from: datetime | None = None
    updated_after: datetime | None = None  # the same as updated_from
    updated_to: datetime | None = None

    @property
    def named_only(self) -> bool:
        """Only the named or pushed orders: no incremental window."""
        return self.model_fields_set <= {"order_ids", "webhook_orders"} and bool(self.model_fields_set)


class ShopSyncFilter(TaskFilter):
    lost_pushes: bool = False  # read back pushes that may have been lost instead of the shop's details


class CustomerSyncFilter(TaskFilter):
    updated_after: datetime | None = None  # platform customers modified after this (default: every one)


FILTERS: dict[str, type[TaskFilter]] = {
    "product_sync": ProductSyncFilter,
    "inventory_sync": InventorySyncFilter,
    "price_sync": PriceSyncFilter,
    "order_sync": OrderSyncFilter,
    "shop_sync": ShopSyncFilter,
    "customer_sync": CustomerSyncFilter,
}

F = TypeVar("F", bound=TaskFilter)


class FilterInvalid(ValueError):
    """A filter_criteria that its task type does not accept; the message names the key."""


def parse_filter(task_type: str, raw: Mapping[str, Any] | None) -> TaskFilter:
    model = FILTERS.get(task_type)
    if model is None:
        raise FilterInvalid(f"unknown task type {task_type!r}")
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise FilterInvalid(_describe(task_type, exc)) from None


def filter_as(model: type[F], task_type: str, raw: Mapping[str, Any] | None) -> F:
    parsed = parse_filter(task_type, raw)
    if not isinstance(parsed, model):
        raise FilterInvalid(f"a {task_type} task has no {model.__name__}")
    return parsed


def dump_filter(task_filter: TaskFilter) -> dict[str, Any] | None:
    """The stored form: only what was given, JSON types; None when it narrows nothing."""
    return task_filter.model_dump(mode="json", exclude_unset=True) or None


def check_filter(task_type: str, raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate a filter for its task type and return its stored form."""
    return dump_filter(parse_filter(task_type, raw))


def _describe(task_type: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "filter_criteria"
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(sorted(FILTERS[task_type].model_fields))
        return f"filter {where!r} is not read by {task_type} tasks (allowed: {allowed})"
    return f"filter {where!r}: {first['msg']}"
