"""`nfsync bench events`: what events out cost (issue #17).

On a throw-away database ``<database>_bench_events``:

- **publish rate**: ``--events`` rows in ``event_outbox`` (task events as the trigger writes them), published by
  ``EventPublisher`` to ``nfsync.events`` with publisher confirms into a durable quorum queue bound to ``task.#``
  (as a consumer would have it), outbox to confirmed publish and pruned: events per second;
- **added cost per task**: ``--tasks`` tasks run by an in-process worker (diagnostic no-op handlers) with the outbox
  trigger, then as many with it disabled, side by side: transactions committed per task in each run, from
  ``pg_stat_database`` (the worker's own pool, closed before reading so its backends flushed their counters).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from nfsync.workers.config import Settings
from nfsync.workers.db.connect import connect
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.events import EventPublisher, declare_events
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.runtime import Runtime, engine_pool, runtime
from nfsync.workers.engine.worker import Worker
from nfsync.workers.lab.diagnostics import REGISTRY
from nfsync.workers.lab.seed import seed_platform_shops

QUEUE = "nfsync.bench.events"
TRIGGER = "sync_tasks_event"


async def publish_rate(settings: Settings, rt: Runtime, org: uuid.UUID, events: int) -> dict[str, Any]:
    assert rt.connection is not None
    channel = await rt.connection.channel()
    exchange = await declare_events(channel)
    queue = await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await queue.bind(exchange, routing_key="task.#")
    await rt.pool.execute(
        "INSERT INTO event_outbox (organization_id, type, subject, data)"
        " SELECT $1, 'task.completed', 'tasks/' || gen_random_uuid(), jsonb_build_object('n', n)"
        " FROM generate_series(1, $2) AS n",
        org,
        events,
    )
    publisher = EventPublisher(settings, rt.pool, rt.connection)
    started = time.perf_counter()
    published = await publisher.publish_pending()
    seconds = time.perf_counter() - started
    queued = (await queue.declare()).message_count
    await queue.delete(if_unused=False, if_empty=False)
    await publisher.close()
    await channel.close()
    return {"events": published, "seconds": round(seconds, 3), "per_s": round(published / seconds), "queued": queued}


async def _commits(settings: Settings) -> int:
    conn = await connect(settings, application="nfsync-bench-events-stats")
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        value = await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return int(value)
    finally:
        await conn.close()


async def commits_per_task(settings: Settings, rt: Runtime, requests: list[EnqueueRequest]) -> float:
    """Transactions committed per task while an in-process worker runs ``requests`` (already enqueued)."""
    await rt.service.enqueue_many(requests[0].organization_id, requests)
    pool = await engine_pool(settings, "nfsync-bench-events-worker", max_size=4)
    before = await _commits(settings)
    worker = Worker(settings, REGISTRY, ["shopee"], pool=pool, connection=rt.connection, concurrency=100)
    await worker.start()
    try:
        deadline = time.monotonic() + 300
        while await rt.pool.fetchval("SELECT count(*) FROM sync_tasks WHERE status IN ('pending', 'processing')"):
            if time.monotonic() > deadline:
                raise TimeoutError("the tasks did not finish within 300 s")
            await asyncio.sleep(0.1)
    finally:
        await worker.shutdown()
        await pool.close()  # the worker's backends exit and flush their statistics
    after = await _commits(settings)
    return round((after - before) / len(requests), 3)


async def run_events(settings: Settings, events: int, tasks: int) -> dict[str, Any]:
    bench = settings.model_copy(
        update={"database_url": settings.database_url_for(settings.database_name + "_bench_events")}
    )
    await drop_database(settings, bench.database_name)
    await init_database(bench)
    try:
        async with runtime(bench, "nfsync-bench-events", pool_size=4) as rt:
            org = await rt.pool.fetchval("INSERT INTO organizations (name) VALUES ('bench') RETURNING id")
            integration, shops = await seed_platform_shops(rt.pool, org, "shopee", tasks)
            publish = await publish_rate(bench, rt, org, events)

            def batch() -> list[EnqueueRequest]:
                return [
                    EnqueueRequest(
                        organization_id=org,
                        integration_id=integration,
                        shop_id=shop,
                        task_type="product_sync",
                        direction="crm_to_marketplace",
                    )
                    for shop in shops
                ]

            with_events = await commits_per_task(bench, rt, batch())
            await rt.pool.execute("DELETE FROM event_outbox")
            await rt.pool.execute("DELETE FROM sync_tasks")
            await rt.pool.execute(f"ALTER TABLE sync_tasks DISABLE TRIGGER {TRIGGER}")
            without_events = await commits_per_task(bench, rt, batch())
            await rt.pool.execute(f"ALTER TABLE sync_tasks ENABLE TRIGGER {TRIGGER}")
    finally:
        await drop_database(settings, bench.database_name)
    return {
        "scenario": "events",
        "publish": publish,
        "tasks": tasks,
        "commits_per_task": {"with_events": with_events, "without_events": without_events},
        "added_commits_per_task": round(with_events - without_events, 3),
    }


async def cmd_bench_events(settings: Settings, args: argparse.Namespace) -> int:
    result = await run_events(settings, args.events, args.tasks)
    if args.json:
        print(json.dumps(result))
    else:
        publish = result["publish"]
        commits = result["commits_per_task"]
        print(
            f"published {publish['events']} events in {publish['seconds']} s: {publish['per_s']}/s "
            f"(queued {publish['queued']}); commits per task {commits['with_events']} with events, "
            f"{commits['without_events']} without: {result['added_commits_per_task']} added"
        )
    return 0


def add_commands(bench: Any) -> None:
    events = bench.add_parser("events", help="events out: outbox -> confirmed publish, and the cost per task")
    events.add_argument("--events", type=int, default=20_000)
    events.add_argument("--tasks", type=int, default=2_000)
    events.add_argument("--json", action="store_true", help="print one JSON object")
    events.set_defaults(handler=cmd_bench_events)
