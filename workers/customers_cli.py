"""``nfsync customers erase <id>`` (issue #18): an operator erases a customer's personal data - the customer and
its orders' buyer data anonymised in one transaction, and a ``customer_erasures`` record."""

from __future__ import annotations

import argparse
import uuid

from nfsync.connectors.base.errors import NotFound
from nfsync.workers import crm_customers
from nfsync.workers.config import Settings
from nfsync.workers.engine.runtime import runtime


async def cmd_customers(settings: Settings, args: argparse.Namespace) -> int:
    async with runtime(settings, "nfsync-customers", broker="none", pool_size=1) as rt, rt.pool.acquire() as conn:
        erasure = await crm_customers.erase(conn, args.id, organization_id=args.org, requested_by="cli", reason="cli")
    if erasure is None:
        raise NotFound(f"no live customer {args.id}" + (f" in organization {args.org}" if args.org else ""))
    print(
        f"customer {erasure.customer_id}: erased with {erasure.orders} order(s) at {erasure.erased_at} "
        f"(record {erasure.id})"
    )
    return 0


def add_customer_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    customers = sub.add_parser("customers", help="customers' personal data").add_subparsers(
        dest="customers_command", required=True
    )
    erase = customers.add_parser("erase", help="anonymise a customer and its orders' buyer data, and record it")
    erase.add_argument("id", help='"Customer".id')
    erase.add_argument(
        "--org", type=uuid.UUID, default=None, help="refuse unless the customer belongs to this organization"
    )
    erase.set_defaults(handler=cmd_customers)
