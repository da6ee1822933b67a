"""CLI commands of the task engine: enqueue, worker, scheduler, tasks list|show|retry|retry-many|cancel."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from nfsync.connectors.base.errors import ConfigError, NotFound, ValidationFailed
from nfsync.workers import ops_snapshot as ops
from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.events import EventPublisher
from nfsync.workers.engine.handlers import load_registry
from nfsync.workers.engine.models import DIRECTIONS, PLATFORMS, TASK_TYPES, EnqueueRequest
from nfsync.workers.engine.runtime import install_stop_signals, runtime
from nfsync.workers.engine.scheduler import Scheduler
from nfsync.workers.engine.subscribers import SubscriberDelivery
from nfsync.workers.engine.worker import Worker
from nfsync.workers.upkeep import upkeep_for

DEFAULT_HANDLERS = "nfsync.workers.sync:REGISTRY"


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _print_json(value: Any) -> None:
    print(json.dumps(value, default=_json_default, indent=2, sort_keys=True))


def _validation_message(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return "invalid request: " + "; ".join(parts)


def _parse_filter(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"--filter is not valid JSON: {exc}") from None


async def cmd_enqueue(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-enqueue", broker="optional", pool_size=2) as rt:
        org = args.org or await rt.pool.fetchval(QUERIES["integration_organization"], args.integration)
        if org is None:
            raise NotFound(f"integration {args.integration} not found")
        try:
            request = EnqueueRequest(
                organization_id=org,
                integration_id=args.integration,
                shop_id=args.shop,
                task_type=args.task_type,
                direction=args.direction,
                priority=args.priority,
                scheduled_at=args.scheduled_at,
                filter_criteria=_parse_filter(args.filter),
                idempotency_key=args.idempotency_key,
            )
        except ValidationError as exc:
            raise ValidationFailed(_validation_message(exc)) from None
        result = await rt.service.enqueue(request)
    _print_json(result.model_dump(mode="json"))
    return 0


def _platforms(values: list[str]) -> list[str]:
    chosen = [p for value in values for p in value.split(",") if p]
    if "all" in chosen:
        return list(PLATFORMS)
    unknown = sorted(set(chosen) - set(PLATFORMS))
    if unknown:
        raise ConfigError(f"unknown platform(s): {', '.join(unknown)} (choose from {', '.join(PLATFORMS)}, all)")
    return list(dict.fromkeys(chosen))


async def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    registry = load_registry(args.handlers)
    if not registry.task_types:
        raise ConfigError(f"no handlers registered in {args.handlers}; pass --handlers module:REGISTRY")
    platforms = _platforms(args.platform)
    pool_size = len(platforms) + 12  # claims, outcomes, heartbeats, and the handlers' short statements
    async with (
        runtime(settings, "nfsync-worker", pool_size=pool_size) as rt,
        registry.open_resources(settings, rt.pool) as resources,
    ):
        worker = Worker(
            settings,
            registry,
            platforms,
            pool=rt.pool,
            connection=rt.connection,
            concurrency=args.concurrency,
            resources=resources,
        )
        install_stop_signals(worker.request_stop)
        gc.collect()
        gc.freeze()  # what startup loaded lives as long as the process: full collections no longer rescan it
        await worker.run()
    return 0


async def cmd_scheduler(settings: Settings, _args: argparse.Namespace) -> int:
    async with (
        runtime(settings, "nfsync-scheduler", pool_size=4) as rt,
        upkeep_for(settings, rt.pool) as upkeep,
        SubscriberDelivery.from_settings(settings, rt.pool).running(),
    ):
        events = EventPublisher(settings, rt.pool, rt.connection) if rt.connection is not None else None
        scheduler = Scheduler(settings, rt.pool, rt.service, events, upkeep)
        install_stop_signals(scheduler.request_stop)
        try:
            await scheduler.run()
        finally:
            if events is not None:
                await events.close()
    return 0


async def cmd_tasks(settings: Settings, args: argparse.Namespace) -> int:
    broker: Literal["optional", "none"] = "optional" if args.tasks_command in ("retry", "retry-many") else "none"
    async with runtime(settings, "nfsync-tasks", broker=broker, pool_size=2) as rt:
        service = rt.service
        if args.tasks_command == "list":
            rows = await service.list(
                status=args.status,
                platform=args.platform,
                shop_id=args.shop,
                task_type=args.task_type,
                limit=args.limit,
                offset=args.offset,
            )
            _print_json(rows) if args.json else _print_table(rows)
        elif args.tasks_command == "show":
            _print_json(await service.get(args.id))
        elif args.tasks_command == "cancel":
            print(f"task {args.id}: {await service.cancel(args.id)}")
        elif args.tasks_command == "retry-many":
            ids = await service.retry_many(
                None,
                status=args.status,
                platform=args.platform,
                shop_id=args.shop,
                task_type=args.task_type,
                limit=args.limit,
            )
            print(f"{len(ids)} task(s) back to pending" + ("".join(f"\n{task_id}" for task_id in ids)))
        else:
            print(f"task {args.id}: {await service.retry(args.id)}")
    return 0


def _print_table(rows: list[dict[str, Any]]) -> None:
    columns = [
        "id",
        "platform",
        "task_type",
        "direction",
        "status",
        "priority",
        "progress",
        "retry_count",
        "scheduled_at",
        "error_message",
    ]
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c])[:80] for c in columns))


def timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    enqueue = sub.add_parser("enqueue", help="enqueue a sync task (coalesces into a pending one for the same shop)")
    enqueue.add_argument("--integration", type=uuid.UUID, required=True)
    enqueue.add_argument("--shop", type=uuid.UUID, default=None, help="marketplace_shops.id")
    enqueue.add_argument("--task-type", required=True, choices=TASK_TYPES)
    enqueue.add_argument("--direction", required=True, choices=DIRECTIONS)
    enqueue.add_argument("--priority", type=int, default=5, help="1-10, higher first (default 5)")
    enqueue.add_argument("--scheduled-at", type=timestamp, default=None, help="ISO 8601; default now")
    enqueue.add_argument("--filter", default=None, help="filter_criteria as JSON")
    enqueue.add_argument("--idempotency-key", default=None)
    enqueue.add_argument("--org", type=uuid.UUID, default=None, help="organization (default: the integration's)")
    enqueue.set_defaults(handler=cmd_enqueue)

    worker = sub.add_parser("worker", help="run a worker for one or more platforms")
    worker.add_argument("--platform", action="append", required=True, help="platform, comma list, or 'all'")
    worker.add_argument("--concurrency", type=int, default=None, help="tasks at once per platform")
    worker.add_argument("--handlers", default=DEFAULT_HANDLERS, help="handler registry module:attribute")
    worker.set_defaults(handler=cmd_worker)

    scheduler = sub.add_parser("scheduler", help="run the scheduler (several may run; one leads)")
    scheduler.set_defaults(handler=cmd_scheduler)

    tasks = sub.add_parser("tasks", help="inspect and operate tasks").add_subparsers(
        dest="tasks_command", required=True
    )
    listing = tasks.add_parser("list", help="list tasks, newest first")
    listing.add_argument("--status", choices=["pending", "processing", "completed", "failed", "cancelled"])
    listing.add_argument("--platform", choices=PLATFORMS)
    listing.add_argument("--shop", type=uuid.UUID)
    listing.add_argument("--task-type", choices=TASK_TYPES)
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--json", action="store_true", help="a JSON array of the tasks, every column")
    for name, text in (
        ("show", "one task in full"),
        ("retry", "retry a failed or cancelled task"),
        ("cancel", "cancel a pending or running task"),
    ):
        command = tasks.add_parser(name, help=text)
        command.add_argument("id", type=uuid.UUID)
        command.set_defaults(handler=cmd_tasks)
    listing.set_defaults(handler=cmd_tasks)
    many = tasks.add_parser("retry-many", help="retry the failed (or cancelled) tasks matching the filters")
    many.add_argument("--status", choices=["failed", "cancelled"], default="failed")
    many.add_argument("--platform", choices=PLATFORMS)
    many.add_argument("--shop", type=uuid.UUID)
    many.add_argument("--task-type", choices=TASK_TYPES)
    many.add_argument("--limit", type=int, default=500)
    many.set_defaults(handler=cmd_tasks)


_STATUS_COLUMNS = (
    ("platform", "platform"),
    ("ready", "broker.ready"),
    ("unacked", "broker.unacked"),
    ("consumers", "broker.consumers"),
    ("pending", "pending"),
    ("due", "due"),
    ("running", "processing"),
    ("failed", "failed"),
    ("oldest due s", "oldest_due_seconds"),
    ("done 5m", "completed_5m"),
    ("failed 5m", "failed_5m"),
    ("throttles", "throttled_calls"),
)


def _cell(row: dict[str, Any], path: str) -> str:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, float):
        return f"{value:.0f}"
    return "-" if value is None else str(value)


def render_status(data: dict[str, Any]) -> str:
    """The queue table, one line per dead-letter queue, and why a broker figure shows as "-"."""
    rows = [[title for title, _ in _STATUS_COLUMNS]]
    rows += [[_cell(p, path) for _, path in _STATUS_COLUMNS] for p in data["platforms"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    if not data["platforms"]:
        lines.append("(no platform)")
    lines += [_dead_letter_line(queue) for queue in data.get("dead_letters", [])]
    notes = dict.fromkeys(p["broker"]["note"] for p in data["platforms"] if (p.get("broker") or {}).get("note"))
    lines += [f"- in the broker columns: {note}" for note in notes]
    return "\n".join(lines)


def _dead_letter_line(queue: dict[str, Any]) -> str:
    ready = queue.get("ready")
    line = f"dead-letter queue ({queue['label']}, {queue['queue']}): {'-' if ready is None else ready} message(s)"
    return line if ready is not None or not queue.get("note") else f"{line}; {queue['note']}"


async def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-status", broker="optional", pool_size=2) as rt:
        while True:
            data = await ops.queues(settings, rt.pool, rt.connection, None)
            if args.json:
                print(json.dumps(data, default=_json_default))
            else:
                print(("\033[2J\033[H" if args.watch else "") + render_status(data), flush=True)
            if not args.watch:
                return 0
            await asyncio.sleep(args.interval)


def add_status_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = sub.add_parser("status", help="the queue table: broker queues and task counts per platform")
    status.add_argument("--watch", action="store_true", help="refresh until interrupted")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes with --watch")
    status.add_argument("--json", action="store_true", help="one JSON object (per refresh)")
    status.set_defaults(handler=cmd_status)
