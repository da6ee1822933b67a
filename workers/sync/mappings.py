"""``product_mappings`` writes, batched: listings pushed or matched, values accepted, failures recorded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from nfsync.workers.db.queries import QUERIES
from nfsync.workers.sync.catalog import Mapping
from nfsync.workers.sync.session import ShopSession

FLUSH_EVERY = 200


@dataclass(frozen=True)
class MappingRow:
    product_id: str
    variant_id: str
    platform_item_id: str
    platform_variant_id: str | None
    platform_sku: str
    content_hash: str | None  # None: no content pushed (matched on a pull, or an adopted listing)
    price: Decimal | None
    stock: int | None
    status: str = "active"
    origin: str = "created"  # created | adopted | pulled | linked (product_mappings.origin)
    fields: dict[str, str] | None = None  # digest per content field pushed (catalog.content_fields)


@dataclass
class MappingWriter:
    shop: ShopSession
    pending: list[MappingRow] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def add(self, rows: list[MappingRow]) -> None:
        self.pending.extend(rows)
        if len(self.pending) >= FLUSH_EVERY:
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            rows, self.pending = self.pending, []
            if rows:
                await write_mappings(self.shop, _last_per_variant(rows))


def _last_per_variant(rows: list[MappingRow]) -> list[MappingRow]:
    return list({row.variant_id: row for row in rows}.values())


async def write_mappings(shop: ShopSession, rows: list[MappingRow]) -> None:
    row = shop.row
    async with shop.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            QUERIES["sync_mappings_free"],
            shop.shop_id,
            [r.platform_item_id for r in rows],
            [r.platform_variant_id for r in rows],
            [r.variant_id for r in rows],
        )
        await conn.execute(
            QUERIES["sync_mappings_upsert"],
            row["organization_id"],
            row["id"],
            shop.shop_id,
            shop.platform,
            [r.product_id for r in rows],
            [r.variant_id for r in rows],
            [r.platform_item_id for r in rows],
            [r.platform_variant_id for r in rows],
            [r.platform_sku for r in rows],
            [r.content_hash for r in rows],
            [r.price for r in rows],
            [r.stock for r in rows],
            [r.status for r in rows],
            [r.origin for r in rows],
            [r.fields for r in rows],
        )


async def load_mappings(shop: ShopSession) -> dict[str, Mapping]:
    rows = await shop.pool.fetch(QUERIES["sync_mappings_of_shop"], shop.shop_id)
    return {r["variant_id"]: Mapping.of(r) for r in rows}


async def record_pushed(
    pool: asyncpg.Pool, shop: ShopSession, pushed: list[tuple[str, Decimal | None, int | None, str | None]]
) -> None:
    """(variant, price or None, stock or None, new status or None) accepted by the platform."""
    if pushed:
        await pool.execute(
            QUERIES["sync_mappings_pushed"],
            shop.shop_id,
            [p[0] for p in pushed],
            [p[1] for p in pushed],
            [p[2] for p in pushed],
            [p[3] for p in pushed],
        )


async def record_failed(pool: asyncpg.Pool, shop: ShopSession, failed: list[tuple[str, str]]) -> None:
    if failed:
        await pool.execute(
            QUERIES["sync_mappings_failed"], shop.shop_id, [f[0] for f in failed], [f[1][:1000] for f in failed]
        )
