"""Enqueue: validation, coalescing, idempotency keys."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from nfsync.connectors.base.errors import ValidationFailed
from tests.engine.conftest import World


async def test_enqueue_creates_a_pending_task(world: World) -> None:
    result = await world.rt.service.enqueue(world.request(priority=7, filter_criteria={"product_ids": ["p1"]}))
    assert result.created and not result.coalesced and result.platform == "shopee"
    task = await world.rt.service.get(result.task_id, world.org)
    assert task["status"] == "pending" and task["priority"] == 7 and task["platform"] == "shopee"
    assert task["account_id"] is not None, "account filled from the shop"


async def test_burst_for_one_shop_coalesces(world: World) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    first = await world.rt.service.enqueue(
        world.request(
            filter_criteria={"variant_ids": ["a"], "updated_after": "2026-05-01T00:00:00+00:00"}, scheduled_at=later
        )
    )
    results = await asyncio.gather(
        *[
            world.rt.service.enqueue(
                world.request(
                    priority=3 + i % 5,
                    filter_criteria={"variant_ids": [f"v{i}"], "updated_after": "2026-04-01T00:00:00+00:00"},
                )
            )
            for i in range(200)
        ]
    )
    assert {r.task_id for r in results} == {first.task_id}
    assert all(r.coalesced for r in results)
    task = await world.rt.service.get(first.task_id)
    assert task["priority"] == 7, "priority is the max"
    assert task["scheduled_at"] < later.replace(tzinfo=None), "scheduled_at is the min"
    assert sorted(task["filter_criteria"]["variant_ids"]) == sorted(["a"] + [f"v{i}" for i in range(200)])
    assert task["filter_criteria"]["updated_after"].startswith("2026-04-01"), "time bound widened"
    assert task["coalesced_count"] == 200
    assert await world.count() == 1


async def test_unfiltered_request_widens_to_everything(world: World) -> None:
    first = await world.rt.service.enqueue(world.request(filter_criteria={"product_ids": ["p1"]}))
    await world.rt.service.enqueue(world.request())
    assert (await world.rt.service.get(first.task_id))["filter_criteria"] is None


async def test_different_keys_do_not_coalesce(world: World) -> None:
    a = await world.rt.service.enqueue(world.request(shop=0))
    b = await world.rt.service.enqueue(world.request(shop=1))
    c = await world.rt.service.enqueue(world.request(shop=0, task_type="inventory_sync"))
    d = await world.rt.service.enqueue(world.request(shop=0, direction="marketplace_to_crm"))
    assert len({a.task_id, b.task_id, c.task_id, d.task_id}) == 4


async def test_idempotency_key_returns_the_same_task(world: World) -> None:
    first = await world.rt.service.enqueue(world.request(idempotency_key="req-1"))
    again = await world.rt.service.enqueue(world.request(idempotency_key="req-1", priority=9))
    assert again.task_id == first.task_id and again.replayed and not again.created
    merged = await world.rt.service.enqueue(world.request(idempotency_key="req-2"))
    assert merged.task_id == first.task_id and merged.coalesced
    assert (await world.rt.service.enqueue(world.request(idempotency_key="req-2"))).replayed
    racing = await asyncio.gather(
        *[world.rt.service.enqueue(world.request(shop=3, idempotency_key="race")) for _ in range(10)]
    )
    assert len({r.task_id for r in racing}) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"integration_id": uuid.uuid4()}, "integration .* not found"),
        ({"shop_id": uuid.uuid4()}, "shop .* not found"),
        ({"organization_id": uuid.uuid4()}, "integration .* not found"),
    ],
)
async def test_enqueue_rejects_unknown_targets(world: World, change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await world.rt.service.enqueue(world.request().model_copy(update=change))
    assert await world.count() == 0


async def test_enqueue_rejects_inactive_targets(world: World) -> None:
    await world.rt.pool.execute(
        "UPDATE marketplace_integrations SET status = 'inactive' WHERE id = $1", world.integrations["lazada"]
    )
    with pytest.raises(ValidationFailed, match="is inactive, not active"):
        await world.rt.service.enqueue(world.request("lazada"))
    await world.rt.pool.execute(
        "UPDATE marketplace_shops SET shop_status = 'banned' WHERE id = $1", world.shops["tiktok"][0]
    )
    with pytest.raises(ValidationFailed, match="is not active"):
        await world.rt.service.enqueue(world.request("tiktok"))


@pytest.mark.parametrize(
    "fields",
    [
        {"priority": 11},
        {"priority": 0},
        {"task_type": "refund_sync"},
        {"direction": "up"},
        {"filter_criteria": {"product_ids": "p1"}},
        {"filter_criteria": {"updated_after": "yesterday"}},
        {"unknown": 1},
    ],
)
def test_request_validation(world: World, fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        world.request(**fields)


async def test_enqueue_many_with_duplicates(world: World) -> None:
    requests = [world.request(shop=i % 5, filter_criteria={"product_ids": [str(i)]}) for i in range(50)]
    ids = await world.rt.service.enqueue_many(world.org, requests)
    assert len(ids) == 50 and len(set(ids)) == 5
    assert await world.count() == 5


async def test_retrying_a_cancelled_task_whose_key_a_newer_pending_task_holds_says_which(world: World) -> None:
    """Before: a UniqueViolationError (sync_tasks_coalesce_idx) from the service, the CLI and AMQP, and a vague 422
    from the API. The cancelled task is left as it was."""
    first = await world.rt.service.enqueue(world.request(scheduled_at="2100-01-01T00:00:00Z"))
    await world.rt.service.cancel(first.task_id)
    second = await world.rt.service.enqueue(world.request(scheduled_at="2100-01-01T00:00:00Z"))
    with pytest.raises(ValidationFailed, match=f"pending task {second.task_id} already covers"):
        await world.rt.service.retry(first.task_id)
    assert await world.count("id = $1 AND status = 'cancelled'", first.task_id) == 1
