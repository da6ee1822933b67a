"""The commands of the HTTP service's room: ``nfsync api`` (one process or several on one port) and the admin
commands over its tables (``orgs``, ``tokens``). The engine's commands are in ``nfsync.workers.engine.cli``;
the top-level CLI (``nfsync.workers.cli``) imports this module only when one of these commands runs."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from aiohttp import web

from nfsync.workers import crm
from nfsync.workers.api.app import api_runner, api_state
from nfsync.workers.api.auth import create_organization, create_token, list_tokens, parse_scopes, revoke_token
from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.cli import timestamp
from nfsync.workers.engine.runtime import install_stop_signals, runtime


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


_TOKEN_COLUMNS = (
    "id",
    "kind",
    "organization_id",
    "name",
    "scopes",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
)


async def cmd_tokens_manage(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-tokens", broker="none", pool_size=1) as rt:
        if args.tokens_command == "revoke":
            rows = [await revoke_token(rt.pool, args.id, None)]
        else:
            rows = await list_tokens(rt.pool, args.org)
    print("\t".join(_TOKEN_COLUMNS))
    for row in rows:
        print(
            "\t".join(
                "" if row[c] is None else ",".join(row[c]) if c == "scopes" else str(row[c]) for c in _TOKEN_COLUMNS
            )
        )
    return 0


async def cmd_orgs_list(settings: Settings, _args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-orgs", broker="none", pool_size=1) as rt:
        rows = await rt.pool.fetch(QUERIES["organization_list"])
    print("id\tname\tstatus\tcreated_at")
    for row in rows:
        print(f"{row['id']}\t{row['name']}\t{row['status']}\t{row['created_at']}")
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
    orgs.add_parser("list", help="every organization: id, name, status, created").set_defaults(handler=cmd_orgs_list)
    link = orgs.add_parser(
        "link-merchant",
        help="make an organization the owner of CRM merchants (their catalog, "
        "stock and orders become reachable by its shops)",
    )
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
    token = tokens.add_parser(
        "create", help="create a bearer token (an organization's, or an operator's); printed once"
    )
    owner = token.add_mutually_exclusive_group(required=True)
    owner.add_argument("--org", type=uuid.UUID, help="the organization the token acts for")
    owner.add_argument("--operator", action="store_true", help="a fleet-wide operator token (no organization)")
    token.add_argument(
        "--scopes",
        required=True,
        help="comma list: tasks:read,tasks:write,integrations:write,ops:read,ops:write; admin (operators only)",
    )
    token.add_argument("--name", default="api", help="label")
    token.add_argument("--expires-at", type=timestamp, default=None, help="ISO 8601 end of validity (default: none)")
    token.set_defaults(handler=cmd_tokens_create)
    listing = tokens.add_parser("list", help="tokens (never their values): kind, scopes, last use, expiry, revocation")
    listing.add_argument("--org", type=uuid.UUID, default=None, help="one organization's (default: all)")
    listing.set_defaults(handler=cmd_tokens_manage)
    revoke = tokens.add_parser("revoke", help="revoke a token at once (it authenticates nothing afterwards)")
    revoke.add_argument("id", type=uuid.UUID)
    revoke.set_defaults(handler=cmd_tokens_manage)


NO_KEYS_WARNING = (
    "nfsync api: NFSYNC_SECRET_KEYS is not set: integrations with credentials cannot be created or used, and OAuth "
    "connects fail (generate one with `nfsync keys generate`)"
)


async def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    if settings.secret_keys is None and not args.reuse_port:  # one warning, from the parent of several processes
        print(NO_KEYS_WARNING, file=sys.stderr, flush=True)
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
    command = [
        sys.executable,
        "-m",
        "nfsync.workers",
        "api",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--processes",
        "1",
        "--reuse-port",
    ]
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
