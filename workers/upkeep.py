"""The scheduler's upkeep (issue #17), every ``upkeep_interval`` seconds on the leader:

1. every active OAuth account's access token is refreshed ``token_refresh_lead`` seconds (at least two upkeep
   intervals) before it expires, whether or not a task needs it - an idle shop's authorization does not lapse
   silently. A refused refresh marks the account and writes ``shop.reauthorization_needed`` once per shop
   (``workers/tokens.py``); a platform that does not answer is tried again at the next upkeep;
2. ``shop.authorization_expiring`` for every shop of an account whose authorization (its refresh token) lapses
   within 7 days, and again within 1 day;
3. ``shop.stale`` for a shop of an integration with a ``sync_interval`` that had no successful sync within three
   intervals (once per spell: a success ends it);
4. with ``customer_retention_days`` set, customers without an order in that many days are erased (issue #18;
   ``workers/crm_customers.py``), up to a batch per upkeep, each in its own transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from pydantic import BaseModel

from nfsync.connectors.base.errors import NfsyncError, ReauthorizationNeeded
from nfsync.workers import crm_customers
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger
from nfsync.workers.marketplaces import ClientFactory
from nfsync.workers.ratelimit import PostgresRateLimiter

log = get_logger(__name__)
STALE_FACTOR = 3
_BATCH = 200


class UpkeepReport(BaseModel):
    refreshed: int = 0
    refusals: int = 0
    unreachable: int = 0
    expiring_events: int = 0
    stale_events: int = 0
    customers_erased: int = 0


class Upkeep:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, clients: ClientFactory) -> None:
        self._settings = settings
        self._pool = pool
        self._clients = clients

    async def run(self) -> UpkeepReport:
        report = UpkeepReport()
        await self._refresh_tokens(report)
        rows = await self._pool.fetch(QUERIES["upkeep_warn_expiring"])
        report.expiring_events = sum(row["events"] for row in rows)
        rows = await self._pool.fetch(QUERIES["upkeep_mark_stale"], STALE_FACTOR)
        report.stale_events = sum(row["events"] for row in rows)
        report.customers_erased = await self._retention()
        if report != UpkeepReport():
            log.info("upkeep.done", **report.model_dump())
        return report

    async def _retention(self) -> int:
        days = self._settings.customer_retention_days
        if days <= 0:
            return 0
        async with self._pool.acquire() as conn:
            return await crm_customers.erase_past_retention(conn, days, _BATCH)

    def _lead(self) -> float:
        return max(self._settings.token_refresh_lead, 2 * self._settings.upkeep_interval)

    async def _refresh_tokens(self, report: UpkeepReport) -> None:
        for row in await self._pool.fetch(QUERIES["upkeep_accounts_to_refresh"], self._lead(), _BATCH):
            try:
                await self._refresh(row)
                report.refreshed += 1
            except ReauthorizationNeeded:
                report.refusals += 1  # the provider marked the account and wrote the events
            except (NfsyncError, OSError, TimeoutError) as exc:
                report.unreachable += 1
                log.warning("upkeep.refresh_failed", account_id=str(row["account_id"]), error=str(exc)[:300])

    async def _refresh(self, row: asyncpg.Record) -> None:
        _client, tokens = self._clients.shop_client_and_tokens(self._pool, row)
        if tokens is not None:
            await tokens.refresh_now()


@contextlib.asynccontextmanager
async def upkeep_for(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Upkeep]:
    """The scheduler's upkeep with its own clients (the platforms' shared rate limits), closed afterwards."""
    keyring = Keyring.from_secret(settings.secret_keys) if settings.secret_keys else None
    clients = ClientFactory(
        keyring, PostgresRateLimiter(pool), settings.marketplace_read_timeout, settings.outbound_policy
    )
    try:
        yield Upkeep(settings, pool, clients)
    finally:
        await clients.close()
