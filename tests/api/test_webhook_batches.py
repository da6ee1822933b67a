"""The webhook hot path's group commit (workers/api/ingest.py) against real PostgreSQL: many concurrent pushes share
statements, yet each is stored once, every shop's pushes join one task, duplicates enqueue nothing, and one bad
push does not fail the others."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from nfsync.connectors.base.models import WebhookEvent
from nfsync.connectors.base.spec import load
from nfsync.workers.api.auth import create_organization
from nfsync.workers.api.ingest import IngestBatcher, IngestItem, ingest_pool
from nfsync.workers.api.webhooks import Verified, WebhookIntake, ingest_item, work_request
from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.runtime import engine_pool
from nfsync.workers.engine.service import TaskService
from nfsync.workers.lab.seed import seed_platform_shops

SHOPS = 5


@dataclass
class Seeded:
    pool: asyncpg.Pool
    organization: uuid.UUID
    integration: uuid.UUID
    shop_ids: list[str]  # the platform's shop ids


@pytest.fixture
async def seeded(database: Settings) -> AsyncIterator[Seeded]:
    pool = await engine_pool(database, "test-ingest", max_size=6)
    try:
        org = await create_organization(pool, "batches")
        integration, shops = await seed_platform_shops(pool, org, "tiktok", SHOPS)
        rows = await pool.fetch("SELECT shop_id FROM marketplace_shops WHERE id = ANY($1) ORDER BY shop_id", shops)
        yield Seeded(pool, org, integration, [r["shop_id"] for r in rows])
    finally:
        await pool.close()


def _order(seeded: Seeded, n: int, shop: str, dedupe: str | None = None, payload: str | None = None) -> IngestItem:
    return IngestItem(
        organization_id=seeded.organization,
        integration_id=seeded.integration,
        platform="tiktok",
        kind="order_status_changed",
        dedupe_key=dedupe or f"evt-{n}",
        platform_shop_id=shop,
        entity_id=f"order-{n}",
        status="AWAITING_SHIPMENT",
        headers=json.dumps({"content-type": "application/json"}),
        payload=payload or json.dumps({"order": n}),
        task_type="order_sync",
        priority=9,
        filter_criteria=json.dumps({"webhook_orders": True}),
    )


def _product(seeded: Seeded, n: int, shop: str, product: str) -> IngestItem:
    return IngestItem(
        organization_id=seeded.organization,
        integration_id=seeded.integration,
        platform="tiktok",
        kind="product_changed",
        dedupe_key=f"prod-evt-{n}",
        platform_shop_id=shop,
        entity_id=product,
        status=None,
        headers="{}",
        payload=json.dumps({"product": product}),
        task_type="product_sync",
        priority=6,
        filter_criteria=json.dumps({"product_ids": [product]}),
    )


async def test_a_concurrent_burst_shares_statements_and_each_push_is_stored_once(seeded: Seeded) -> None:
    batcher = IngestBatcher(seeded.pool, max_batch=50, concurrency=1)
    items = [_order(seeded, n, seeded.shop_ids[n % SHOPS]) for n in range(300)]
    repeats = [_order(seeded, n, seeded.shop_ids[n % SHOPS]) for n in range(0, 300, 10)]  # duplicate deliveries
    results = await asyncio.gather(*(batcher.ingest(item) for item in [*items, *repeats]))
    assert batcher.batches < len(items) / 5, f"{batcher.batches} statements for {batcher.items} pushes"
    stored = [r for r in results if r is not None]
    assert len(stored) == len(items), "every new push stored, no duplicate delivery stored"
    assert all(r is None for r in results[len(items) :]), "a repeat of a stored key gets the general path"
    rows = await seeded.pool.fetch("SELECT dedupe_key, task_id, shop_id FROM marketplace_webhooks")
    assert sorted(r["dedupe_key"] for r in rows) == sorted(i.dedupe_key for i in items)
    tasks = await seeded.pool.fetch("SELECT id, shop_id, filter_criteria, priority FROM sync_tasks")
    assert len(tasks) == SHOPS, "one pending order_sync per shop"
    by_shop = {t["shop_id"]: t["id"] for t in tasks}
    assert all(by_shop[r["shop_id"]] == r["task_id"] for r in rows), "each push is linked to its shop's task"
    assert all(t["filter_criteria"] == {"webhook_orders": True} and t["priority"] == 9 for t in tasks)
    assert {r.task_id for r in stored} == set(by_shop.values())


async def test_duplicates_within_one_batch_count_once(seeded: Seeded) -> None:
    batcher = IngestBatcher(seeded.pool)
    first, again = _order(seeded, 1, seeded.shop_ids[0]), _order(seeded, 1, seeded.shop_ids[0])
    results = await batcher._store([first, again])
    assert results[0] is not None and results[1] is None
    assert await seeded.pool.fetchval("SELECT count(*) FROM marketplace_webhooks") == 1


async def test_product_pushes_of_one_batch_merge_into_one_filter(seeded: Seeded) -> None:
    batcher = IngestBatcher(seeded.pool)
    shop = seeded.shop_ids[0]
    results = await batcher._store([_product(seeded, n, shop, f"P{n % 3}") for n in range(6)])
    assert all(r is not None for r in results)
    filters = await seeded.pool.fetch("SELECT filter_criteria FROM sync_tasks WHERE task_type = 'product_sync'")
    assert len(filters) == 1
    assert sorted(filters[0]["filter_criteria"]["product_ids"]) == ["P0", "P1", "P2"]
    # a later batch widens the same pending task
    await batcher._store([_product(seeded, 10, shop, "P9")])
    merged = await seeded.pool.fetchval("SELECT filter_criteria FROM sync_tasks WHERE task_type = 'product_sync'")
    assert sorted(merged["product_ids"]) == ["P0", "P1", "P2", "P9"]


async def test_unknown_shop_and_claimed_task_take_the_general_path(seeded: Seeded) -> None:
    batcher = IngestBatcher(seeded.pool)
    unknown, known = _order(seeded, 1, "no-such-shop"), _order(seeded, 2, seeded.shop_ids[0])
    results = await batcher._store([unknown, known])
    assert results[0] is None and results[1] is not None
    # a worker claims the task: the next push for that shop gets a new pending task, never the claimed one
    await seeded.pool.execute(
        "UPDATE sync_tasks SET status = 'processing', attempt = 1, lease_owner = 'test-worker', "
        "lease_expires_at = now() + interval '1 minute' WHERE id = $1",
        results[1].task_id,
    )
    later = await batcher._store([_order(seeded, 3, seeded.shop_ids[0])])
    assert later[0] is not None and later[0].task_id != results[1].task_id


async def test_a_push_postgresql_refuses_does_not_fail_its_batch(seeded: Seeded) -> None:
    batcher = IngestBatcher(seeded.pool, concurrency=1)
    bad = _order(seeded, 1, seeded.shop_ids[0], payload='{"note": "\\u0000"}')  # jsonb refuses NUL
    good = [_order(seeded, n, seeded.shop_ids[n % SHOPS]) for n in range(2, 12)]
    results = await asyncio.gather(*(batcher.ingest(item) for item in [bad, *good]))
    assert results[0] is None, "the refused push takes the general path"
    assert all(r is not None for r in results[1:])
    assert await seeded.pool.fetchval("SELECT count(*) FROM marketplace_webhooks") == len(good)


async def test_an_unreachable_database_fails_every_caller(seeded: Seeded, database: Settings) -> None:
    pool = await engine_pool(database, "test-ingest-down", max_size=1)
    batcher = IngestBatcher(pool)
    await pool.close()
    outcomes = await asyncio.gather(
        *(batcher.ingest(_order(seeded, n, seeded.shop_ids[0])) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, Exception) for o in outcomes)
    assert await seeded.pool.fetchval("SELECT count(*) FROM marketplace_webhooks") == 0


async def test_merge_filters_aggregate(seeded: Seeded) -> None:
    cases = [
        (['{"webhook_orders": true}', '{"webhook_orders": true}'], {"webhook_orders": True}),
        (['{"product_ids": ["a"]}', '{"product_ids": ["b", "a"]}'], {"product_ids": ["a", "b"]}),
        (['{"product_ids": ["a"]}', None], None),  # one push asking for everything widens to everything
        ([None], None),
    ]
    for filters, expected in cases:
        merged = await seeded.pool.fetchval(
            "SELECT nfsync_merge_filters_agg(f::jsonb) FROM unnest($1::text[]) AS f", filters
        )
        if merged is not None and "product_ids" in merged:
            merged["product_ids"] = sorted(merged["product_ids"])
        assert merged == expected, filters


async def _claim_loop(pool: asyncpg.Pool, stop: asyncio.Event, seen: dict[uuid.UUID, int]) -> None:
    """A stand-in worker: finishes what it runs and claims every pending task, recording how many pushes each task
    had when it was claimed (a push attached later would never be read by the handler)."""
    while not stop.is_set():
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE sync_tasks SET status = 'completed', completed_at = now() WHERE status = 'processing'"
            )
            claimed = await conn.fetch(
                "UPDATE sync_tasks SET status = 'processing', attempt = 1, lease_owner = 'stand-in', "
                "lease_expires_at = now() + interval '1 minute', started_at = now() "
                "WHERE status = 'pending' RETURNING id"
            )
            ids = [r["id"] for r in claimed]
            for row in await conn.fetch(
                "SELECT task_id, count(*)::int AS n FROM marketplace_webhooks WHERE task_id = ANY($1) GROUP BY 1", ids
            ):
                seen[row["task_id"]] = row["n"]
            seen.update({i: 0 for i in ids if i not in seen})
        await asyncio.sleep(0.005)


async def test_two_processes_and_a_worker_lose_nothing(seeded: Seeded, database: Settings) -> None:
    """Two intakes (two API processes' batchers, own pools) take overlapping bursts with duplicate deliveries while a
    worker claims tasks: every push is stored once, through the batch or the general path, linked to a task of its
    shop, and no push joins a task after the worker claimed it."""
    pools = [await engine_pool(database, f"test-intake-{n}", max_size=4) for n in range(2)]
    ingest = [await ingest_pool(database, f"test-ingest-{n}") for n in range(2)]
    intakes = [
        WebhookIntake(pool, TaskService(pool, None), None, "http://127.0.0.1", batcher_pool)
        for pool, batcher_pool in zip(pools, ingest, strict=True)
    ]
    integration = await seeded.pool.fetchrow(QUERIES["webhook_integration"], seeded.integration)
    spec = load("tiktok")
    events = [
        WebhookEvent(
            kind="order_status_changed",
            dedupe_key=f"evt-{n}",
            platform_shop_id=seeded.shop_ids[n % 3],
            entity_id=f"order-{n}",
            status="AWAITING_SHIPMENT",
        )
        for n in range(400)
    ]
    deliveries = [*events, *events[::7]]  # duplicates, racing their originals on the other process
    stop, seen = asyncio.Event(), {}
    worker = asyncio.create_task(_claim_loop(seeded.pool, stop, seen))
    try:
        await asyncio.gather(
            *(
                intakes[n % 2].store(
                    Verified(integration, spec, [event]),
                    {"content-type": "application/json"},
                    json.dumps({"n": n}).encode(),
                )
                for n, event in enumerate(deliveries)
            )
        )
    finally:
        stop.set()
        await worker
        for pool in [*pools, *ingest]:
            await pool.close()
    rows = await seeded.pool.fetch(
        "SELECT w.dedupe_key, w.task_id, w.shop_id AS push_shop, t.shop_id AS task_shop "
        "FROM marketplace_webhooks w LEFT JOIN sync_tasks t ON t.id = w.task_id"
    )
    assert sorted(r["dedupe_key"] for r in rows) == sorted(e.dedupe_key for e in events), "each push stored once"
    assert all(r["task_id"] is not None and r["push_shop"] == r["task_shop"] for r in rows)
    final = _counts(rows)
    late = {task: (seen[task], final[task]) for task in seen if final.get(task, 0) != seen[task]}
    assert not late, f"pushes joined tasks after they were claimed: {late}"
    assert len(seen) > 3, "the worker claimed tasks during the burst (new tasks were made for later pushes)"
    assert sum(i._batcher.batches for i in intakes) < len(deliveries) / 3, "the pushes shared statements"


def _counts(rows: list[asyncpg.Record]) -> dict[uuid.UUID, int]:
    counts: dict[uuid.UUID, int] = {}
    for row in rows:
        counts[row["task_id"]] = counts.get(row["task_id"], 0) + 1
    return counts


_PER_ROW = {"id", "shop_id", "account_id", "scheduled_at", "created_at", "updated_at", "dedupe_key"}


@pytest.mark.parametrize(
    "event",
    [
        WebhookEvent(kind="order_status_changed", dedupe_key="pin-1", entity_id="O-1", status="AWAITING_SHIPMENT"),
        WebhookEvent(kind="product_changed", dedupe_key="pin-2", entity_id="P-1"),
        WebhookEvent(kind="product_deleted", dedupe_key="pin-3", entity_id="P-2"),
    ],
    ids=lambda e: e.kind,
)
async def test_the_batched_path_and_enqueue_resolved_write_the_same_task(seeded: Seeded, event: WebhookEvent) -> None:
    """The hot path's SQL (webhooks.sql) and TaskService.enqueue_resolved must agree on every column of the task a
    push asks for; only what belongs to the row itself (its id, shop, times, dedupe key) may differ."""
    integration = await seeded.pool.fetchrow("SELECT * FROM marketplace_integrations WHERE id = $1", seeded.integration)
    batched_shop, general_shop = seeded.shop_ids[0], seeded.shop_ids[1]
    hot = event.model_copy(update={"platform_shop_id": batched_shop})
    stored = await IngestBatcher(seeded.pool)._store([ingest_item(integration, hot, {}, "{}")])
    assert stored[0] is not None and stored[0].task_id is not None
    shop = await seeded.pool.fetchrow(
        "SELECT id, account_id FROM marketplace_shops WHERE integration_id = $1 AND shop_id = $2",
        seeded.integration,
        general_shop,
    )
    request = work_request(integration, event, shop_id=shop["id"])
    async with seeded.pool.acquire() as conn, conn.transaction():
        result = await TaskService(seeded.pool, publisher=None).enqueue_resolved(
            conn, request, account_id=shop["account_id"], platform="tiktok"
        )
    rows = [
        dict(await seeded.pool.fetchrow("SELECT * FROM sync_tasks WHERE id = $1", task_id))
        for task_id in (stored[0].task_id, result.task_id)
    ]
    batched, general = ({k: v for k, v in row.items() if k not in _PER_ROW} for row in rows)
    assert batched == general
    assert batched["filter_criteria"] == request.filter_criteria and batched["status"] == "pending"
