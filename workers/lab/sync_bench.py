"""`nfsync bench sync`: the sync handlers against an in-process sandbox over real HTTP, with the real task engine
(PostgreSQL, RabbitMQ), the PostgreSQL rate limiter, a worker and the scheduler, in a throw-away database.

1. Full push of ``--variants`` variants to a sandbox enforcing ``--rate-limit`` calls/s (the integration set to the
   same rate): time from the task's start to its completion, against the theoretical minimum - for every limiter
   key (app, shop, endpoint class) the calls made through it divided by its rate, the largest of those. Target: the
   ratio <= 1.05, and no throttled response.
2. Unchanged re-sync of ``--resync-variants`` variants (pushed first to an unthrottled sandbox): write calls (target
   0) and duration, the median of ``--repeats`` re-syncs after the tables were vacuumed as autovacuum would (target
   <= 0.6 s per 10,000 variants, issue #20); the re-sync straight after the push is reported beside it.
3. CRM stock change -> sandbox updated, with the scheduler and the worker running: ``--changes`` changes one after
   another, each timed from the committed ``UPDATE "StockLevel"`` until the sandbox shows the new quantity; p50 /
   p95 (target p95 <= 5 s).
4. Component change -> combo stock on the shop: five combos listed on the shop share one component; each change of
   that component's stock is timed until the sandbox shows every combo's new offer; p50 / p95 (target p95 <= 5 s).

``--only resync`` runs the second scenario alone (the others need minutes of rate-limited pushing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from nfsync.connectors.base.auth import RateLimiter
from nfsync.connectors.base.sandbox import SandboxBase
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, generate_key_entry
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.runtime import Runtime, runtime
from nfsync.workers.engine.scheduler import Scheduler
from nfsync.workers.engine.worker import Worker
from nfsync.workers.lab.demo_data import DemoCatalog, add_combo, seed_catalog
from nfsync.workers.lab.sandbox_shops import ConnectedShop, connect_shop, create_integration
from nfsync.workers.marketplaces import ClientFactory
from nfsync.workers.sync import REGISTRY
from nfsync.workers.sync.session import SyncResources, open_resources

COST_BUCKET_MAXIMUM = 1000.0  # Shopify's bucket (docs/platforms/shopify.md), full when a push starts
DEADLINE = 900.0


@dataclass
class CountingLimiter:
    """The real limiter, counting acquisitions per key and remembering each key's rate."""

    inner: RateLimiter
    calls: Counter[str] = field(default_factory=Counter)
    rates: dict[str, float] = field(default_factory=dict)

    async def acquire(self, key: str, rate: float) -> None:
        self.calls[key] += 1
        self.rates[key] = rate
        await self.inner.acquire(key, rate)

    async def throttled(self, key: str, retry_after: float) -> None:
        await self.inner.throttled(key, retry_after)

    def minimum_seconds(self) -> float:
        return max((count / self.rates[key] for key, count in self.calls.items()), default=0.0)


@dataclass
class Bench:
    settings: Settings
    rt: Runtime
    keyring: Keyring
    org: uuid.UUID
    resources: SyncResources
    limiter: CountingLimiter


@contextlib.asynccontextmanager
async def _bench(settings: Settings, platform: str) -> AsyncIterator[Bench]:
    keyring = Keyring.from_secret(settings.secret_keys)
    async with (
        runtime(settings, "nfsync-bench-sync", pool_size=16) as rt,
        open_resources(settings, rt.pool) as base,
    ):
        limiter = CountingLimiter(base.limiter)
        factory = ClientFactory(keyring, limiter, outbound=settings.outbound_policy)
        resources = SyncResources(settings, rt.pool, keyring, limiter, factory, base.images)
        org = await rt.pool.fetchval("INSERT INTO organizations (name) VALUES ('sync bench') RETURNING id")
        worker = Worker(
            settings, REGISTRY, [platform], pool=rt.pool, connection=rt.connection, concurrency=8, resources=resources
        )
        await worker.start()
        try:
            async with Scheduler(settings, rt.pool, rt.service).running():
                yield Bench(settings, rt, keyring, org, resources, limiter)
        finally:
            await worker.shutdown()
            await resources.factory.close()


async def _shop(
    bench: Bench, sandbox: SandboxBase, variants: int, rate: int, name: str
) -> tuple[DemoCatalog, ConnectedShop]:
    async with bench.rt.pool.acquire() as conn:
        catalog = await seed_catalog(conn, organization_id=bench.org, variants=variants, name=name)
        integration = await create_integration(conn, bench.keyring, bench.org, sandbox, name=name, rate_limit=rate)
    shop_number = str(700000 + uuid.uuid4().int % 100000)
    shop = await connect_shop(
        bench.rt.pool,
        bench.keyring,
        bench.org,
        integration,
        sandbox,
        platform_shop_id=shop_number,
        channel_id=catalog.sale_channel_id,
    )
    await bench.rt.pool.execute("DELETE FROM crm_change_events")  # the seed's own rows: nothing is listed yet
    return catalog, shop


async def _run(
    bench: Bench, shop: ConnectedShop, task_type: str, filters: dict[str, Any] | None = None
) -> asyncpg.Record:
    request = EnqueueRequest(
        organization_id=bench.org,
        integration_id=shop.integration_id,
        shop_id=shop.shop_id,
        task_type=task_type,
        direction="crm_to_marketplace",
        filter_criteria=filters,
    )
    task_id = (await bench.rt.service.enqueue(request)).task_id
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        row = await bench.rt.pool.fetchrow("SELECT * FROM sync_tasks WHERE id = $1", task_id)
        if row is not None and row["status"] in ("completed", "failed", "cancelled"):
            if row["status"] != "completed" or row["error_message"]:
                raise RuntimeError(f"{task_type} ended {row['status']}: {row['error_message']}")
            return row
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{task_type} did not finish within {DEADLINE} s")


def _seconds(row: asyncpg.Record) -> float:
    return float((row["completed_at"] - row["started_at"]).total_seconds())


async def full_push(bench: Bench, platform: str, variants: int, rate: int) -> tuple[dict[str, Any], Any]:
    spec = load_sandbox(platform)
    sandbox = spec.sandbox(dict(spec.sample_app), rate_limit=float(rate))
    await sandbox.start()
    catalog, shop = await _shop(bench, sandbox, variants, rate, f"{platform} rate {rate}")
    bench.limiter.calls.clear()
    row = await _run(bench, shop, "product_sync")
    seconds, minimum = _seconds(row), bench.limiter.minimum_seconds()
    listed = sum(len(listing.variants) for listing in shop.sb_shop.listings.values())
    cost = _cost_bucket(sandbox, rate, seconds)
    if cost is not None:  # a cost-limited platform (Shopify): the minimum is the bucket's, not calls / rate
        minimum = cost["cost_minimum_seconds"]
    result = {
        "variants": variants,
        "listed": listed,
        "rate_limit": rate,
        "calls": sum(bench.limiter.calls.values()),
        "throttled": sandbox.counters.throttled,
        "seconds": round(seconds, 2),
        "theoretical_min_seconds": round(minimum, 2),
        "ratio": round(seconds / minimum, 3) if minimum else None,
        "target_ratio": 1.05,
        **(cost or {}),
    }
    return result, (sandbox, catalog, shop)


def _cost_bucket(sandbox: SandboxBase, rate: int, seconds: float) -> dict[str, Any] | None:
    """For a sandbox with a cost bucket (Shopify): the points the push really spent, the bucket minimum - the time
    the restore rate needs for what the full bucket at the start did not cover - and the share of the restore rate
    the push used (target >= 0.9)."""
    spent = getattr(sandbox, "cost_spent", None)
    if spent is None:
        return None
    minimum = max(0.0, spent - COST_BUCKET_MAXIMUM) / rate
    return {
        "cost_spent": spent,
        "cost_minimum_seconds": round(minimum, 2),
        "restore_rate_used": round(max(0.0, spent - COST_BUCKET_MAXIMUM) / seconds / rate, 3) if seconds else None,
        "target_restore_rate_used": 0.9,
    }


async def unchanged_resync(bench: Bench, platform: str, variants: int, repeats: int) -> dict[str, Any]:
    """The first push, one re-sync on the tables as the push left them (``cold_seconds``), then - after the
    ``VACUUM (ANALYZE)`` autovacuum runs within a minute of such a push (PostgreSQL's insert threshold is 1,000
    rows, its naptime 60 s) - ``repeats`` re-syncs: their median is the figure, a deployed shop's periodic re-sync."""
    spec = load_sandbox(platform)
    sandbox = spec.sandbox(dict(spec.sample_app), rate_limit=float("inf"))
    async with sandbox.running():
        _, shop = await _shop(bench, sandbox, variants, 5000, f"{platform} resync")
        first = await _run(bench, shop, "product_sync")
        writes = sum(sandbox.counters.writes_per_sku.values()) + sandbox.counters.creates
        requests = sandbox.counters.requests
        cold, _ = await _timed_resync(bench, shop)
        await bench.rt.pool.execute("VACUUM (ANALYZE)")
        runs = [await _timed_resync(bench, shop) for _ in range(repeats)]
        seconds = [s for s, _ in runs]
        return {
            "variants": variants,
            "first_push_seconds": round(_seconds(first), 2),
            "write_calls": sum(sandbox.counters.writes_per_sku.values()) + sandbox.counters.creates - writes,
            "calls": sandbox.counters.requests - requests,
            "cold_seconds": round(cold, 3),
            "runs_seconds": [round(s, 3) for s in seconds],
            "seconds": round(statistics.median(seconds), 3),
            "wall_seconds_incl_dispatch": round(statistics.median(w for _, w in runs), 3),
            "target_write_calls": 0,
            "target_seconds": 0.6,
        }


async def _timed_resync(bench: Bench, shop: ConnectedShop) -> tuple[float, float]:
    """One re-sync: (seconds from the task's start to its completion, seconds from enqueue to completion seen).

    The sandbox runs in this process and holds the whole catalog as Python objects, which a deployed worker does
    not: they are frozen (as ``nfsync worker`` freezes its own startup objects), or every full collection the
    re-sync triggers rescans them and the figure measures the sandbox's heap."""
    gc.collect()
    gc.freeze()
    try:
        started = time.perf_counter()
        row = await _run(bench, shop, "product_sync")
        return _seconds(row), time.perf_counter() - started
    finally:
        gc.unfreeze()


async def stock_latency(bench: Bench, pushed: Any, changes: int) -> dict[str, Any]:
    sandbox, catalog, shop = pushed
    latencies = []
    for index in range(changes):
        variant = catalog.variant_ids[(index * 7) % len(catalog.variant_ids)]
        quantity = 300 + index
        started = time.perf_counter()
        await bench.rt.pool.execute(
            'UPDATE "StockLevel" SET "onHand" = $2, reserved = 0 WHERE "variantId" = $1', variant, quantity
        )
        await _until_stock(sandbox, shop, catalog.skus[variant], quantity)
        latencies.append(time.perf_counter() - started)
    ordered = sorted(latencies)
    return {
        "changes": changes,
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 3),
        "max_s": round(ordered[-1], 3),
        "target_p95_s": 5.0,
    }


async def combo_latency(bench: Bench, pushed: Any, changes: int, combos: int = 5) -> dict[str, Any]:
    """Component change -> every combo containing it at its new offer on the shop: ``combos`` combos of two of one
    component and one of a shared plentiful one, listed by a product sync; each change sets the component so the
    combos make a known number, timed until the sandbox shows it for all of them."""
    sandbox, catalog, shop = pushed
    component, shared = catalog.variant_ids[1], catalog.variant_ids[2]
    await bench.rt.pool.execute(
        'UPDATE "StockLevel" SET "onHand" = 100000, reserved = 0 WHERE "variantId" = $1', shared
    )
    async with bench.rt.pool.acquire() as conn:
        made = [
            await add_combo(
                conn, catalog, [(component, Decimal(2)), (shared, Decimal(1))], name=f"bench {n}", price=Decimal(1000)
            )
            for n in range(combos)
        ]
    await _run(bench, shop, "product_sync", {"product_ids": [catalog.product_of[c] for c in made]})
    latencies = []
    for index in range(changes):
        quantity = 400 + index
        started = time.perf_counter()
        await bench.rt.pool.execute(
            'UPDATE "StockLevel" SET "onHand" = $2, reserved = 0 WHERE "variantId" = $1', component, 2 * quantity
        )
        for combo in made:
            await _until_stock(sandbox, shop, catalog.skus[combo], quantity)
        latencies.append(time.perf_counter() - started)
    ordered = sorted(latencies)
    return {
        "changes": changes,
        "combos": combos,
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 3),
        "max_s": round(ordered[-1], 3),
        "target_p95_s": 5.0,
    }


async def _until_stock(sandbox: SandboxBase, shop: ConnectedShop, sku: str, quantity: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = sandbox.find_variant(shop.sb_shop, sku)
        if found is not None and found[1].stock == quantity:
            return
        await asyncio.sleep(0.005)
    raise TimeoutError(f"the stock of {sku} did not reach the sandbox within 60 s")


async def run_sync_bench(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    name = settings.database_name + "_syncbench"
    bench_settings = settings.with_local_sandboxes().model_copy(
        update={
            "database_url": settings.database_url_for(name),
            "secret_keys": settings.secret_keys or Secret(generate_key_entry("bench")),
        }
    )
    await drop_database(settings, name)
    await init_database(bench_settings)
    out: dict[str, Any] = {"scenario": "sync", "platform": args.platform}
    try:
        async with _bench(bench_settings, args.platform) as bench:
            if args.only == "all":
                out["full_push"], pushed = await full_push(bench, args.platform, args.variants, args.rate_limit)
                try:
                    out["stock_change_latency"] = await stock_latency(bench, pushed, args.changes)
                    out["combo_stock_latency"] = await combo_latency(bench, pushed, args.changes)
                finally:
                    await pushed[0].stop()
            out["unchanged_resync"] = await unchanged_resync(bench, args.platform, args.resync_variants, args.repeats)
    finally:
        await drop_database(settings, name)
    return out


async def cmd_bench_sync(settings: Settings, args: argparse.Namespace) -> int:
    if args.repeats < 1:
        raise SystemExit("nfsync bench sync: --repeats must be >= 1")
    result = await run_sync_bench(settings, args)
    if args.json:
        print(json.dumps(result))
        return 0
    for section, values in result.items():
        if isinstance(values, dict):
            print(f"{section}:")
            for key, value in values.items():
                print(f"  {key:>28}: {value}")
        else:
            print(f"{section}: {values}")
    return 0


def add_commands(bench: Any) -> None:
    command = bench.add_parser("sync", help="full push vs the rate-limit minimum, unchanged re-sync, stock latency")
    command.add_argument("--platform", required=True, choices=PLATFORM_PACKAGES)
    command.add_argument("--variants", type=int, default=2000, help="variants in the full push")
    command.add_argument("--rate-limit", type=int, default=50, help="calls per second the sandbox allows")
    command.add_argument("--resync-variants", type=int, default=10_000, help="variants in the unchanged re-sync")
    command.add_argument("--repeats", type=int, default=3, help="re-syncs timed (the median is reported)")
    command.add_argument("--changes", type=int, default=20, help="stock changes timed")
    command.add_argument("--only", choices=("all", "resync"), default="all", help="resync: the unchanged re-sync alone")
    command.add_argument("--json", action="store_true")
    command.set_defaults(handler=cmd_bench_sync)
