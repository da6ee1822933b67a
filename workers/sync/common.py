"""What every sync handler does around its work: open the shop, keep ``marketplace_shops.sync_status`` true, log
item outcomes, run bounded concurrent work that stops at the first error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from nfsync.connectors.base.errors import PermanentError
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.handlers import TaskContext
from nfsync.workers.logs import get_logger
from nfsync.workers.sync.item_log import ItemLog
from nfsync.workers.sync.session import ShopSession, open_shop

log = get_logger(__name__)
Body = Callable[[ShopSession, ItemLog], Awaitable[dict[str, Any]]]
DEFAULT_CONCURRENCY = 8


async def _flush_logged(items: ItemLog) -> None:
    """The last flush must not hide the handler's own outcome; a failure is logged, never swallowed silently."""
    try:
        await items.flush()
    except Exception as exc:  # the task's outcome matters more than its item log
        log.warning("sync.item_log_write_failed", task_id=str(items.ctx.task.id), error=str(exc) or type(exc).__name__)


async def run_shop_task(ctx: TaskContext, body: Body) -> dict[str, Any]:
    """Open the shop, run ``body``, flush the item log, record the shop's sync state and the client's counters."""
    shop = await open_shop(ctx)
    items = ItemLog(ctx, shop.pool, shop.shop_id)
    await shop.pool.execute(QUERIES["sync_shop_state"], shop.shop_id, "syncing", None)
    try:
        extra = await body(shop, items)
    except PermanentError as exc:
        await items.flush()
        await shop.pool.execute(QUERIES["sync_shop_state"], shop.shop_id, "error", str(exc)[:1000])
        raise
    finally:
        await _flush_logged(items)
    summary = items.summary()
    await shop.pool.execute(QUERIES["sync_shop_state"], shop.shop_id, "synced", summary)
    stats = shop.client.stats
    return items.result(calls=stats["calls"], throttled=stats["throttled"], **extra)


def concurrency(shop: ShopSession) -> int:
    value = shop.config.get("sync_concurrency", DEFAULT_CONCURRENCY)
    return max(1, min(64, int(value))) if isinstance(value, int | str) and str(value).isdigit() else DEFAULT_CONCURRENCY


async def bounded(jobs: Iterable[Callable[[], Awaitable[None]]], limit: int) -> None:
    """Run jobs with at most ``limit`` in flight; the first error cancels the rest and is raised as itself."""
    queue = list(jobs)
    index = 0

    async def lane() -> None:
        nonlocal index
        while index < len(queue):
            job = queue[index]
            index += 1
            await job()

    lanes = [asyncio.create_task(lane()) for _ in range(min(limit, len(queue)))]
    try:
        await asyncio.gather(*lanes)
    except BaseException:
        for lane_task in lanes:
            lane_task.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        raise


def chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
