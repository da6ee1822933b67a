"""A synthetic merchant catalog in the CRM tables, for the demo, the sync benchmark and the tests.

Products cycle through 1 to 4 variants (a simple product, then sizes S/M/L/XL) across five categories; every
variant has a SKU (``ProductIdentifier`` scheme SKU), a VND price and stock. Rows are copied in bulk, so 10,000
variants take well under a second. ``add_combo`` and ``add_addon`` add bundles (``"ProductBundler"``) on top.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nfsync.workers.crm import link_merchant
from nfsync.workers.db.connect import DbConn
from nfsync.workers.lab.queries import QUERIES

CATEGORIES = [
    ("ao", "Áo", "Shirts"),
    ("quan", "Quần", "Trousers"),
    ("giay", "Giày", "Shoes"),
    ("tui", "Túi xách", "Bags"),
    ("phu-kien", "Phụ kiện", "Accessories"),
]
SIZES = ["S", "M", "L", "XL"]
_COMMON = ["id", "createdAt", "modifiedAt"]


@dataclass
class DemoCatalog:
    merchant_id: str
    sale_channel_id: str
    category_ids: list[str]
    product_ids: list[str] = field(default_factory=list)
    variant_ids: list[str] = field(default_factory=list)
    skus: dict[str, str] = field(default_factory=dict)  # variant id -> SKU
    product_of: dict[str, str] = field(default_factory=dict)  # variant id -> product id
    combos: list[str] = field(default_factory=list)  # combo variant ids (add_combo), not in variant_ids


@dataclass
class _Rows:
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, *values: Any) -> None:
        self.tables.setdefault(table, []).append(values)


_COLUMNS = {
    "Category": [*_COMMON, "name", "merchantId", "status"],
    "Product": [*_COMMON, "slug", "status", "merchantId", "categoryId"],
    "ProductInfo": [*_COMMON, "principalType", "principalId", "name", "description"],
    "ProductVariant": [*_COMMON, "slug", "isDefault", "status", "productId", "type"],
    "ProductIdentifier": [*_COMMON, "identifier", "principalType", "principalId", "scheme"],
    "ProductOption": [*_COMMON, "productId", "key", "name", "sequence"],
    "ProductOptionValue": [*_COMMON, "optionId", "value", "name", "sequence"],
    "ProductVariantOption": [*_COMMON, "productVariantId", "optionId", "optionValueId"],
    "VariantPrice": [*_COMMON, "variantId", "merchantId", "currency", "amount"],
    "StockLevel": [*_COMMON, "variantId", "merchantId", "locationId", "onHand", "reserved"],
    "SaleChannelProduct": [*_COMMON, "productId", "saleChannelId"],
    "ProductBundler": [*_COMMON, "type", "leadVariantId", "relatedVariantId", "quantity", "sequence"],
}


async def seed_catalog(
    conn: DbConn, *, organization_id: Any, variants: int, name: str = "Demo Fashion", seed: int = 7
) -> DemoCatalog:
    """A merchant of the organization with one sale channel holding ``variants`` variants; returns the ids."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not cryptography
    prefix = secrets.token_hex(6)  # 48 bits: a 1,000-organization fleet met a collision with 24
    now = datetime.now(UTC)
    merchant = await conn.fetchval(
        'INSERT INTO "Merchant" (slug, name) VALUES ($1, $2) RETURNING id', f"demo-{prefix}", {"vi": name, "en": name}
    )
    channel = await conn.fetchval(
        'INSERT INTO "SaleChannel" (slug, name, "merchantId") VALUES ($1, $2, $3) RETURNING id',
        f"marketplaces-{prefix}",
        {"vi": "Sàn TMĐT", "en": "Marketplaces"},
        merchant,
    )
    await link_merchant(conn, organization_id, merchant)
    rows = _Rows()
    catalog = DemoCatalog(merchant, channel, [])
    for index, (key, vi, en) in enumerate(CATEGORIES):
        cid = f"{prefix}-c{index}"
        catalog.category_ids.append(cid)
        rows.add("Category", cid, now, now, {"vi": vi, "en": en, "key": key}, merchant, "ACTIVATED")
    number = 0
    while len(catalog.variant_ids) < variants:
        count = min(number % 4 + 1, variants - len(catalog.variant_ids))
        _product(rows, catalog, rng, prefix=prefix, number=number, count=count, now=now)
        number += 1
    for table, values in rows.tables.items():
        await conn.copy_records_to_table(table, records=values, columns=_COLUMNS[table])
    await conn.execute(QUERIES["demo_analyze_catalog"])  # a bulk load: planner statistics now, not at autovacuum
    return catalog


def _product(
    rows: _Rows, catalog: DemoCatalog, rng: random.Random, *, prefix: str, number: int, count: int, now: datetime
) -> None:
    pid = f"{prefix}-p{number}"
    category = catalog.category_ids[number % len(catalog.category_ids)]
    _, vi, en = CATEGORIES[number % len(CATEGORIES)]
    catalog.product_ids.append(pid)
    rows.add("Product", pid, now, now, f"product-{prefix}-{number}", "ACTIVATED", catalog.merchant_id, category)
    # titles of 25 characters or more: TikTok Shop's floor in Southeast Asia (docs/platforms/listings/tiktok.md)
    names = {"vi": f"{vi} thời trang cao cấp, mẫu {number}", "en": f"{en}, everyday premium fashion, model {number}"}
    texts = {"vi": f"{vi} chất lượng cao, mẫu số {number}.", "en": f"Quality {en.lower()}, model {number}."}
    rows.add("ProductInfo", f"{pid}-i", now, now, "Product", pid, names, texts)
    rows.add("SaleChannelProduct", f"{pid}-sc", now, now, pid, catalog.sale_channel_id)
    option = f"{pid}-o"
    if count > 1:
        rows.add("ProductOption", option, now, now, pid, "size", {"vi": "Kích cỡ", "en": "Size"}, 0)
    base_price = Decimal(rng.randrange(50, 900) * 1000)
    for k in range(count):
        vid = f"{pid}-v{k}"
        sku = f"NF-{prefix.upper()}-{number:05d}-{k}"
        catalog.variant_ids.append(vid)
        catalog.skus[vid] = sku
        catalog.product_of[vid] = pid
        rows.add("ProductVariant", vid, now, now, f"{pid}-{k}", k == 0, "ACTIVATED", pid, "000_STORABLE")
        rows.add("ProductIdentifier", f"{vid}-sku", now, now, sku, "ProductVariant", vid, "SKU")
        rows.add("VariantPrice", f"{vid}-pr", now, now, vid, catalog.merchant_id, "VND", base_price + 10000 * k)
        rows.add(
            "StockLevel",
            f"{vid}-st",
            now,
            now,
            vid,
            catalog.merchant_id,
            "default",
            Decimal(rng.randrange(0, 200)),
            Decimal(0),
        )
        if count > 1:
            value = f"{option}-{SIZES[k]}"
            rows.add("ProductOptionValue", value, now, now, option, SIZES[k], {"vi": SIZES[k], "en": SIZES[k]}, k)
            rows.add("ProductVariantOption", f"{vid}-vo", now, now, vid, option, value)


async def add_combo(
    conn: DbConn,
    catalog: DemoCatalog,
    parts: list[tuple[str, Decimal]],
    *,
    name: str,
    price: Decimal,
    own_stock: Decimal | None = None,
    kind: str = "301_COMBO",
) -> str:
    """A one-variant product of type ``kind`` on the channel, made of ``parts`` (component variant, quantity per
    combo); ``own_stock`` gives it a stock row of its own, which nfsync must ignore. Returns the combo variant id."""
    now = datetime.now(UTC)
    number = len(catalog.product_ids)
    pid, vid = f"{catalog.merchant_id}-combo{number}", f"{catalog.merchant_id}-combo{number}-v"
    sku = f"NF-COMBO-{number:05d}-{secrets.token_hex(2).upper()}"
    category = catalog.category_ids[0]
    rows = _Rows()
    rows.add("Product", pid, now, now, f"combo-{number}-{sku.lower()}", "ACTIVATED", catalog.merchant_id, category)
    # titles of 25 characters or more, like the plain products (TikTok Shop's floor)
    names = {"vi": f"Combo tiết kiệm {name}, bộ thời trang", "en": f"Value combo {name}, a bundled fashion set"}
    rows.add("ProductInfo", f"{pid}-i", now, now, "Product", pid, names, {"vi": name, "en": name})
    rows.add("SaleChannelProduct", f"{pid}-sc", now, now, pid, catalog.sale_channel_id)
    rows.add("ProductVariant", vid, now, now, f"{pid}-0", True, "ACTIVATED", pid, kind)
    rows.add("ProductIdentifier", f"{vid}-sku", now, now, sku, "ProductVariant", vid, "SKU")
    rows.add("VariantPrice", f"{vid}-pr", now, now, vid, catalog.merchant_id, "VND", price)
    if own_stock is not None:
        rows.add("StockLevel", f"{vid}-st", now, now, vid, catalog.merchant_id, "default", own_stock, Decimal(0))
    for sequence, (component, quantity) in enumerate(parts):
        rows.add("ProductBundler", f"{vid}-b{sequence}", now, now, "000_COMBO", vid, component, quantity, sequence)
    for table, values in rows.tables.items():
        await conn.copy_records_to_table(table, records=values, columns=_COLUMNS[table])
    catalog.product_ids.append(pid)
    catalog.combos.append(vid)
    catalog.skus[vid] = sku
    catalog.product_of[vid] = pid
    return vid


async def add_addon(conn: DbConn, host: str, addon: str, quantity: Decimal = Decimal(1)) -> None:
    """``addon`` given free with every unit of ``host`` sold (a ``100_ADDON`` row)."""
    await conn.execute(QUERIES["demo_add_addon"], host, addon, quantity)
