"""shop_sync: refresh ``marketplace_shops`` (name, status, rating, region, logo, URL, data) from the platform, and
note on the account when its shops were last read. With ``{"lost_pushes": true}`` it recovers the pushes the
platform failed to deliver instead (workers/sync/lost_pushes.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.filters import ShopSyncFilter
from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.engine.models import to_utc_naive
from nfsync.workers.sync import lost_pushes
from nfsync.workers.sync.common import run_shop_task
from nfsync.workers.sync.item_log import ItemLog
from nfsync.workers.sync.session import ShopSession


async def shop_sync(ctx: TaskContext) -> dict[str, Any]:
    return await run_shop_task(ctx, _shop_sync)


async def _shop_sync(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    if shop.ctx.task.filters(ShopSyncFilter).lost_pushes:
        return await lost_pushes.recover(shop, items)
    shop.ctx.report(total=1)
    info = await shop.client.get_shop_info()
    data = json.loads(json.dumps(info.data, default=str))
    await shop.pool.execute(
        QUERIES["sync_shop_refresh"],
        shop.shop_id,
        info.name[:255],
        info.status[:50],
        info.region,
        (info.url or None) and info.url[:255],
        (info.logo or None) and info.logo[:255],
        info.rating,
        None if info.created_at is None else to_utc_naive(info.created_at),
        data,
    )
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat()
    note = {"shops_refreshed_at": stamp, "last_shop_id": str(shop.row["platform_shop_id"])}
    await shop.pool.execute(QUERIES["sync_account_refresh"], shop.row["account_id"], note)
    await items.add(
        "shop",
        "refresh",
        "success",
        entity_id=str(shop.shop_id),
        platform_entity_id=str(shop.row["platform_shop_id"]),
        details={"name": info.name, "status": info.status, "region": info.region},
    )
    return {"shop": {"name": info.name, "status": info.status, "region": info.region}}
