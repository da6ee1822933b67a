"""Workers in-process against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import json

import aio_pika

from nfsync.workers.engine.broker import DEAD_QUEUE, TASKS_EXCHANGE
from nfsync.workers.engine.handlers import HandlerRegistry, TaskContext
from nfsync.workers.engine.scheduler import Scheduler
from tests.engine.conftest import World, running_worker, wait_until


async def test_tasks_run_once_and_complete(world: World) -> None:
    ids = [(await world.rt.service.enqueue(world.request(shop=i))).task_id for i in range(20)]
    async with running_worker(world):
        await wait_until(world.all_terminal, what="all tasks terminal")
    rows = await world.rt.pool.fetch("SELECT status, attempt, progress FROM sync_tasks WHERE id = ANY($1)", ids)
    assert [(r["status"], r["attempt"], r["progress"]) for r in rows] == [("completed", 1, 100)] * 20


async def test_duplicate_wakeups_run_each_task_once(world: World) -> None:
    runs: list[str] = []
    registry = HandlerRegistry()

    @registry.handler("product_sync")
    async def count(ctx: TaskContext) -> None:
        runs.append(str(ctx.task.id))

    ids = [(await world.rt.service.enqueue(world.request(shop=i))).task_id for i in range(10)]
    for _ in range(3):
        await world.rt.service.wake("shopee", ids, reason="duplicate")
    async with running_worker(world, registry=registry):
        await wait_until(world.all_terminal)
    assert sorted(runs) == sorted(str(i) for i in ids)


async def test_transient_failures_exhaust_retries_with_backoff(world: World) -> None:
    result = await world.rt.service.enqueue(
        world.request(max_retries=3, filter_criteria={"diag": {"fail": "transient"}})
    )
    seen: list[tuple[int, float]] = []

    async def observe() -> bool:
        row = await world.rt.pool.fetchrow(
            "SELECT status, retry_count, extract(epoch FROM next_retry_at - updated_at) AS delay FROM sync_tasks"
            " WHERE id = $1",
            result.task_id,
        )
        if row["status"] == "pending" and row["retry_count"] and (not seen or seen[-1][0] != row["retry_count"]):
            seen.append((row["retry_count"], float(row["delay"])))
        return bool(row["status"] == "failed")

    async with running_worker(world), Scheduler(world.settings, world.rt.pool, world.rt.service).running():
        await wait_until(observe, seconds=30, what="the task to fail")
    task = await world.rt.service.get(result.task_id)
    assert task["retry_count"] == 3 and task["attempt"] == 4
    assert task["error_message"].startswith("retries exhausted after 4 attempts: RetryableError")
    for retry_count, delay in seen:  # full jitter: uniform in [0, min(cap, base * 2**n)]
        assert (
            0
            <= delay
            <= min(world.settings.retry_max_seconds, world.settings.retry_base_seconds * 2 ** (retry_count - 1)) + 0.05
        )


async def test_permanent_failure_is_not_retried(world: World) -> None:
    result = await world.rt.service.enqueue(world.request(filter_criteria={"diag": {"fail": "permanent"}}))
    async with running_worker(world):
        await wait_until(world.all_terminal)
    task = await world.rt.service.get(result.task_id)
    assert (task["status"], task["attempt"], task["error_message"]) == ("failed", 1, "diagnostic permanent failure")


async def test_unparseable_wakeup_is_dead_lettered_and_work_goes_on(world: World) -> None:
    channel = await world.rt.connection.channel()  # type: ignore[union-attr]
    dead = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await dead.purge()
    exchange = await channel.get_exchange(TASKS_EXCHANGE)
    async with running_worker(world):
        await exchange.publish(aio_pika.Message(b"{not json"), routing_key="shopee")
        await exchange.publish(
            aio_pika.Message(json.dumps({"v": 1, "platform": "mars"}).encode()), routing_key="shopee"
        )
        result = await world.rt.service.enqueue(world.request())
        await wait_until(world.all_terminal)
        messages = []

        async def dead_lettered() -> bool:
            message = await dead.get(fail=False)
            if message is not None:
                messages.append(message.body)
                await message.ack()
            return len(messages) >= 2

        await wait_until(dead_lettered, what="two dead-lettered messages")
    assert sorted(messages) == sorted([b"{not json", json.dumps({"v": 1, "platform": "mars"}).encode()])
    assert (await world.rt.service.get(result.task_id))["status"] == "completed"
    await channel.close()


async def test_cancel_pending_and_running(world: World) -> None:
    slow = await world.rt.service.enqueue(world.request(shop=0, filter_criteria={"diag": {"sleep": 30, "steps": 300}}))
    later = await world.rt.service.enqueue(world.request(shop=1, scheduled_at="2999-01-01T00:00:00Z"))
    assert await world.rt.service.cancel(later.task_id) == "cancelled"
    async with running_worker(world):
        await wait_until(lambda: _status_is(world, slow.task_id, "processing"))
        assert await world.rt.service.cancel(slow.task_id) == "cancelling"
        loop = asyncio.get_running_loop()
        started = loop.time()
        await wait_until(lambda: _status_is(world, slow.task_id, "cancelled"), seconds=5)
        assert loop.time() - started < 2.0, "a running task stops at its next checkpoint within 2 s"
    assert (await world.rt.service.get(later.task_id))["status"] == "cancelled"


async def _status_is(world: World, task_id: object, status: str) -> bool:
    return bool(await world.rt.pool.fetchval("SELECT status = $2 FROM sync_tasks WHERE id = $1", task_id, status))


async def test_graceful_shutdown_releases_work(world: World) -> None:
    slow = await world.rt.service.enqueue(world.request(filter_criteria={"diag": {"sleep": 60, "steps": 600}}))
    async with running_worker(world) as worker:
        await wait_until(lambda: _status_is(world, slow.task_id, "processing"))
        worker.request_stop()
    task = await world.rt.service.get(slow.task_id)
    assert (task["status"], task["retry_count"], task["lease_owner"]) == ("pending", 0, None)
    assert task["processed_items"] >= 0


async def test_progress_is_written_while_running(world: World) -> None:
    slow = await world.rt.service.enqueue(world.request(filter_criteria={"diag": {"sleep": 3, "steps": 30}}))
    async with running_worker(world):
        await wait_until(
            lambda: world.rt.pool.fetchval(
                "SELECT processed_items > 0 AND progress BETWEEN 1 AND 99 AND total_items = 30"
                " FROM sync_tasks WHERE id = $1",
                slow.task_id,
            )
        )
        await wait_until(world.all_terminal)
    task = await world.rt.service.get(slow.task_id)
    assert (task["progress"], task["processed_items"], task["successful_items"]) == (100, 30, 30)


async def test_per_shop_concurrency_with_four_workers(world: World) -> None:
    running = {"now": 0, "max": 0}
    registry = HandlerRegistry()

    @registry.handler("product_sync", "inventory_sync")
    async def track(ctx: TaskContext) -> None:
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        await asyncio.sleep(0.05)
        running["now"] -= 1

    for _ in range(30):
        await world.rt.service.enqueue(world.request(shop=0, filter_criteria={"diag": {}}))
        await world.rt.service.enqueue(world.request(shop=0, direction="bidirectional"))
        await world.rt.service.enqueue(world.request(shop=0, direction="marketplace_to_crm"))
    async with (
        running_worker(world, registry=registry),
        running_worker(world, registry=registry),
        running_worker(world, registry=registry),
        running_worker(world, registry=registry),
    ):
        await wait_until(world.all_terminal)
    assert running["max"] == 1, "one (shop, task_type) never ran twice at once"
