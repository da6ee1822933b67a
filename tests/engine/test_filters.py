"""filter_criteria as one typed model per task type: what each task type reads is all it accepts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from pydantic import ValidationError

from nfsync.connectors.base.errors import PermanentError
from nfsync.workers.engine.filters import (
    FILTERS,
    MAX_IDS,
    InventorySyncFilter,
    OrderSyncFilter,
    ProductSyncFilter,
    check_filter,
    parse_filter,
)
from nfsync.workers.engine.models import TASK_TYPES, ClaimedTask, EnqueueRequest

ORG = uuid.uuid4()


def _request(task_type: str, filters: dict[str, object]) -> EnqueueRequest:
    return EnqueueRequest(
        organization_id=ORG,
        integration_id=ORG,
        task_type=task_type,
        direction="crm_to_marketplace",
        filter_criteria=filters,
    )


def test_every_task_type_has_a_filter_model() -> None:
    assert set(FILTERS) == set(TASK_TYPES)


@pytest.mark.parametrize(
    ("task_type", "filters", "refused"),
    [
        ("inventory_sync", {"product_ids": ["p1"]}, "'product_ids' is not read by inventory_sync tasks"),
        ("order_sync", {"reconcile": True}, "'reconcile' is not read by order_sync tasks"),
        ("shop_sync", {"force": True}, "'force' is not read by shop_sync tasks"),
        ("product_sync", {"webhook_orders": True}, "'webhook_orders' is not read by product_sync tasks"),
        ("product_sync", {"diag": {"sleep": -1}}, "'diag.sleep'"),
        ("product_sync", {"product_ids": [""]}, "'product_ids.0'"),
        ("product_sync", {"product_ids": ["x" * 256]}, "'product_ids.0'"),
        ("product_sync", {"product_ids": [True]}, "'product_ids.0'"),
        ("product_sync", {"product_ids": [{"nested": [1]}]}, "'product_ids.0'"),
        ("order_sync", {"updated_to": "yesterday"}, "'updated_to'"),
    ],
)
def test_a_key_the_task_type_does_not_read_is_refused_with_its_name(
    task_type: str, filters: dict[str, object], refused: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _request(task_type, filters)
    assert refused in str(caught.value)


def test_the_refusal_lists_what_the_task_type_accepts() -> None:
    with pytest.raises(ValidationError, match=r"allowed: diag, force, variant_ids"):
        _request("price_sync", {"updated_after": "2026-01-01T00:00:00Z"})


def test_too_many_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="variant_ids"):
        _request("inventory_sync", {"variant_ids": [str(i) for i in range(MAX_IDS + 1)]})


def test_the_stored_form_is_normalised_json() -> None:
    request = _request(
        "product_sync",
        {"product_ids": [1, "p2"], "statuses": ["activated"], "updated_after": "2026-05-01T07:00:00+07:00"},
    )
    assert request.filter_criteria == {
        "product_ids": ["1", "p2"],
        "statuses": ["ACTIVATED"],
        "updated_after": "2026-05-01T07:00:00+07:00",
    }
    assert _request("product_sync", {}).filter_criteria is None
    assert check_filter("order_sync", {"webhook_orders": True}) == {"webhook_orders": True}


def test_handlers_read_typed_fields() -> None:
    parsed = parse_filter("order_sync", {"order_ids": ["o1"], "updated_from": "2026-05-01T00:00:00Z"})
    assert isinstance(parsed, OrderSyncFilter)
    assert parsed.updated_from == datetime(2026, 5, 1, tzinfo=UTC) and not parsed.named_only
    assert parse_filter("order_sync", {"order_ids": ["o1"], "webhook_orders": True}).named_only  # type: ignore[attr-defined]
    assert not OrderSyncFilter().named_only, "no filter: the incremental window"
    assert isinstance(parse_filter("price_sync", None), InventorySyncFilter), (
        "price_sync reads what inventory_sync does"
    )


def _claimed(task_type: str, filters: dict[str, object] | None) -> ClaimedTask:
    return ClaimedTask(
        id=ORG,
        organization_id=ORG,
        integration_id=ORG,
        account_id=None,
        shop_id=None,
        platform="shopee",
        task_type=task_type,
        direction="crm_to_marketplace",
        priority=5,
        scheduled_at=datetime(2026, 1, 1),
        filter_criteria=filters,
        attempt=1,
        retry_count=0,
        max_retries=3,
    )


def test_a_stored_filter_its_model_refuses_fails_the_task_with_the_reason() -> None:
    """A row written by an older release (or by hand) with a key nobody reads: the task fails, it is not ignored."""
    with pytest.raises(PermanentError, match="'colour' is not read by product_sync tasks"):
        _claimed("product_sync", {"colour": "red"}).filters(ProductSyncFilter)
    assert _claimed("product_sync", {"reconcile": True}).filters(ProductSyncFilter).reconcile
    with pytest.raises(PermanentError, match="has no ProductSyncFilter"):
        _claimed("order_sync", None).filters(ProductSyncFilter)


MERGE_CASES = [
    (
        "product_sync",
        {"product_ids": ["a"], "updated_after": "2026-01-02T00:00:00Z"},
        {"product_ids": ["b"], "updated_after": "2026-01-01T00:00:00Z"},
    ),
    ("product_sync", {"reconcile": True}, {"product_ids": ["b"]}),
    ("product_sync", {"categories": ["c1"], "statuses": ["ACTIVATED"]}, {"categories": ["c2"]}),
    ("inventory_sync", {"variant_ids": ["v1"], "force": True}, {"variant_ids": ["v2"], "force": True}),
    ("order_sync", {"webhook_orders": True}, {"order_ids": ["o1"]}),
    (
        "order_sync",
        {"updated_from": "2026-01-02T00:00:00Z", "updated_to": "2026-01-03T00:00:00Z"},
        {"updated_from": "2026-01-01T00:00:00Z", "updated_to": "2026-01-04T00:00:00Z"},
    ),
    ("shop_sync", {"lost_pushes": True}, {"lost_pushes": True}),
]


@pytest.mark.parametrize(("task_type", "first", "second"), MERGE_CASES)
async def test_coalescing_two_valid_filters_gives_a_valid_filter(
    conn: asyncpg.Connection, task_type: str, first: dict[str, object], second: dict[str, object]
) -> None:
    """Coalescing merges stored filters in SQL (nfsync_merge_filters); what it writes must still be a filter the task
    type accepts, and select at least what both selected."""
    merged = await conn.fetchval(
        "SELECT nfsync_merge_filters($1::text::jsonb, $2::text::jsonb)::text",
        json.dumps(check_filter(task_type, first)),
        json.dumps(check_filter(task_type, second)),
    )
    stored = None if merged is None else json.loads(merged)
    result = parse_filter(task_type, stored)
    for key, value in result.model_dump(exclude_unset=True).items():
        if isinstance(value, list):
            assert set(first.get(key, [])) | set(second.get(key, [])) <= set(value), key  # type: ignore[arg-type]
