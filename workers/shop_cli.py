"""``nfsync shops health|pause|resume``: the shops' states for an operator, and the brake (issue #17)."""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Literal

from nfsync.connectors.base.errors import NotFound
from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.runtime import runtime
from nfsync.workers.shop_health import ShopHealth, shop_health

_COLUMNS = ("shop_id", "platform", "shop_name", "state", "pending_tasks", "running_tasks", "item_error_rate_24h")


def _print_table(shops: list[ShopHealth]) -> None:
    print("\t".join((*_COLUMNS, "reasons")))
    for shop in shops:
        values = [str(getattr(shop, column)) for column in _COLUMNS]
        print("\t".join((*values, "; ".join(shop.reasons)[:160])))


async def cmd_shops(settings: Settings, args: argparse.Namespace) -> int:
    broker: Literal["optional", "none"] = "optional" if args.shops_command == "resume" else "none"
    async with runtime(settings, "nfsync-shops", broker=broker, pool_size=2) as rt:
        if args.shops_command == "health":
            shops = await shop_health(rt.pool, shop_id=args.shop, organization_id=args.org, limit=args.limit)
            if args.json:
                print(json.dumps([shop.model_dump(mode="json") for shop in shops], indent=2))
            else:
                _print_table(shops)
            return 0
        query = "shop_pause" if args.shops_command == "pause" else "shop_resume"
        row = await rt.pool.fetchrow(QUERIES[query], args.id, None)
        if row is None:
            raise NotFound(f"shop {args.id} not found")
        if row["paused_at"] is None:
            await rt.service.wake(row["platform"], [], reason="resume")
        print(f"shop {args.id}: {'paused since ' + str(row['paused_at']) if row['paused_at'] else 'running'}")
    return 0


def add_shop_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shops = sub.add_parser("shops", help="shop health, pause and resume").add_subparsers(
        dest="shops_command", required=True
    )
    health = shops.add_parser("health", help="each shop's state and why (one shop with --shop)")
    health.add_argument("--shop", type=uuid.UUID, default=None, help="marketplace_shops.id")
    health.add_argument("--org", type=uuid.UUID, default=None, help="one organization's shops")
    health.add_argument("--limit", type=int, default=1000)
    health.add_argument("--json", action="store_true", help="every figure, as JSON")
    health.set_defaults(handler=cmd_shops)
    for name, text in (
        ("pause", "pause a shop: none of its tasks starts until it is resumed"),
        ("resume", "resume a paused shop"),
    ):
        command = shops.add_parser(name, help=text)
        command.add_argument("id", type=uuid.UUID)
        command.set_defaults(handler=cmd_shops)
