"""`nfsync bench sync-logs`: ``GET /v1/sync-logs`` on a large history (issue #17).

On a throw-away database ``<database>_bench_logs``: ``--rows`` sync_logs rows over the last ``--days`` days in monthly
partitions, for one organization (and a tenth as many for a second one, so row-level security has something to
hide), one failure in 97, 100,000 entities, a task per 1,000 rows. Then each page the CRM asks for - the newest, a
shop's, the failures, one entity's history, one task's, a day a month ago, and a page deep in the past by cursor - is
read ``--repeat`` times through the API's own query, as the API runs it (the tenant role, row-level security, the
organization set, the statement prepared once), and its median and worst latency reported, with the partitions and
index the plan used.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from nfsync.workers.api.sync_logs import page_arguments, page_query
from nfsync.workers.config import Settings
from nfsync.workers.db.connect import connect
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.lab.queries import QUERIES
from nfsync.workers.lab.seed import seed_platform_shops

CHUNK = 500_000


async def _fill(
    conn: asyncpg.Connection, org: uuid.UUID, integration: uuid.UUID, shops: list[uuid.UUID], *, rows: int, days: int
) -> None:
    for start in range(1, rows + 1, CHUNK):
        end = min(rows, start + CHUNK - 1)
        await conn.execute(QUERIES["bench_logs_fill"], org, integration, shops, rows, start, end, float(days))


def _scenarios(shop: uuid.UUID, task: uuid.UUID, deep: asyncpg.Record) -> dict[str, dict[str, Any]]:
    """The pages a CRM asks for: filters of ``page_query``."""
    moment = deep["created_at"]
    return {
        "newest": {},
        "shop": {"shop_id": shop},
        "failed": {"status": "failed"},
        "entity": {"entity_id": "v-4242"},
        "task": {"task_id": task},
        "one_day_in_the_past": {"since": moment - timedelta(days=1), "until": moment},
        "deep_cursor": {"after": (deep["created_at"], deep["id"])},
    }


async def _timed(conn: asyncpg.Connection, org: uuid.UUID, filters: dict[str, Any], repeat: int) -> dict[str, Any]:
    seconds = []
    rows: list[asyncpg.Record] = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = await page_query(conn, org, limit=100, **filters)
        seconds.append(time.perf_counter() - started)
    return {
        "rows": len(rows),
        "median_ms": round(statistics.median(seconds) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        **await _plan(conn, org, filters),
    }


async def _plan(conn: asyncpg.Connection, org: uuid.UUID, filters: dict[str, Any]) -> dict[str, Any]:
    """The indexes the page's plan reads and how many partitions it touches."""
    async with conn.transaction():
        await conn.execute(QUERIES["sync_logs_custom_plans"])
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + QUERIES["sync_logs_page"], *page_arguments(org, limit=100, **filters)
        )
    nodes = list(_nodes(json.loads(plan)[0]["Plan"]))
    names = {n["Index Name"] for n in nodes if "Index Name" in n}
    indexes = sorted({re.sub(r"^sync_logs_(default|\d{6})_", "", name) for name in names})
    partitions = {n["Relation Name"] for n in nodes if "Relation Name" in n}
    return {"indexes": indexes, "partitions_read": len(partitions)}


def _nodes(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


async def run_logs(settings: Settings, rows: int, days: int, repeat: int) -> dict[str, Any]:
    bench = settings.model_copy(
        update={"database_url": settings.database_url_for(settings.database_name + "_bench_logs")}
    )
    await drop_database(settings, bench.database_name)
    await init_database(bench)
    try:
        conn = await connect(bench, application="nfsync-bench-logs")
        try:
            await conn.fetchval("SELECT sync_logs_ensure_partitions($1, 1)", days // 30 + 2)
            org = await conn.fetchval("INSERT INTO organizations (name) VALUES ('big') RETURNING id")
            other = await conn.fetchval("INSERT INTO organizations (name) VALUES ('other') RETURNING id")
            pool = await asyncpg.create_pool(bench.database_url, min_size=1, max_size=2)
            try:
                integration, shops = await seed_platform_shops(pool, org, "shopee", 20)
                other_integration, other_shops = await seed_platform_shops(pool, other, "shopee", 2)
            finally:
                await pool.close()
            started = time.perf_counter()
            await _fill(conn, org, integration, shops, rows=rows, days=days)
            await _fill(conn, other, other_integration, other_shops, rows=max(1, rows // 10), days=days)
            await conn.execute("VACUUM ANALYZE sync_logs")
            fill_seconds = time.perf_counter() - started
            deep = await conn.fetchrow(QUERIES["bench_logs_row_at"], org, days // 3)
            task = await conn.fetchval("SELECT task_id FROM sync_logs WHERE organization_id = $1 LIMIT 1", org)
            assert deep is not None, "the history reaches that far back"
            scenarios = _scenarios(shops[0], task, deep)
            await conn.execute(
                "SELECT set_config('role', 'nfsync_app', false), set_config('app.organization_id', $1, false)", str(org)
            )
            results = {name: await _timed(conn, org, filters, repeat) for name, filters in scenarios.items()}
            size = await conn.fetchval("SELECT count(*) FROM pg_inherits WHERE inhparent = 'sync_logs'::regclass")
        finally:
            await conn.close()
    finally:
        await drop_database(settings, bench.database_name)
    return {
        "scenario": "sync_logs",
        "rows": rows + max(1, rows // 10),
        "days": days,
        "partitions": size,
        "fill_seconds": round(fill_seconds, 1),
        "pages": results,
    }


async def cmd_bench_logs(settings: Settings, args: argparse.Namespace) -> int:
    result = await run_logs(settings, args.rows, args.days, args.repeat)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['rows']:,} rows over {result['days']} days in {result['partitions']} partitions "
            f"(filled in {result['fill_seconds']} s); a page of 100:"
        )
        for name, page in result["pages"].items():
            print(
                f"  {name:<22} {page['rows']:>4} rows  median {page['median_ms']:>8} ms  max {page['max_ms']:>8} ms"
                f"  ({page['partitions_read']} partitions, {', '.join(page['indexes']) or 'no index'})"
            )
    return 0


def add_commands(bench: Any) -> None:
    logs = bench.add_parser("sync-logs", help="GET /v1/sync-logs pages on a large history")
    logs.add_argument("--rows", type=int, default=5_000_000)
    logs.add_argument("--days", type=int, default=90)
    logs.add_argument("--repeat", type=int, default=9)
    logs.add_argument("--json", action="store_true", help="print one JSON object")
    logs.set_defaults(handler=cmd_bench_logs)
