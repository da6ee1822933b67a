"""`nfsync plan` (what a sync would do, no writes anywhere) and `nfsync reconcile` (CRM vs platform, with --fix)."""

from __future__ import annotations

import argparse
import json
import uuid
from collections import Counter
from typing import Any

from nfsync.connectors.base.errors import ValidationFailed
from nfsync.workers import crm
from nfsync.workers.config import Settings
from nfsync.workers.engine.filters import (
    FilterInvalid,
    InventorySyncFilter,
    ProductSyncFilter,
    TaskFilter,
    dump_filter,
    parse_filter,
)
from nfsync.workers.engine.models import NATURAL_DIRECTION
from nfsync.workers.engine.runtime import runtime
from nfsync.workers.sync.catalog import ValueChange
from nfsync.workers.sync.products import plan_catalog
from nfsync.workers.sync.reconcile import apply_fixes, reconcile_shop
from nfsync.workers.sync.rules import StockRules
from nfsync.workers.sync.session import ShopSession, open_resources, open_shop_by_id
from nfsync.workers.sync.stock import price_changes, stock_changes

PLAN_TYPES = ("product_sync", "inventory_sync", "price_sync")


def _shop_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationFailed(f"--shop must be a marketplace_shops id (uuid), got {text!r}") from None


def _filters(task_type: str, text: str | None) -> TaskFilter:
    value = None
    if text:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"--filter is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValidationFailed("--filter must be a JSON object")
    try:
        return parse_filter(task_type, value)
    except FilterInvalid as exc:
        raise ValidationFailed(f"--filter: {exc}") from None


async def plan(shop: ShopSession, task_type: str, filters: TaskFilter | None = None) -> dict[str, Any]:
    """The actions a sync would take, from the CRM, the mappings and the listing profiles: no platform write, no write
    to the shop's rows (new listings' category requirements are read from the platform, cached per shop)."""
    filters = filters or parse_filter(task_type, None)
    if isinstance(filters, ProductSyncFilter):
        decisions = await plan_catalog(shop, filters)
        counts = Counter(d.action for d in decisions)
        return {"task_type": task_type, "summary": dict(counts), "items": [d.describe() for d in decisions]}
    channel = shop.row["sale_channel_id"]
    assert isinstance(filters, InventorySyncFilter), "plan covers product, inventory and price syncs"
    variant_ids = filters.variant_ids
    rules = StockRules.parse(shop.rules("inventory"))
    async with shop.pool.acquire() as conn:
        _, currency = await crm.channel_merchant(conn, channel, shop.row["organization_id"])
        values = await crm.variant_values(
            conn, shop.shop_id, variant_ids, currency, per_location=bool(rules.warehouses)
        )
    force = filters.force
    if task_type == "inventory_sync":
        changes = stock_changes(values, rules, force=force)
    else:
        changes = price_changes(values, force=force)
    items = [_change(c) for c in changes]
    if task_type == "inventory_sync":
        items = _with_bundles(items, values)
    return {
        "task_type": task_type,
        "summary": {"update": len(changes), "skip": len(values) - len(changes)},
        "items": items,
    }


def _change(change: ValueChange) -> dict[str, Any]:
    value = change.stock if change.stock is not None else change.price
    out: dict[str, Any] = {
        "variant_id": change.variant_id,
        "platform_item_id": change.platform_item_id,
        "sku": change.sku,
        "action": "update",
        "value": str(value),
    }
    if change.warehouses and change.stock is not None:
        out["warehouses"] = {warehouse: str(units) for warehouse, units in change.warehouses.items()}
    return out


def _with_bundles(items: list[dict[str, Any]], values: list[crm.VariantValue]) -> list[dict[str, Any]]:
    """Every combo and kit of the shop with what its components make and the component that limits it (a skip item
    when its stock on the shop is already right)."""
    by_variant = {item["variant_id"]: item for item in items}
    for value in values:
        if value.bundle is None:
            continue
        item = by_variant.get(value.variant_id)
        if item is None:
            item = {
                "variant_id": value.variant_id,
                "platform_item_id": value.platform_item_id,
                "sku": value.platform_sku or value.variant_id,
                "action": "skip",
                "value": str(value.last_pushed_stock),
            }
            items.append(item)
        item["combo_makes"] = str(value.bundle.available)
        if value.bundle.error:
            item["combo_error"] = value.bundle.error
        elif value.bundle.limited_by:
            item["limited_by"] = value.bundle.limited_by_sku or value.bundle.limited_by
    return items


async def cmd_plan(settings: Settings, args: argparse.Namespace) -> int:
    shop_id, filters = _shop_id(args.shop), _filters(args.task_type, args.filter)
    async with (
        runtime(settings, "nfsync-plan", broker="none", pool_size=3) as rt,
        open_resources(settings, rt.pool) as res,
    ):
        shop = await open_shop_by_id(
            res,
            shop_id,
            task_type=args.task_type,
            direction=NATURAL_DIRECTION[args.task_type],
            filters=dump_filter(filters),
        )
        result = await plan(shop, args.task_type, filters)
    if args.json:
        print(json.dumps(result, default=str))
        return 0
    summary = ", ".join(f"{k} {v}" for k, v in sorted(result["summary"].items()))
    print(f"{args.task_type} for shop {shop_id}: {summary}")
    for item in result["items"]:
        if item["action"] != "skip" or args.verbose or "combo_makes" in item:
            print("  " + "  ".join(f"{k}={v}" for k, v in item.items()))
    return 0


async def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    shop_id = _shop_id(args.shop)
    async with (
        runtime(settings, "nfsync-reconcile", broker="optional", pool_size=3) as rt,
        open_resources(settings, rt.pool) as res,
    ):
        shop = await open_shop_by_id(res, shop_id)
        diffs, counts = await reconcile_shop(shop, order_days=args.order_days)
        fixes = await apply_fixes(shop, rt.service, diffs) if args.fix and diffs else []
    if args.json:
        print(
            json.dumps(
                {
                    "shop_id": str(shop_id),
                    "compared": counts,
                    "differences": [d.row() for d in diffs],
                    "fix_tasks": [str(t) for t in fixes],
                }
            )
        )
    else:
        compared = ", ".join(f"{k} {v}" for k, v in counts.items())
        print(f"shop {shop_id}: {len(diffs)} difference(s) ({compared})")
        for d in diffs:
            print(
                f"  {d.kind:<17} crm={d.entity_id or '-'} platform={d.platform_id or '-'} "
                f"crm_value={d.crm_value or '-'} platform_value={d.platform_value or '-'}"
            )
        if fixes:
            print(f"enqueued {len(fixes)} fix task(s): {', '.join(str(t) for t in fixes)}")
    return 1 if diffs and not args.fix else 0


def add_sync_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan_cmd = sub.add_parser("plan", help="dry run: what a sync of one shop would create, update, skip (no writes)")
    plan_cmd.add_argument("--shop", required=True, help="marketplace_shops id")
    plan_cmd.add_argument("--task-type", required=True, choices=PLAN_TYPES)
    plan_cmd.add_argument("--filter", default=None, help="filter_criteria as JSON")
    plan_cmd.add_argument("--verbose", action="store_true", help="list skipped items too")
    plan_cmd.add_argument("--json", action="store_true", help="one JSON object")
    plan_cmd.set_defaults(handler=cmd_plan)
    rec = sub.add_parser("reconcile", help="compare CRM and platform for one shop; --fix enqueues the syncs")
    rec.add_argument("--shop", required=True, help="marketplace_shops id")
    rec.add_argument("--fix", action="store_true", help="enqueue the syncs that close the differences")
    rec.add_argument("--order-days", type=int, default=3, help="how many days of orders to compare (default 3)")
    rec.add_argument("--json", action="store_true", help="one JSON object")
    rec.set_defaults(handler=cmd_reconcile)
