"""`nfsync bench dispatch`: the task engine's throughput with handlers that do no I/O.

It builds a throw-away database ``<database>_bench`` on the configured server, seeds one organization with an
integration per platform and enough shops that every task has its own (shop, task_type) - so nothing coalesces
and no task waits on the one-running-task-per-(shop, task_type) rule - then measures:

- enqueue rate: N tasks through ``TaskService.enqueue_many`` in chunks of 1,000 (rows committed, wake-ups sent);
- drain rate: those N tasks already enqueued and due, W worker processes started -> last completion, measured in
  the database as N / (last ``completed_at`` - first ``started_at``); the wall time from spawning the processes
  is reported beside it;
- end-to-end rate: another N tasks enqueued while the workers run, first enqueue -> last completion;
- claim latency p50/p95 of that second round (``started_at - created_at``);
- peak RSS of the worker processes (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.config import Settings
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.models import NATURAL_DIRECTION, TASK_TYPES, EnqueueRequest
from nfsync.workers.engine.runtime import runtime
from nfsync.workers.engine.service import TaskService
from nfsync.workers.lab.connector_bench import add_commands as add_connector_commands
from nfsync.workers.lab.events_bench import add_commands as add_events_commands
from nfsync.workers.lab.fleet_bench import add_commands as add_fleet_commands
from nfsync.workers.lab.logs_bench import add_commands as add_logs_commands
from nfsync.workers.lab.queries import QUERIES
from nfsync.workers.lab.seed import seed_platform_shops
from nfsync.workers.lab.sync_bench import add_commands as add_sync_commands
from nfsync.workers.lab.webhook_bench import add_commands as add_webhook_commands

BENCH_PLATFORMS = PLATFORM_PACKAGES  # the platforms with a connector
KEYS_PER_SHOP = len(TASK_TYPES)  # one task per (shop, task_type): those never wait on each other
CHUNK = 1000


async def _seed(pool: asyncpg.Pool, tasks: int) -> tuple[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID]]]:
    org = await pool.fetchval("INSERT INTO organizations (name) VALUES ('bench') RETURNING id")
    shops_per_platform = math.ceil(tasks / KEYS_PER_SHOP / len(BENCH_PLATFORMS))
    targets: list[tuple[uuid.UUID, uuid.UUID]] = []
    for platform in BENCH_PLATFORMS:
        integration, shops = await seed_platform_shops(pool, org, platform, shops_per_platform)
        targets += [(integration, shop) for shop in shops]
    return org, targets


def _requests(org: uuid.UUID, targets: list[tuple[uuid.UUID, uuid.UUID]], count: int) -> list[EnqueueRequest]:
    per_platform = len(targets) // len(BENCH_PLATFORMS)
    # interleave the platforms so every worker pool has work from the start
    order = [targets[p * per_platform + j] for j in range(per_platform) for p in range(len(BENCH_PLATFORMS))]
    keys = [(i, s, t, NATURAL_DIRECTION[t]) for i, s in order for t in TASK_TYPES]
    return [
        EnqueueRequest(organization_id=org, integration_id=i, shop_id=s, task_type=t, direction=d)
        for i, s, t, d in keys[:count]
    ]


async def _enqueue_all(service: TaskService, org: uuid.UUID, requests: list[EnqueueRequest]) -> float:
    started = time.perf_counter()
    for offset in range(0, len(requests), CHUNK):
        await service.enqueue_many(org, requests[offset : offset + CHUNK])
    return time.perf_counter() - started


def _spawn_workers(settings: Settings, count: int, concurrency: int) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env.update(
        {
            "NFSYNC_DATABASE_URL": settings.database_url,
            "NFSYNC_AMQP_URL": settings.amqp_url,
            "NFSYNC_LOG_LEVEL": "warning",
            "NFSYNC_CLAIM_BATCH": str(settings.claim_batch),
        }
    )
    command = [
        sys.executable,
        "-m",
        "nfsync.workers",
        "worker",
        "--platform",
        ",".join(BENCH_PLATFORMS),
        "--handlers",
        "nfsync.workers.lab.diagnostics:REGISTRY",
        "--concurrency",
        str(concurrency),
    ]
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]  # noqa: S603


async def _wait_drained(pool: asyncpg.Pool, deadline_s: float) -> None:
    """Until no task is pending or processing. An EXISTS probe, every 50 ms: the observer must not load the
    database it measures (a count(*) every 20 ms cost a third of a core)."""
    deadline = time.monotonic() + deadline_s
    while await pool.fetchval(QUERIES["bench_unfinished"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark did not finish within {deadline_s:.0f}s")
        await asyncio.sleep(0.05)
    failed = await pool.fetchval("SELECT count(*) FROM sync_tasks WHERE status <> 'completed'")
    if failed:
        raise RuntimeError(f"{failed} benchmark tasks did not complete")


def _peak_rss_mb(processes: list[subprocess.Popen[bytes]]) -> float:
    peak = 0
    for process in processes:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return round(peak / 1024, 1)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


async def _window(pool: asyncpg.Pool, since: Any) -> dict[str, float]:
    row = await pool.fetchrow(
        "SELECT extract(epoch FROM max(completed_at) - min(started_at)) AS drain,"
        " extract(epoch FROM max(completed_at) - min(created_at)) AS e2e,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS p50,"
        " percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS p95"
        " FROM sync_tasks WHERE created_at >= $1",
        since,
    )
    assert row is not None
    return {key: float(row[key] or 0.0) for key in ("drain", "e2e", "p50", "p95")}


async def run_dispatch(settings: Settings, tasks: int, workers: int, concurrency: int) -> dict[str, Any]:
    bench = settings.model_copy(update={"database_url": settings.database_url_for(settings.database_name + "_bench")})
    await drop_database(settings, bench.database_name)
    await init_database(bench)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        async with runtime(bench, "nfsync-bench", pool_size=4) as rt:
            org, targets = await _seed(rt.pool, tasks)
            requests = _requests(org, targets, tasks)
            enqueue_seconds = await _enqueue_all(rt.service, org, requests)
            round_one = await rt.pool.fetchval("SELECT min(created_at) FROM sync_tasks")
            spawned = time.perf_counter()
            processes = _spawn_workers(bench, workers, concurrency)
            await _wait_drained(rt.pool, 600)
            wall = time.perf_counter() - spawned
            drain = await _window(rt.pool, round_one)
            round_two = await rt.pool.fetchval("SELECT now()::timestamp")
            await rt.pool.execute("DELETE FROM sync_tasks")
            await _enqueue_all(rt.service, org, requests)
            await _wait_drained(rt.pool, 600)
            e2e = await _window(rt.pool, round_two)
            rss = _peak_rss_mb(processes)
    finally:
        _stop(processes)
        await drop_database(settings, bench.database_name)
    return {
        "scenario": "dispatch",
        "tasks": tasks,
        "workers": workers,
        "concurrency": concurrency,
        "claim_batch": settings.claim_batch,
        "enqueue_per_s": round(tasks / enqueue_seconds),
        "drain_per_s": round(tasks / drain["drain"]),
        "drain_wall_s_incl_startup": round(wall, 2),
        "end_to_end_per_s": round(tasks / e2e["e2e"]),
        "claim_latency_p50_ms": round(e2e["p50"] * 1000, 1),
        "claim_latency_p95_ms": round(e2e["p95"] * 1000, 1),
        "peak_worker_rss_mb": rss,
        "target_drain_per_s": 6500,
    }


async def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    if args.claim_batch:
        settings = settings.model_copy(update={"claim_batch": args.claim_batch})
    result = await run_dispatch(settings, args.tasks, args.workers, args.concurrency)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench_command", required=True)
    add_connector_commands(sub, bench)
    add_webhook_commands(bench)
    add_sync_commands(bench)
    add_events_commands(bench)
    add_logs_commands(bench)
    add_fleet_commands(bench)
    dispatch = bench.add_parser("dispatch", help="task engine throughput with no-op handlers")
    dispatch.add_argument("--tasks", type=int, default=20_000)
    dispatch.add_argument("--workers", type=int, default=2, help="worker processes")
    dispatch.add_argument("--concurrency", type=int, default=400, help="tasks at once per platform per worker")
    dispatch.add_argument("--claim-batch", type=int, default=400, help="tasks per claim statement")
    dispatch.add_argument("--json", action="store_true", help="print one JSON object")
    dispatch.set_defaults(handler=cmd_bench)
