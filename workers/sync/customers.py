"""customer_sync (marketplace_to_crm, issue #18): buyers into the CRM's customers.

Where the platform has a buyer API (WooCommerce ``GET /customers``: the client's ``iter_customers``), its registered
customers are read, paged, and merged into ``"Customer"``; elsewhere (Shopee, Lazada, TikTok Shop give buyers only
inside orders) the customers are re-derived from the shop's stored orders - the buyer each order import sealed in
``"SalesOrder".buyer`` - and their orders linked. Each customer is merged in its own transaction, as an order import
does (``workers/crm_customers.py``): concurrent imports meet on one row; masked values never replace real ones.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from nfsync.connectors.base.errors import PermanentError
from nfsync.workers import crm, crm_customers
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import CustomerSyncFilter
from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.sync.common import run_shop_task
from nfsync.workers.sync.item_log import ItemLog
from nfsync.workers.sync.session import ShopSession

BATCH = 200


async def customer_sync(ctx: TaskContext) -> dict[str, Any]:
    return await run_shop_task(ctx, _customer_sync)


async def _customer_sync(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    keyring = shop.res.keyring
    if keyring is None:
        raise PermanentError("customer_sync stores personal data, which needs NFSYNC_SECRET_KEYS")
    channel = shop.row["sale_channel_id"]
    if not channel:
        raise PermanentError(f"shop {shop.row['shop_name']} has no sale channel: set sale_channel_id")
    async with shop.pool.acquire() as conn:
        merchant, _ = await crm.channel_merchant(conn, channel, shop.row["organization_id"])
    if hasattr(shop.client, "iter_customers"):
        return {"source": "platform", "customers": await _from_platform(shop, keyring, merchant)}
    return {"source": "orders", "orders": await _from_orders(shop, keyring, merchant)}


async def _from_platform(shop: ShopSession, keyring: Keyring, merchant: str) -> int:
    since = shop.ctx.task.filters(CustomerSyncFilter).updated_after
    done = 0
    async for buyer, modified in shop.client.iter_customers(since):  # type: ignore[attr-defined]
        source = crm_customers.BuyerSource(merchant, shop.platform, str(shop.row["platform_shop_id"]), modified)
        async with shop.pool.acquire() as conn, conn.transaction():
            await crm_customers.link_customer(conn, keyring, buyer, source)
        done += 1
        shop.ctx.report(processed=1, successful=1)
        if done % BATCH == 0:
            await shop.ctx.checkpoint()
    return done


async def _from_orders(shop: ShopSession, keyring: Keyring, merchant: str) -> int:
    done, last = 0, ""
    while True:
        await shop.ctx.checkpoint()
        rows = await shop.pool.fetch(
            QUERIES["crm_customer_orders_of_shop"],
            shop.shop_id,
            shop.platform,
            str(shop.row["platform_shop_id"]),
            last,
            BATCH,
        )
        for row in rows:
            await _relink(shop, keyring, row)
            shop.ctx.report(processed=1, successful=1)
        done += len(rows)
        if len(rows) < BATCH:
            return done
        last = rows[-1]["id"]


async def _relink(shop: ShopSession, keyring: Keyring, row: Any) -> None:
    buyer = crm_customers.opened_buyer(keyring, row["merchant_id"], row["id"], row["buyer"])
    if buyer is None:
        return
    seen = row["platform_updated_at"].replace(tzinfo=UTC)  # order_mappings keeps naive UTC
    source = crm_customers.BuyerSource(
        row["merchant_id"], shop.platform, str(shop.row["platform_shop_id"]), seen, row["placed_at"]
    )
    async with shop.pool.acquire() as conn, conn.transaction():
        customer = await crm_customers.link_customer(conn, keyring, buyer, source)
        await conn.execute(QUERIES["crm_order_link_customer"], row["id"], customer)
