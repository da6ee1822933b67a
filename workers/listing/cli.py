"""``nfsync profiles``: listing profiles from the command line (an operator's view: every organization).

``import`` reads JSON lines or CSV (by the file's extension, or ``--format``) and prints the per-row report as JSON;
it exits 1 when a row was refused. ``show`` prints one stored layer, ``list`` the integration's profiles.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from nfsync.connectors.base.errors import NotFound
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.runtime import runtime
from nfsync.workers.listing import imports, store
from nfsync.workers.listing.requirements import PlatformCheck
from nfsync.workers.marketplaces import ClientFactory
from nfsync.workers.ratelimit import PostgresRateLimiter


def _format(args: argparse.Namespace) -> imports.Format:
    if args.format:
        return args.format  # type: ignore[no-any-return]
    return "csv" if args.file.suffix.lower() == ".csv" else "jsonl"


async def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        rows = imports.parse(args.file.read_bytes(), _format(args))
    except (OSError, imports.ImportRefused) as exc:
        print(f"nfsync profiles import: {exc}", file=sys.stderr)
        return 2
    async with runtime(settings, "nfsync-profiles", broker="none", pool_size=3) as rt, rt.pool.acquire() as conn:
        integration = await conn.fetchrow(QUERIES["integration_get"], args.integration, None)
        if integration is None:
            print(f"nfsync profiles import: integration {args.integration} not found", file=sys.stderr)
            return 2
        owner, policy = (integration["organization_id"], integration["id"]), settings.outbound_policy
        keyring = Keyring.from_secret(settings.secret_keys) if settings.secret_keys else None
        factory = ClientFactory(
            keyring, PostgresRateLimiter(rt.pool), settings.marketplace_read_timeout, settings.outbound_policy
        )
        try:
            platform = PlatformCheck(rt.pool, factory)
            report = await imports.run(conn, *owner, rows, policy=policy, platform=platform, dry_run=args.dry_run)
        finally:
            await factory.close()
    print(imports.dumps(report))
    return 1 if report.refused else 0


async def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    scope = store.Scope(args.integration, args.product, args.shop)
    async with runtime(settings, "nfsync-profiles", broker="none", pool_size=1) as rt:
        try:
            found = [await store.get(rt.pool, scope, None)] if args.profiles_command == "show" else None
        except NotFound as exc:
            print(f"nfsync profiles show: {exc}", file=sys.stderr)
            return 1
        if found is None:
            found = await store.page(rt.pool, args.integration, None, product_id=args.product, limit=500)
    for stored in found:
        line = {"product_id": stored.scope.product_id, "shop_id": stored.scope.shop_id and str(stored.scope.shop_id)}
        print(json.dumps({**line, "profile": stored.profile.stored(), "updated_at": stored.updated_at.isoformat()}))
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profiles = sub.add_parser("profiles", help="listing profiles: import (JSON lines, CSV), show, list").add_subparsers(
        dest="profiles_command", required=True
    )
    load = profiles.add_parser("import", help="import profiles from JSON lines or CSV; prints a report per row")
    load.add_argument("file", type=Path)
    load.add_argument("--integration", type=uuid.UUID, required=True)
    load.add_argument("--format", choices=("jsonl", "csv"), default=None, help="default: by the file's extension")
    load.add_argument("--dry-run", action="store_true", help="validate every row, store nothing")
    load.set_defaults(handler=cmd_import)
    show = profiles.add_parser("show", help="one stored profile as JSON (the defaults without --product)")
    show.add_argument("--integration", type=uuid.UUID, required=True)
    show.add_argument("--product", default=None)
    show.add_argument("--shop", type=uuid.UUID, default=None)
    show.set_defaults(handler=cmd_show)
    listing = profiles.add_parser("list", help="the integration's profiles, one JSON line each")
    listing.add_argument("--integration", type=uuid.UUID, required=True)
    listing.add_argument("--product", default=None)
    listing.set_defaults(handler=cmd_show, shop=None)
