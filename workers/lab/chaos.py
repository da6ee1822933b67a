"""`nfsync chaos` (`make chaos`): the whole service under the faults production brings, then the checks.

Two worker processes per platform, the scheduler and the API (separate processes, as deployed) run against the four
sandboxes (in this process) injecting 10 % 5xx, 5 % timeouts (a sandbox that answers after the client's read
timeout), throttle bursts and lost responses to successful writes. Tasks mixing product, inventory and order syncs
are enqueued while sandbox orders arrive by webhook. During the run one worker is SIGKILLed twice, RabbitMQ is
stopped and started (``rabbitmqctl stop_app`` / ``start_app``) and PostgreSQL restarted with ``-m immediate``.
Then the faults stop, every task must reach a terminal state, one catch-up round of syncs runs (what the periodic
schedule does), and the checks: no task completed twice (an audit trigger records every transition to
``completed``), no duplicate listing in any sandbox, no duplicate CRM order and every placed order imported,
``reconcile`` finds no difference in any shop, no secret in any captured log. One summary line; exit 1 on a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from nfsync.connectors.base.sandbox import SandboxBase
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, generate_key_entry
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.models import EnqueueRequest
from nfsync.workers.engine.runtime import engine_pool, runtime
from nfsync.workers.engine.service import TaskService
from nfsync.workers.lab.demo_data import DemoCatalog, seed_catalog
from nfsync.workers.lab.processes import free_port, service_env, spawn, stop_all
from nfsync.workers.lab.queries import QUERIES
from nfsync.workers.lab.sandbox_shops import PUBLIC_IDS, ConnectedShop, connect_shop, create_integration
from nfsync.workers.logs import get_logger
from nfsync.workers.sync.reconcile import reconcile_shop
from nfsync.workers.sync.session import open_resources, open_shop_by_id

log = get_logger(__name__)
READ_TIMEOUT = 2.0
MIX = (
    ("product_sync", "crm_to_marketplace", 4),
    ("inventory_sync", "crm_to_marketplace", 3),
    ("order_sync", "marketplace_to_crm", 3),
)
PROCESS_ENV = {
    "NFSYNC_LEASE_SECONDS": "6",
    "NFSYNC_MARKETPLACE_READ_TIMEOUT": str(READ_TIMEOUT),
    "NFSYNC_RETRY_BASE_SECONDS": "0.5",
    "NFSYNC_RETRY_MAX_SECONDS": "4",
    "NFSYNC_REDISPATCH_AFTER": "2",
    "NFSYNC_SHUTDOWN_GRACE": "3",
    "NFSYNC_IDLE_POLL_SECONDS": "1",
    "NFSYNC_LOG_FORMAT": "json",
    "NFSYNC_DB_STARTUP_TIMEOUT": "60",
    "NFSYNC_AMQP_STARTUP_TIMEOUT": "60",
}


@dataclass
class Options:
    tasks: int
    shops: int  # per platform
    variants: int
    orders: int  # per shop
    window: float  # seconds the faults last
    restart_postgres: bool
    restart_rabbitmq: bool


@dataclass
class Chaos:
    settings: Settings
    options: Options
    logs: Path
    key: str
    pool: asyncpg.Pool
    sandboxes: dict[str, SandboxBase] = field(default_factory=dict)
    shops: list[ConnectedShop] = field(default_factory=list)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    catalog: DemoCatalog | None = None
    placed: list[tuple[str, str, str]] = field(default_factory=list)  # (platform, platform shop id, order id)
    events: list[str] = field(default_factory=list)
    org: uuid.UUID | None = None


# ------------------------------------------------------------------------------------------------ set-up


def _faults(sandbox: SandboxBase, on: bool) -> None:
    sandbox.faults.error_rate = 0.10 if on else 0.0
    sandbox.faults.timeout_rate = 0.05 if on else 0.0
    sandbox.faults.timeout_seconds = READ_TIMEOUT + 1.0
    sandbox.faults.lost_write_rate = 0.05 if on else 0.0
    # A short run makes few writes: at 5 % none may be lost, so the first write after faults go on always is.
    sandbox.faults.lose_next_writes = 1 if on else 0
    sandbox.faults.throttle_until = 0.0


async def _seed(chaos: Chaos, api_url: str) -> None:
    keyring = Keyring.parse(chaos.key)
    org = chaos.org = await chaos.pool.fetchval("INSERT INTO organizations (name) VALUES ('chaos') RETURNING id")
    async with chaos.pool.acquire() as conn:
        chaos.catalog = await seed_catalog(conn, organization_id=org, variants=chaos.options.variants, name="Chaos")
    for platform in PLATFORM_PACKAGES:
        spec = load_sandbox(platform)
        sandbox = spec.sandbox(dict(spec.sample_app), rate_limit=500.0, webhook_retry_scale=0.01, seed=7)
        await sandbox.start()
        chaos.sandboxes[platform] = sandbox
        async with chaos.pool.acquire() as conn:
            integration = await create_integration(
                conn, keyring, org, sandbox, name=f"{platform} chaos", rate_limit=200
            )
        sandbox.webhook_url = f"{api_url}/webhooks/{platform}/{integration}"
        for number in range(chaos.options.shops):
            chaos.shops.append(
                await connect_shop(
                    chaos.pool,
                    keyring,
                    org,
                    integration,
                    sandbox,
                    platform_shop_id=str(910000 + number),
                    channel_id=chaos.catalog.sale_channel_id,
                )
            )
    for part in ("chaos_audit_table", "chaos_audit_function", "chaos_audit_trigger"):
        await chaos.pool.execute(QUERIES[part])


def _spawn(chaos: Chaos, name: str, *args: str) -> None:
    env = service_env(chaos.settings, chaos.key, PROCESS_ENV)
    spawn(chaos.processes, chaos.logs, env, name, *args)


def _start_all(chaos: Chaos, port: int) -> None:
    _spawn(chaos, "api", "api", "--port", str(port))
    _spawn(chaos, "scheduler", "scheduler")
    for platform in PLATFORM_PACKAGES:
        for replica in (1, 2):
            _spawn(chaos, f"worker-{platform}-{replica}", "worker", "--platform", platform)


def _stop_all(chaos: Chaos) -> None:
    stop_all(chaos.processes)


# ------------------------------------------------------------------------------------------------ load and faults


async def _enqueue_load(chaos: Chaos, service: TaskService) -> None:
    rng = random.Random(11)  # noqa: S311 - load mix, not cryptography
    weights = [w for _, _, w in MIX]
    deadline = time.monotonic() + chaos.options.window * 0.6
    for index in range(chaos.options.tasks):
        shop = chaos.shops[index % len(chaos.shops)]
        task_type, direction, _ = rng.choices(MIX, weights)[0]
        request = EnqueueRequest(
            organization_id=chaos.org,
            integration_id=shop.integration_id,
            shop_id=shop.shop_id,
            task_type=task_type,
            direction=direction,
            max_retries=20,
            filter_criteria={"force": True} if task_type == "inventory_sync" and index % 5 == 0 else None,
        )
        await _retrying(functools.partial(service.enqueue, request), "enqueue")
        await asyncio.sleep(max(0.0, (deadline - time.monotonic()) / max(1, chaos.options.tasks - index)))


async def _retrying(call: Callable[[], Awaitable[Any]], what: str, seconds: float = 90.0) -> Any:
    """The driver outlives the faults it causes: PostgreSQL restarts under it too."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await call()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: still failing after {seconds} s: {exc}") from exc
            await asyncio.sleep(0.5)


async def _place_orders(chaos: Chaos) -> None:
    assert chaos.catalog is not None
    skus = list(chaos.catalog.skus.values())
    for round_number in range(chaos.options.orders):
        for shop in chaos.shops:
            sandbox = chaos.sandboxes[shop.platform]
            order = sandbox.add_order(
                shop.sb_shop,
                [{"sku": skus[(round_number * 7) % len(skus)], "quantity": 1}],
                status=sandbox.initial_order_status(),
            )
            sandbox.push(shop.sb_shop, {"kind": "order_status_changed", "order": order})
            chaos.placed.append((shop.platform, shop.sb_shop.shop_id, order.order_id))
        await asyncio.sleep(chaos.options.window / max(1, chaos.options.orders) / 2)


async def _throttle_bursts(chaos: Chaos) -> None:
    end = time.monotonic() + chaos.options.window
    while time.monotonic() < end:
        await asyncio.sleep(chaos.options.window / 6)
        for sandbox in chaos.sandboxes.values():
            sandbox.faults.throttle_until = time.time() + 1.0
        chaos.events.append("throttle burst")


async def _kill_worker(chaos: Chaos, at: float, name: str) -> None:
    await asyncio.sleep(at)
    chaos.processes[name].kill()
    chaos.processes[name].wait()
    chaos.events.append(f"SIGKILL {name}")
    await asyncio.sleep(1.0)
    platform = name.split("-")[1]
    _spawn(chaos, name, "worker", "--platform", platform)


async def _run(command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    await asyncio.wait_for(process.wait(), 120)


async def _bounce_rabbitmq(chaos: Chaos, at: float) -> None:
    await asyncio.sleep(at)
    await _run(["rabbitmqctl", "stop_app"])
    chaos.events.append("rabbitmq stop_app")
    await asyncio.sleep(3.0)
    await _run(["rabbitmqctl", "start_app"])
    await _run(["rabbitmqctl", "await_startup"])
    chaos.events.append("rabbitmq start_app")


async def _restart_postgres(chaos: Chaos, at: float) -> None:
    await asyncio.sleep(at)
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    await _run(["pg_ctlcluster", "--skip-systemctl-redirect", "-m", "immediate", version, "main", "restart"])
    chaos.events.append("postgresql restart -m immediate")


async def _faults_window(chaos: Chaos, service: TaskService) -> None:
    window = chaos.options.window
    jobs: list[Awaitable[None]] = [
        _enqueue_load(chaos, service),
        _place_orders(chaos),
        _throttle_bursts(chaos),
        _kill_worker(chaos, window * 0.15, "worker-shopee-1"),
        _kill_worker(chaos, window * 0.45, "worker-shopee-1"),
    ]
    if chaos.options.restart_rabbitmq:
        jobs.append(_bounce_rabbitmq(chaos, window * 0.3))
    if chaos.options.restart_postgres:
        jobs.append(_restart_postgres(chaos, window * 0.6))
    await asyncio.gather(*jobs)


# ------------------------------------------------------------------------------------------------ drain and checks


async def _drained(chaos: Chaos, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        busy = await _retrying(lambda: chaos.pool.fetchval(QUERIES["chaos_unfinished"]), "drain")
        if busy == 0:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"tasks still pending or running {seconds} s after the faults stopped")


async def _catch_up(chaos: Chaos, service: TaskService) -> None:
    """One clean round per shop, as the periodic schedule would run it."""
    for shop in chaos.shops:
        for task_type, direction, _ in MIX:
            await service.enqueue(
                EnqueueRequest(
                    organization_id=chaos.org,
                    integration_id=shop.integration_id,
                    shop_id=shop.shop_id,
                    task_type=task_type,
                    direction=direction,
                    max_retries=20,
                )
            )


async def _differences(chaos: Chaos) -> int:
    total = 0
    async with open_resources(chaos.settings, chaos.pool) as res:
        for shop in chaos.shops:
            session = await open_shop_by_id(res, shop.shop_id)
            diffs, _ = await reconcile_shop(session)
            for diff in diffs:
                log.warning("chaos.difference", platform=shop.platform, kind=diff.kind, entity=diff.entity_id)
            total += len(diffs)
    return total


def _secrets(chaos: Chaos) -> list[str]:
    values = [chaos.key.split(":", 1)[1]]
    for platform, sandbox in chaos.sandboxes.items():
        values += [v for k, v in load_sandbox(platform).sample_app.items() if k not in PUBLIC_IDS]
        if sandbox.webhook_secret:
            values.append(sandbox.webhook_secret)
        for shop in sandbox.shops.values():
            values += list(shop.access) + list(shop.refresh)
    return [v for v in values if len(v) >= 8]


def _leaks(chaos: Chaos) -> int:
    secrets = _secrets(chaos)
    found = 0
    for path in chaos.logs.glob("*.log"):
        text = path.read_text(errors="replace")
        found += sum(1 for value in secrets if value in text)
    return found


async def _checks(chaos: Chaos) -> dict[str, Any]:
    row = await chaos.pool.fetchrow(QUERIES["chaos_counts"])
    assert row is not None
    placed = {(p, s, o) for p, s, o in chaos.placed}
    imported = await chaos.pool.fetch(
        QUERIES["chaos_orders"], [p for p, _, _ in placed], [s for _, s, _ in placed], [o for _, _, o in placed]
    )
    return {
        "tasks": row["tasks"],
        "completed": row["completed"],
        "failed": row["failed"],
        "cancelled": row["cancelled"],
        "unfinished": row["unfinished"],
        "completed_twice": row["completed_twice"],
        "duplicate_listings": sum(s.duplicate_listings() for s in chaos.sandboxes.values()),
        "orders_placed": len(placed),
        "orders_imported": sum(1 for r in imported if r["copies"] >= 1),
        "duplicate_orders": sum(1 for r in imported if r["copies"] > 1) + row["duplicate_orders"],
        "reconcile_differences": await _differences(chaos),
        "secrets_in_logs": _leaks(chaos),
        "injected_5xx_and_timeouts": sum(s.counters.injected_errors for s in chaos.sandboxes.values()),
        "lost_write_responses": sum(s.counters.lost_writes for s in chaos.sandboxes.values()),
        "throttled_responses": sum(s.counters.throttled for s in chaos.sandboxes.values()),
    }


def passed(result: dict[str, Any]) -> bool:
    zero = (
        "unfinished",
        "completed_twice",
        "duplicate_listings",
        "duplicate_orders",
        "reconcile_differences",
        "secrets_in_logs",
    )
    return all(result[k] == 0 for k in zero) and result["orders_imported"] == result["orders_placed"]


def summary_line(result: dict[str, Any], events: list[str]) -> str:
    verdict = "PASS" if passed(result) else "FAIL"
    counts = " ".join(f"{k}={v}" for k, v in result.items() if k not in ("seconds", "log_dir"))
    faults = ", ".join(sorted(set(events)))
    return f"chaos {verdict}: {counts} seconds={result.get('seconds')} faults=[{faults}]"


# ------------------------------------------------------------------------------------------------ the run


async def run_chaos(settings: Settings, options: Options) -> tuple[dict[str, Any], list[str]]:
    name = settings.database_name + "_chaos"
    port = free_port()
    key = generate_key_entry("chaos")
    chaos_settings = settings.with_local_sandboxes().model_copy(
        update={
            "database_url": settings.database_url_for(name),
            "secret_keys": Secret(key),
            "public_base_url": f"http://127.0.0.1:{port}",
        }
    )
    await drop_database(settings, name)
    await init_database(chaos_settings)
    logs = Path(tempfile.mkdtemp(prefix="nfsync-chaos-"))
    started = time.monotonic()
    pool = await engine_pool(chaos_settings, "nfsync-chaos", max_size=6)
    chaos = Chaos(chaos_settings, options, logs, key, pool)
    try:
        await _seed(chaos, chaos_settings.public_base_url)
        for sandbox in chaos.sandboxes.values():
            _faults(sandbox, True)
        _start_all(chaos, port)
        async with runtime(chaos_settings, "nfsync-chaos-driver", broker="optional", pool_size=2) as rt:
            await _faults_window(chaos, rt.service)
            for sandbox in chaos.sandboxes.values():
                _faults(sandbox, False)
            await _drained(chaos, 300)
            await _catch_up(chaos, rt.service)
            await _drained(chaos, 300)
            for sandbox in chaos.sandboxes.values():
                await sandbox.drain_pushes(30)
            await _drained(chaos, 120)
        result = await _checks(chaos)
    finally:
        _stop_all(chaos)
        for sandbox in chaos.sandboxes.values():
            with contextlib.suppress(Exception):
                await sandbox.stop()
        await pool.close()
        await drop_database(settings, name)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["log_dir"] = str(logs)
    return result, chaos.events


QUICK = Options(tasks=200, shops=1, variants=40, orders=3, window=20.0, restart_postgres=True, restart_rabbitmq=True)
FULL = Options(tasks=2000, shops=2, variants=200, orders=10, window=90.0, restart_postgres=True, restart_rabbitmq=True)


async def cmd_chaos(settings: Settings, args: argparse.Namespace) -> int:
    base = QUICK if args.quick else FULL
    options = Options(
        tasks=args.tasks or base.tasks,
        shops=base.shops,
        variants=base.variants,
        orders=base.orders,
        window=args.window or base.window,
        restart_postgres=not args.no_postgres_restart,
        restart_rabbitmq=not args.no_rabbitmq_restart,
    )
    result, events = await run_chaos(settings, options)
    print(summary_line(result, events), flush=True)
    return 0 if passed(result) else 1


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chaos = sub.add_parser("chaos", help="the service under injected faults and crashes, then the invariants")
    chaos.add_argument("--quick", action="store_true", help="the reduced size CI runs")
    chaos.add_argument("--tasks", type=int, default=None, help="tasks enqueued during the faults")
    chaos.add_argument("--window", type=float, default=None, help="seconds the faults last")
    chaos.add_argument("--no-postgres-restart", action="store_true", help="skip the PostgreSQL restart")
    chaos.add_argument("--no-rabbitmq-restart", action="store_true", help="skip the RabbitMQ stop/start")
    chaos.set_defaults(handler=cmd_chaos)
