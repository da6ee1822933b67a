"""`nfsync bench fleet`: a fleet of shops on this machine, as deployed - the API, the scheduler and ``--workers``
worker processes (separate processes), the five sandboxes in this process - under the periodic work of a SaaS
operator's fleet (issue #20).

Set-up, in a throw-away database: ``--orgs`` organizations, each a merchant with ``--variants`` variants and one
integration per platform; ``--shops`` shops spread over the organizations and the five platforms, each listing its
organization's variants after a first ``product_sync`` (run before the measurement: the fleet is measured in its
steady state). Every integration polls orders every ``--sync-interval`` minutes, the last polls spread over one
interval.

Load, for ``--minutes`` minutes: CRM stock changes at ``--stock-rate`` per second fleet-wide (an ``UPDATE
"StockLevel"`` of a random variant; each one timed until every shop of its organization shows the new quantity),
and signed order webhooks at ``--webhook-rate`` per second (a new sandbox order on a random shop, pushed to the
API, imported by an ``order_sync``).

Report: set-up time, scheduler tick p50/p99 (its ``scheduler.ticks`` lines), tasks/s by type, PostgreSQL commits/s
and, among them, writing transactions/s (read-only statements commit too), per task: both, and the rows written per
table; CPU seconds per shop-hour of PostgreSQL, RabbitMQ, the workers, the API and the scheduler (``/proc``),
stock-change latency p50/p95, queue depth over time, the periodic polls' lateness, and whether the two conditions
hold: stock p95 <= 5 s, and no task started later than its interval after it was due. ``--find-max`` runs growing
fleets (doubling up to ``--shops``, the stock and webhook rates scaled with the fleet) and reports the largest that
meets both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from nfsync.connectors.base.sandbox import SandboxBase, SbShop
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, generate_key_entry
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.runtime import engine_pool, runtime
from nfsync.workers.lab.bench_report import provenance
from nfsync.workers.lab.demo_data import DemoCatalog, seed_catalog
from nfsync.workers.lab.processes import free_port, service_env, spawn, stop_all
from nfsync.workers.lab.queries import QUERIES
from nfsync.workers.lab.sandbox_shops import connect_shop, create_integration
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
STOCK_P95_TARGET = 5.0
BASE, STEP = 1_000, 100  # a variant's k-th change sets it to BASE + STEP * k (TikTok Shop caps stock at 99,999)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROCESS_ENV = {
    "NFSYNC_LOG_FORMAT": "json",
    "NFSYNC_TICK_REPORT_SECONDS": "10",
    "NFSYNC_UPKEEP_INTERVAL": "0",
    "NFSYNC_DB_STARTUP_TIMEOUT": "60",
    "NFSYNC_AMQP_STARTUP_TIMEOUT": "60",
}


@dataclass(frozen=True)
class Options:
    shops: int
    orgs: int
    variants: int
    workers: int
    minutes: float
    stock_rate: float
    webhook_rate: float
    sync_interval: int


@dataclass
class FleetShop:
    platform: str
    sandbox: SandboxBase
    sb_shop: SbShop
    integration_id: uuid.UUID
    shop_id: uuid.UUID
    org: int  # index into Fleet.catalogs
    org_id: uuid.UUID


@dataclass
class Fleet:
    settings: Settings
    options: Options
    key: str
    pool: asyncpg.Pool
    logs: Path
    sandboxes: dict[str, SandboxBase] = field(default_factory=dict)
    catalogs: list[DemoCatalog] = field(default_factory=list)
    shops: list[FleetShop] = field(default_factory=list)
    shops_of_org: dict[int, list[FleetShop]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    unfinished_changes: int = 0
    pushes_sent: int = 0
    push_failures: int = 0
    queue: list[dict[str, Any]] = field(default_factory=list)
    tick_log_offset: int = 0  # where the scheduler's log stood when the measurement began
    setup_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DbCounters:
    """PostgreSQL's own counters at one moment: commits (every transaction, read-only ones included), the next
    transaction id (only writing transactions take one) and the rows written per table."""

    commits: int
    xid: int
    writes: dict[str, int]

    @classmethod
    async def read(cls, pool: asyncpg.Pool) -> DbCounters:
        rows = await pool.fetch(QUERIES["fleet_table_writes"])
        return cls(
            int(await pool.fetchval(QUERIES["fleet_commits"])),
            int(await pool.fetchval(QUERIES["fleet_xid"])),
            {r["name"]: int(r["writes"]) for r in rows},
        )

    def since(self, before: DbCounters, seconds: float, tasks: int) -> dict[str, Any]:
        commits, writing = self.commits - before.commits, self.xid - before.xid
        rows = {name: n - before.writes.get(name, 0) for name, n in self.writes.items()}
        busiest = sorted(((n, name) for name, n in rows.items() if n > 0), reverse=True)[:8]
        return {
            "commits_per_s": round(commits / seconds, 1),
            "writing_transactions_per_s": round(writing / seconds, 1),
            "commits_per_task": round(commits / tasks, 1) if tasks else None,
            "writing_transactions_per_task": round(writing / tasks, 1) if tasks else None,
            "rows_written_per_task": {name: round(n / tasks, 2) for n, name in busiest} if tasks else {},
        }


# ------------------------------------------------------------------------------------------------ set-up


async def _seed(fleet: Fleet) -> None:
    keyring = Keyring.parse(fleet.key)
    options = fleet.options
    for platform in PLATFORM_PACKAGES:
        spec = load_sandbox(platform)
        sandbox = spec.sandbox(dict(spec.sample_app), webhook_retry_scale=0.01, seed=3)
        await sandbox.start()
        fleet.sandboxes[platform] = sandbox
    platforms = list(PLATFORM_PACKAGES)
    for org_index in range(options.orgs):
        org = await fleet.pool.fetchval(
            "INSERT INTO organizations (name) VALUES ($1) RETURNING id", f"fleet {org_index}"
        )
        async with fleet.pool.acquire() as conn:
            catalog = await seed_catalog(
                conn, organization_id=org, variants=options.variants, name=f"Fleet {org_index}"
            )
        fleet.catalogs.append(catalog)
        integrations: dict[str, uuid.UUID] = {}
        count = options.shops // options.orgs + (1 if org_index < options.shops % options.orgs else 0)
        for number in range(count):
            platform = platforms[(org_index + number) % len(platforms)]
            sandbox = fleet.sandboxes[platform]
            if platform not in integrations:
                async with fleet.pool.acquire() as conn:
                    integrations[platform] = await create_integration(
                        conn, keyring, org, sandbox, name=f"{platform} fleet {org_index}"
                    )
            connected = await connect_shop(
                fleet.pool,
                keyring,
                org,
                integrations[platform],
                sandbox,
                platform_shop_id=str(5_000_000 + len(fleet.shops)),
                channel_id=catalog.sale_channel_id,
            )
            shop = FleetShop(
                platform, sandbox, connected.sb_shop, connected.integration_id, connected.shop_id, org_index, org
            )
            fleet.shops.append(shop)
            fleet.shops_of_org.setdefault(org_index, []).append(shop)
        await fleet.pool.execute(QUERIES["fleet_intervals"], org, options.sync_interval)
    await fleet.pool.execute("DELETE FROM crm_change_events")  # the seed's own rows
    await fleet.pool.execute("ANALYZE")


async def _push_all(fleet: Fleet, seconds: float = 1800.0) -> None:
    """Every shop's first push (``product_sync``), through the running workers: the fleet starts listed."""
    async with runtime(fleet.settings, "nfsync-fleet-driver", broker="optional", pool_size=2) as rt:
        for shop in fleet.shops:
            await rt.service.enqueue(
                EnqueueRequest(
                    organization_id=shop.org_id,
                    integration_id=shop.integration_id,
                    shop_id=shop.shop_id,
                    task_type="product_sync",
                    direction="crm_to_marketplace",
                )
            )
    deadline = time.monotonic() + seconds
    while await fleet.pool.fetchval(QUERIES["fleet_pushes_left"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the fleet's first pushes did not finish in {seconds:.0f} s")
        await asyncio.sleep(1.0)
    await fleet.pool.execute("DELETE FROM crm_change_events")


def _spawn(fleet: Fleet, name: str, *args: str) -> None:
    env = service_env(fleet.settings, fleet.key, PROCESS_ENV)
    spawn(fleet.processes, fleet.logs, env, name, *args)


def _stop_all(fleet: Fleet) -> None:
    stop_all(fleet.processes)


# ------------------------------------------------------------------------------------------------ load


async def _stock_changes(fleet: Fleet, until: float) -> None:
    """``--stock-rate`` changes a second, each timed until every shop of the organization shows it."""
    rng = random.Random(5)  # noqa: S311 - load, not cryptography
    interval = 1.0 / fleet.options.stock_rate
    waits: set[asyncio.Task[None]] = set()
    next_at = time.monotonic()
    changes: dict[str, int] = {}
    while time.monotonic() < until:
        org = rng.randrange(len(fleet.catalogs))
        catalog = fleet.catalogs[org]
        variant = rng.choice(catalog.variant_ids)
        changes[variant] = changes.get(variant, 0) + 1
        quantity = BASE + STEP * changes[variant]  # above any earlier value of this variant
        started = time.monotonic()
        await fleet.pool.execute(QUERIES["fleet_stock_set"], variant, quantity)
        job = asyncio.create_task(_until_shown(fleet, org, catalog.skus[variant], quantity, started))
        waits.add(job)
        job.add_done_callback(waits.discard)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    if waits:
        await asyncio.wait(waits, timeout=60)
    fleet.unfinished_changes += sum(1 for job in waits if not job.done())
    for job in waits:
        job.cancel()


async def _until_shown(fleet: Fleet, org: int, sku: str, quantity: int, started: float) -> None:
    shops = fleet.shops_of_org.get(org, [])
    while True:
        if all(_stock_of(shop, sku) > quantity - STEP // 2 for shop in shops):  # orders may reserve a few meanwhile
            fleet.latencies.append(time.monotonic() - started)
            return
        await asyncio.sleep(0.02)


def _stock_of(shop: FleetShop, sku: str) -> int:
    found = shop.sandbox.find_variant(shop.sb_shop, sku)
    return found[1].stock if found else -1


async def _webhooks(fleet: Fleet, until: float, api_url: str) -> None:
    """``--webhook-rate`` new orders a second, each pushed signed to its integration's webhook URL."""
    rng = random.Random(9)  # noqa: S311 - load, not cryptography
    interval = 1.0 / fleet.options.webhook_rate
    next_at = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        sending: set[asyncio.Task[None]] = set()
        while time.monotonic() < until:
            shop = rng.choice(fleet.shops)
            catalog = fleet.catalogs[shop.org]
            sku = catalog.skus[rng.choice(catalog.variant_ids)]
            order = shop.sandbox.add_order(
                shop.sb_shop, [{"sku": sku, "quantity": 1}], status=shop.sandbox.initial_order_status()
            )
            url = f"{api_url}/webhooks/{shop.platform}/{shop.integration_id}"
            shop.sandbox.webhook_url = url  # Shopee signs the address too: each integration has its own
            headers, body, _ = shop.sandbox.signed_push(shop.sb_shop, {"kind": "order_status_changed", "order": order})
            job = asyncio.create_task(_post(fleet, http, url, headers, body))
            sending.add(job)
            job.add_done_callback(sending.discard)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if sending:
            await asyncio.wait(sending, timeout=15)


async def _post(fleet: Fleet, http: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes) -> None:
    fleet.pushes_sent += 1
    try:
        async with http.post(url, data=body, headers=headers) as response:
            if response.status >= 300:
                fleet.push_failures += 1
    except (aiohttp.ClientError, TimeoutError):
        fleet.push_failures += 1


async def _sample_queue(fleet: Fleet, until: float, every: float = 5.0) -> None:
    started = time.monotonic()
    while time.monotonic() < until:
        row = await fleet.pool.fetchrow(QUERIES["fleet_queue"])
        assert row is not None
        fleet.queue.append(
            {"at_s": round(time.monotonic() - started, 1), "pending": row["pending"], "processing": row["running"]}
        )
        await asyncio.sleep(every)


# ------------------------------------------------------------------------------------------------ measures


def _cpu_seconds(pid: int) -> float:
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(parts[11]) + int(parts[12])) / CLOCK_TICKS  # utime + stime


SERVICE_ROLES = {"postgres": "postgresql", "postmaster": "postgresql", "beam.smp": "rabbitmq"}


def _service_pids() -> dict[int, str]:
    """PostgreSQL's and RabbitMQ's processes on this machine, by their command names."""
    pids = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                role = SERVICE_ROLES.get((entry / "comm").read_text().strip())
                if role is not None:
                    pids[int(entry.name)] = role
    return pids


class CpuMeter:
    """CPU seconds per role, summed over processes as they come and go (sampled every second)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}

    def _roles(self) -> dict[int, str]:
        roles = _service_pids()
        for name, process in self.fleet.processes.items():
            roles[process.pid] = "workers" if name.startswith("worker") else name
        roles[os.getpid()] = "load generator and sandboxes"
        return roles

    def sample(self) -> None:
        for pid, role in self._roles().items():
            used = _cpu_seconds(pid)
            self.first.setdefault(pid, used)
            self.last[pid] = (role, used)

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, (role, used) in self.last.items():
            out[role] = out.get(role, 0.0) + used - self.first.get(pid, used)
        return out

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            self.sample()
            await asyncio.sleep(1.0)
        self.sample()


def _ticks(fleet: Fleet) -> dict[str, Any]:
    """The scheduler's ``scheduler.ticks`` lines of the measurement: ticks, the median of their p50s, the largest p99
    (each line covers ``NFSYNC_TICK_REPORT_SECONDS``, 10 s here)."""
    with (fleet.logs / "scheduler.log").open("rb") as raw:
        raw.seek(fleet.tick_log_offset)
        lines = raw.read().decode(errors="replace").splitlines()
    reports = []
    for line in lines:
        if '"scheduler.ticks"' in line:
            with contextlib.suppress(ValueError):
                reports.append(json.loads(line))
    if not reports:
        return {"reports": 0}
    return {
        "reports": len(reports),
        "ticks": sum(int(r["ticks"]) for r in reports),
        "p50_ms": statistics.median(float(r["p50_ms"]) for r in reports),
        "p99_ms": max(float(r["p99_ms"]) for r in reports),
        "max_ms": max(float(r["max_ms"]) for r in reports),
    }


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))], 3)


async def _report(
    fleet: Fleet, window: tuple[float, float], database: tuple[DbCounters, DbCounters], cpu: dict[str, float]
) -> dict[str, Any]:
    seconds = window[1] - window[0]
    by_type = {r["task_type"]: r["tasks"] for r in await fleet.pool.fetch(QUERIES["fleet_tasks"], seconds)}
    db = database[1].since(database[0], seconds, sum(by_type.values()))
    lateness = {
        r["task_type"]: round(float(r["late_s"]), 1) for r in await fleet.pool.fetch(QUERIES["fleet_lateness"], seconds)
    }
    shop_hours = fleet.options.shops * seconds / 3600
    p95 = _percentile(fleet.latencies, 0.95)
    interval_s = fleet.options.sync_interval * 60
    behind = float(await fleet.pool.fetchval(QUERIES["fleet_polls_behind"]))
    overdue = max(lateness.values(), default=0.0) > interval_s or behind > interval_s
    return {
        "scenario": "fleet",
        "shops": fleet.options.shops,
        "organizations": fleet.options.orgs,
        "workers": fleet.options.workers,
        "seconds": round(seconds, 1),
        "setup_seconds": fleet.setup_seconds,
        "stock_rate_per_s": fleet.options.stock_rate,
        "webhook_rate_per_s": fleet.options.webhook_rate,
        "sync_interval_min": fleet.options.sync_interval,
        "scheduler_ticks": _ticks(fleet),
        "tasks_per_s": {k: round(v / seconds, 2) for k, v in sorted(by_type.items())},
        **db,
        "cpu_seconds_per_shop_hour": {k: round(v / shop_hours, 4) for k, v in sorted(cpu.items())},
        "cpu_seconds": {k: round(v, 1) for k, v in sorted(cpu.items())},
        "stock_changes": len(fleet.latencies) + fleet.unfinished_changes,
        "stock_unfinished": fleet.unfinished_changes,
        "stock_latency_p50_s": _percentile(fleet.latencies, 0.5),
        "stock_latency_p95_s": p95,
        "webhooks_sent": fleet.pushes_sent,
        "webhook_failures": fleet.push_failures,
        "queue_depth": fleet.queue,
        "start_lateness_max_s": lateness,
        "periodic_polls_behind_s": round(max(0.0, behind), 1),
        "meets": {
            "stock_p95_le_5s": p95 is not None and p95 <= STOCK_P95_TARGET and fleet.unfinished_changes == 0,
            "no_task_overdue_by_its_interval": not overdue,
        },
    }


# ------------------------------------------------------------------------------------------------ run


async def run_fleet(settings: Settings, options: Options) -> dict[str, Any]:
    name = settings.database_name + "_fleet"
    port = free_port()
    key = generate_key_entry("fleet")
    api_url = f"http://127.0.0.1:{port}"
    fleet_settings = settings.with_local_sandboxes().model_copy(
        update={"database_url": settings.database_url_for(name), "secret_keys": Secret(key), "public_base_url": api_url}
    )
    await drop_database(settings, name)
    await init_database(fleet_settings)
    logs = Path(tempfile.mkdtemp(prefix="nfsync-fleet-"))
    pool = await engine_pool(fleet_settings, "nfsync-fleet", max_size=8)
    fleet = Fleet(fleet_settings, options, key, pool, logs)
    try:
        started = time.monotonic()
        await _seed(fleet)
        fleet.setup_seconds["seed"] = round(time.monotonic() - started, 1)
        _spawn(fleet, "api", "api", "--port", str(port))
        _spawn(fleet, "scheduler", "scheduler")
        for number in range(options.workers):
            _spawn(fleet, f"worker-{number}", "worker", "--platform", "all")
        await _until_api(api_url)
        started = time.monotonic()
        await _push_all(fleet)
        fleet.setup_seconds["first_pushes"] = round(time.monotonic() - started, 1)
        return await _measure(fleet, api_url)
    finally:
        _stop_all(fleet)
        for sandbox in fleet.sandboxes.values():
            await sandbox.stop()
        await pool.close()
        await drop_database(settings, name)


async def _measure(fleet: Fleet, api_url: str) -> dict[str, Any]:
    meter = CpuMeter(fleet)
    meter.sample()
    fleet.tick_log_offset = (fleet.logs / "scheduler.log").stat().st_size
    before = await DbCounters.read(fleet.pool)
    start = time.monotonic()
    until = start + fleet.options.minutes * 60
    await asyncio.gather(
        _stock_changes(fleet, until),
        _webhooks(fleet, until, api_url),
        _sample_queue(fleet, until),
        meter.run(until),
    )
    end = time.monotonic()
    after = await DbCounters.read(fleet.pool)
    return await _report(fleet, (start, end), (before, after), meter.totals())


async def _until_api(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError("the API did not start")


async def find_max(settings: Settings, options: Options) -> dict[str, Any]:
    """Growing fleets until one fails a condition: the largest that met both, and every run's figures. The sizes
    double from 1/64 of ``--shops`` (at least 10) up to ``--shops``; between the last fleet that met both and the
    first that did not, one more run halves the gap. The load grows with the fleet: a fleet of 1/8 of ``--shops``
    gets 1/8 of the stock and webhook rates (the same activity per shop), so the search finds how many such shops
    the machine serves."""
    runs: list[dict[str, Any]] = []
    best, failed = 0, None
    for shops in _doubling(options.shops):
        if not await _run_sized(settings, options, shops, runs):
            failed = shops
            break
        best = shops
    if failed is not None and best and failed - best > 1:
        middle = (best + failed) // 2
        if await _run_sized(settings, options, middle, runs):
            best = middle
    return {"scenario": "fleet-find-max", "largest_meeting_both": best, "first_failing": failed, "runs": runs}


def _doubling(shops: int) -> list[int]:
    sizes, size = [], max(10, shops // 64)
    while size <= shops // 2:
        sizes.append(size)
        size *= 2
    return [*sizes, shops]


async def _run_sized(settings: Settings, options: Options, shops: int, runs: list[dict[str, Any]]) -> bool:
    """One fleet of ``shops`` with the load scaled to it; whether it met both conditions."""
    part = shops / options.shops
    sized = Options(
        **{
            **options.__dict__,
            "shops": shops,
            "orgs": max(1, round(options.orgs * part)),
            "stock_rate": options.stock_rate * part,
            "webhook_rate": options.webhook_rate * part,
        }
    )
    result = await run_fleet(settings, sized)
    runs.append(result)
    log.info("fleet.find_max_run", shops=shops, meets=result["meets"])
    return all(result["meets"].values())


def _options(args: argparse.Namespace) -> Options:
    orgs = args.orgs or max(1, args.shops // 10)
    if args.shops < 1 or orgs > args.shops:
        raise SystemExit("nfsync bench fleet: --shops must be >= 1 and >= --orgs")
    return Options(
        args.shops,
        orgs,
        args.variants,
        args.workers,
        args.minutes,
        args.stock_rate,
        args.webhook_rate,
        args.sync_interval,
    )


async def cmd_bench_fleet(settings: Settings, args: argparse.Namespace) -> int:
    options = _options(args)
    result = await (find_max(settings, options) if args.find_max else run_fleet(settings, options))
    if args.save is not None:
        _save(args.save, result)
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    return 0


def add_commands(bench: Any) -> None:
    command = bench.add_parser("fleet", help="a fleet of shops under periodic load: per-shop costs and the limit")
    command.add_argument("--shops", type=int, default=10_000)
    command.add_argument("--orgs", type=int, default=None, help="organizations (default: shops / 10)")
    command.add_argument("--variants", type=int, default=8, help="variants per organization")
    command.add_argument("--workers", type=int, default=2, help="worker processes (each serves every platform)")
    command.add_argument("--minutes", type=float, default=10.0)
    command.add_argument("--stock-rate", type=float, default=50.0, help="CRM stock changes per second, fleet-wide")
    command.add_argument("--webhook-rate", type=float, default=200.0, help="order webhooks per second, fleet-wide")
    command.add_argument("--sync-interval", type=int, default=5, help="minutes between order polls of each shop")
    command.add_argument("--find-max", action="store_true", help="grow the fleet until a condition fails")
    command.add_argument(
        "--save", type=Path, default=None, help="also write the result, with its command, as JSON here"
    )
    command.add_argument("--json", action="store_true")
    command.set_defaults(handler=cmd_bench_fleet)


def _save(path: Path, result: dict[str, Any]) -> None:
    """The result with what produced it (``make bench`` copies such records into BENCHMARKS.md)."""
    argv = [a for a in sys.argv[1:] if a != "--json"]
    if "--save" in argv:
        at = argv.index("--save")
        del argv[at : at + 2]
    record = {
        "command": shlex.join(["nfsync", *argv]),
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": provenance(),
        "result": result,
    }
    path.write_text(json.dumps(record, indent=1) + "\n")
