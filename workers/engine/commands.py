"""CLI commands of the task engine: enqueue, worker, scheduler, tasks list|show|retry|cancel."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import ValidationError

from nfsync.connectors.base.errors import ConfigError, NotFound, ValidationFailed
from nfsync.workers import crm, ops
from nfsync.workers.api.app import api_runner, api_state
from nfsync.workers.api.auth import create_organization, create_token, list_tokens, parse_scopes, revoke_token
from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.handlers import load_registry
from nfsync.workers.engine.models import DIRECTIONS, PLATFORMS, TASK_TYPES, EnqueueRequest
from nfsync.workers.engine.runtime import install_stop_signals, runtime
from nfsync.workers.engine.scheduler import Scheduler
from nfsync.workers.engine.worker import Worker

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
                organization_id=org, integration_id=args.integration, shop_id=args.shop, task_type=args.task_type,
                direction=args.direction, priority=args.priority, scheduled_at=args.scheduled_at,
                filter_criteria=_parse_filter(args.filter), idempotency_key=args.idempotency_key,
            )  # fmt: skip
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
    async with runtime(settings, "nfsync-worker", pool_size=pool_size) as rt, \
            registry.open_resources(settings, rt.pool) as resources:  # fmt: skip
        worker = Worker(settings, registry, platforms, pool=rt.pool, connection=rt.connection,
                        concurrency=args.concurrency, resources=resources)  # fmt: skip
        install_stop_signals(worker.request_stop)
        await worker.run()
    return 0


async def cmd_scheduler(settings: Settings, _args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-scheduler", pool_size=3) as rt:
        scheduler = Scheduler(settings, rt.pool, rt.service)
        install_stop_signals(scheduler.request_stop)
        await scheduler.run()
    return 0


async def cmd_tasks(settings: Settings, args: argparse.Namespace) -> int:
    broker: Literal["optional", "none"] = "optional" if args.tasks_command == "retry" else "none"
    async with runtime(settings, "nfsync-tasks", broker=broker, pool_size=2) as rt:
        service = rt.service
        if args.tasks_command == "list":
            rows = await service.list(
                status=args.status, platform=args.platform, shop_id=args.shop, task_type=args.task_type,
                limit=args.limit, offset=args.offset,
            )  # fmt: skip
            _print_table(rows)
        elif args.tasks_command == "show":
            _print_json(await service.get(args.id))
        elif args.tasks_command == "cancel":
            print(f"task {args.id}: {await service.cancel(args.id)}")
        else:
            print(f"task {args.id}: {await service.retry(args.id)}")
    return 0


def _print_table(rows: list[dict[str, Any]]) -> None:
    columns = ["id", "platform", "task_type", "direction", "status", "priority", "progress", "retry_count",
               "scheduled_at", "error_message"]  # fmt: skip
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c])[:80] for c in columns))


def _timestamp(text: str) -> datetime:
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
    enqueue.add_argument("--scheduled-at", type=_timestamp, default=None, help="ISO 8601; default now")
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
    for name, text in (("show", "one task in full"), ("retry", "retry a failed or cancelled task"),
                       ("cancel", "cancel a pending or running task")):  # fmt: skip
        command = tasks.add_parser(name, help=text)
        command.add_argument("id", type=uuid.UUID)
        command.set_defaults(handler=cmd_tasks)
    listing.set_defaults(handler=cmd_tasks)


async def cmd_orgs_create(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-orgs", broker="none", pool_size=1) as rt:
        print(await create_organization(rt.pool, args.name))
    return 0


async def cmd_tokens_create(settings: Settings, args: argparse.Namespace) -> int:
    scopes = parse_scopes(args.scopes)
    async with runtime(settings, "nfsync-tokens", broker="none", pool_size=1) as rt:
        token = await create_token(rt.pool, args.org, scopes, args.name, expires_at=args.expires_at)
    print(token)
    print("store it now: it is not shown again (only its SHA-256 is kept)", file=sys.stderr)
    return 0


_TOKEN_COLUMNS = ("id", "kind", "organization_id", "name", "scopes", "created_at", "last_used_at", "expires_at",
                  "revoked_at")  # fmt: skip


async def cmd_tokens_manage(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-tokens", broker="none", pool_size=1) as rt:
        if args.tokens_command == "revoke":
            rows = [await revoke_token(rt.pool, args.id, None)]
        else:
            rows = await list_tokens(rt.pool, args.org)
    print("\t".join(_TOKEN_COLUMNS))
    for row in rows:
        print("\t".join("" if row[c] is None else ",".join(row[c]) if c == "scopes" else str(row[c])
                        for c in _TOKEN_COLUMNS))  # fmt: skip
    return 0


async def cmd_orgs_merchants(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-orgs", broker="none", pool_size=1) as rt, rt.pool.acquire() as conn:
        if args.orgs_command == "link-merchant":
            async with conn.transaction():
                for merchant in args.merchant:
                    await crm.link_merchant(conn, args.org, merchant)
            print(f"organization {args.org} owns merchant(s) {', '.join(args.merchant)}")
        elif args.orgs_command == "unlink-merchant":
            await crm.unlink_merchant(conn, args.merchant)
            print(f"merchant {args.merchant} is linked to no organization")
        else:
            for merchant, slug in await crm.organization_merchants(conn, args.org):
                print(f"{merchant}\t{slug}")
    return 0


def add_admin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    orgs = sub.add_parser("orgs", help="organizations").add_subparsers(dest="orgs_command", required=True)
    create = orgs.add_parser("create", help="create an organization and print its id")
    create.add_argument("name")
    create.set_defaults(handler=cmd_orgs_create)
    link = orgs.add_parser("link-merchant", help="make an organization the owner of CRM merchants (their catalog, "
                           "stock and orders become reachable by its shops)")  # fmt: skip
    link.add_argument("--org", type=uuid.UUID, required=True)
    link.add_argument("merchant", nargs="+", help='"Merchant".id')
    link.set_defaults(handler=cmd_orgs_merchants)
    unlink = orgs.add_parser("unlink-merchant", help="remove a merchant from its organization (no shop may use it)")
    unlink.add_argument("merchant", help='"Merchant".id')
    unlink.set_defaults(handler=cmd_orgs_merchants)
    merchants = orgs.add_parser("merchants", help="the merchants an organization owns")
    merchants.add_argument("--org", type=uuid.UUID, required=True)
    merchants.set_defaults(handler=cmd_orgs_merchants)
    _tokens_commands(sub)


def _tokens_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="tokens_command", required=True)
    token = tokens.add_parser("create", help="create a bearer token (an organization's, or an operator's); printed "
                              "once")  # fmt: skip
    owner = token.add_mutually_exclusive_group(required=True)
    owner.add_argument("--org", type=uuid.UUID, help="the organization the token acts for")
    owner.add_argument("--operator", action="store_true", help="a fleet-wide operator token (no organization)")
    token.add_argument("--scopes", required=True, help="comma list: tasks:read,tasks:write,integrations:write,"
                       "ops:read,ops:write; admin (operators only)")  # fmt: skip
    token.add_argument("--name", default="api", help="label")
    token.add_argument("--expires-at", type=_timestamp, default=None, help="ISO 8601 end of validity (default: none)")
    token.set_defaults(handler=cmd_tokens_create)
    listing = tokens.add_parser("list", help="tokens (never their values): kind, scopes, last use, expiry, revocation")
    listing.add_argument("--org", type=uuid.UUID, default=None, help="one organization's (default: all)")
    listing.set_defaults(handler=cmd_tokens_manage)
    revoke = tokens.add_parser("revoke", help="revoke a token at once (it authenticates nothing afterwards)")
    revoke.add_argument("id", type=uuid.UUID)
    revoke.set_defaults(handler=cmd_tokens_manage)


async def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    if args.processes > 1:
        return await _api_processes(args)
    async with api_state(settings) as state:
        runner = api_runner(state)
        await runner.setup()
        await web.TCPSite(runner, args.host, args.port, reuse_port=args.reuse_port or None).start()
        print(
            f"nfsync api listening on http://{args.host}:{args.port} (dashboard /ops, spec /openapi.json)", flush=True
        )
        stop = asyncio.Event()
        install_stop_signals(stop.set)
        await stop.wait()
        await runner.cleanup()
    return 0


async def _api_processes(args: argparse.Namespace) -> int:
    """N API processes on one port (SO_REUSEPORT: the kernel spreads connections); stops them all when one ends or
    on SIGTERM/SIGINT."""
    command = [sys.executable, "-m", "nfsync.workers", "api", "--host", args.host, "--port", str(args.port),
               "--processes", "1", "--reuse-port"]  # fmt: skip
    # own sessions: a signal to the whole group reaches the parent only, which sends each child one SIGTERM
    children = [await asyncio.create_subprocess_exec(*command, start_new_session=True) for _ in range(args.processes)]
    stop = asyncio.Event()
    install_stop_signals(stop.set)
    waits = [asyncio.ensure_future(child.wait()) for child in children]
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([*waits, stopping], return_when=asyncio.FIRST_COMPLETED)
    failed = any(w.done() for w in waits) and not stop.is_set()
    for child in children:
        if child.returncode is None:
            child.terminate()
    await asyncio.gather(*waits)
    stopping.cancel()
    return 1 if failed else 0


def add_api_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = sub.add_parser("api", help="run the HTTP service (webhooks, APIs, ops dashboard)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8080)
    api.add_argument("--processes", type=int, default=1, help="processes serving the port (SO_REUSEPORT)")
    api.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    api.set_defaults(handler=cmd_api)


_STATUS_COLUMNS = (("platform", "platform"), ("ready", "broker.ready"), ("unacked", "broker.unacked"),
                   ("consumers", "broker.consumers"), ("pending", "pending"), ("due", "due"),
                   ("running", "processing"), ("failed", "failed"), ("oldest due s", "oldest_due_seconds"),
                   ("done 5m", "completed_5m"), ("failed 5m", "failed_5m"),
                   ("throttles", "throttled_calls"))  # fmt: skip


def _cell(row: dict[str, Any], path: str) -> str:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, float):
        return f"{value:.0f}"
    return "-" if value is None else str(value)


def render_status(data: dict[str, Any]) -> str:
    rows = [[title for title, _ in _STATUS_COLUMNS]]
    rows += [[_cell(p, path) for _, path in _STATUS_COLUMNS] for p in data["platforms"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    dead = data.get("dead_letter", {}).get("ready")
    lines.append(f"dead-letter queue: {'-' if dead is None else dead} message(s)")
    return "\n".join(lines)


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
