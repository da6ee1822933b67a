"""Recovery of pushes a platform failed to deliver: Shopee keeps them 3 days (``push/get_lost_push_message``, the
earliest 100 unconfirmed, and ``push/confirm_consumed_lost_push_message`` with the last message id as a watermark).

The scheduler enqueues a ``shop_sync`` with ``{"lost_pushes": true}`` for one shop of each such integration every
``lost_push_interval``. Each recovered event goes through the webhook intake exactly as if it had arrived: stored
once under its dedupe key (a push that did arrive is a duplicate and does nothing), then turned into work for the
shop it names. A page is confirmed only after all of its events are stored, so a crash re-reads it."""

from __future__ import annotations

import json
from typing import Any, Protocol

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import WebhookEvent
from nfsync.connectors.base.spec import load
from nfsync.workers.api.webhooks import Verified, WebhookIntake
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.service import TaskService
from nfsync.workers.logs import get_logger
from nfsync.workers.sync.item_log import ItemLog
from nfsync.workers.sync.session import ShopSession

log = get_logger(__name__)
MAX_PAGES = 50  # 5,000 pushes per task; the next run goes on from the watermark


class LostPage(Protocol):
    events: list[WebhookEvent]
    last_message_id: int | None
    has_next_page: bool


async def recover(shop: ShopSession, items: ItemLog) -> dict[str, Any]:
    client: Any = shop.client
    if not hasattr(client, "get_lost_pushes"):
        raise PermanentError(f"{shop.row['platform']} has no lost-push API")
    intake = WebhookIntake(shop.pool, TaskService(shop.pool, None), None, "")
    integration = await shop.pool.fetchrow(QUERIES["webhook_integration"], shop.ctx.task.integration_id)
    if integration is None:
        raise PermanentError(f"integration {shop.ctx.task.integration_id} no longer exists")
    recovered = pages = 0
    for pages in range(1, MAX_PAGES + 1):  # noqa: B007 - the count is reported
        await shop.ctx.checkpoint()
        page: LostPage = await client.get_lost_pushes()
        recovered += await _store(intake, Verified(integration, load(shop.row["platform"]), []), page.events, items)
        if page.last_message_id is not None:
            await client.confirm_lost_pushes(page.last_message_id)
        if not page.has_next_page or page.last_message_id is None:
            break
    log.info("lost_pushes.recovered", integration_id=str(shop.ctx.task.integration_id), events=recovered, pages=pages)
    return {"lost_pushes": recovered}


async def _store(intake: WebhookIntake, base: Verified, events: list[WebhookEvent], items: ItemLog) -> int:
    for event in events:
        verified = Verified(base.integration, base.spec, [event])
        tasks = await intake.store(verified, {}, json.dumps(event.raw, default=str).encode())
        await items.add(
            "order"
            if event.kind == "order_status_changed"
            else "shop"
            if event.kind.startswith(("shop", "auth"))
            else "product",
            "import",
            "success",
            entity_id=event.entity_id,
            platform_entity_id=event.dedupe_key,
            details={"kind": event.kind, "tasks": [str(t) for t in tasks]},
        )
    return len(events)
