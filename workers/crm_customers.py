"""The CRM's customers (issue #18), beside ``workers/crm.py``: the ``"Customer"`` stand-in and the buyer data of
``"SalesOrder"``. Every statement is in ``sql/crm_customers.sql``.

A buyer becomes one customer per (merchant, platform, platform buyer id) - a WooCommerce guest by the keyed hash of
its normalised e-mail - created or found in the transaction of the order that names it: ``INSERT ... ON CONFLICT DO
NOTHING`` on the unique partial index, then ``SELECT ... FOR UPDATE`` and a merge, so concurrent imports of one
buyer's orders meet on one row. Name, e-mail, phone and address are stored as enc:v1 ciphertexts bound to the
merchant, table, column and row; a value the platform masked or anonymised is stored flagged in ``maskedFields`` and
never replaces a real one. Erasure anonymises the customer and its orders in one transaction and records it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nfsync.connectors.base.models import PERSONAL_FIELDS, Buyer
from nfsync.workers.crypto import Keyring, SecretField
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.logs import get_logger
from nfsync.workers.personal import guest_keys

log = get_logger(__name__)
STORE_SCOPED_IDS = frozenset({"woocommerce"})  # a WooCommerce customer id is a WordPress user id of one store
CUSTOMER_FIELD = "_customer"  # the key of "SalesOrder".buyer holding the order's Buyer (customer_sync re-reads it)


@dataclass(frozen=True)
class BuyerSource:
    """Where a buyer was seen: the merchant, platform and platform shop of an order, and the platform's times."""

    merchant_id: str
    platform: str
    platform_shop_id: str
    seen_at: datetime  # the platform's update time of the data
    ordered_at: datetime | None = None  # the order's time (None: not from an order)


@dataclass(frozen=True)
class StoredCustomer:
    id: str
    values: dict[str, str | None]  # ciphertexts
    masked: frozenset[str]
    source_updated_at: datetime | None


@dataclass(frozen=True)
class Erasure:
    id: uuid.UUID
    customer_id: str
    organization_id: uuid.UUID
    orders: int
    erased_at: datetime


def buyer_keys(keyring: Keyring | None, buyer: Buyer, source: BuyerSource) -> list[str]:
    """The ``platformBuyerId`` candidates (primary first); empty when the buyer cannot be told apart from others."""
    if buyer.platform_buyer_id:
        scoped = source.platform in STORE_SCOPED_IDS
        return [f"{source.platform_shop_id}:{buyer.platform_buyer_id}" if scoped else buyer.platform_buyer_id]
    if keyring is not None and buyer.email and "email" not in buyer.masked:
        return guest_keys(keyring, buyer.email)
    return []


def merge(stored: StoredCustomer, buyer: Buyer, seen_at: datetime) -> dict[str, bool]:
    """The fields to write (name -> whether the new value is masked). A masked value never replaces a real one; a
    real value replaces a masked one whatever its age; otherwise only newer data replaces older."""
    newer = stored.source_updated_at is None or seen_at >= stored.source_updated_at
    out: dict[str, bool] = {}
    for name in PERSONAL_FIELDS:
        if getattr(buyer, name) is None:
            continue
        incoming_masked = name in buyer.masked
        present = stored.values.get(name) is not None
        stored_masked = name in stored.masked
        if present and incoming_masked and not stored_masked:
            continue  # never overwrite a real value with a mask
        if present and not newer and not (stored_masked and not incoming_masked):
            continue
        out[name] = incoming_masked
    return out


def _field(merchant_id: str, column: str, row_id: str) -> SecretField:
    return SecretField("Customer", column, merchant_id, row_id)


async def link_customer(conn: DbConn, keyring: Keyring | None, buyer: Buyer, source: BuyerSource) -> str | None:
    """The id of the buyer's customer, created or updated in the caller's transaction; None for an unknown buyer."""
    keys = buyer_keys(keyring, buyer, source)
    if not keys:
        return None
    stored = await _find(conn, source, keys)
    if stored is None:
        await conn.execute(QUERIES["crm_customer_insert"], source.merchant_id, source.platform, keys[0])
        stored = await _find(conn, source, keys)
        assert stored is not None, "the customer was inserted or exists"
    await _apply(conn, keyring, stored, buyer, source)
    return stored.id


async def _find(conn: DbConn, source: BuyerSource, keys: list[str]) -> StoredCustomer | None:
    row = await conn.fetchrow(QUERIES["crm_customer_find_for_update"], source.merchant_id, source.platform, keys)
    if row is None:
        return None
    values = {name: row[name] for name in PERSONAL_FIELDS}
    return StoredCustomer(row["id"], values, frozenset(row["masked"]), row["source_updated_at"])


async def _apply(
    conn: DbConn, keyring: Keyring | None, stored: StoredCustomer, buyer: Buyer, source: BuyerSource
) -> None:
    plan = merge(stored, buyer, source.seen_at) if keyring is not None else {}
    if keyring is None and any(getattr(buyer, name) for name in PERSONAL_FIELDS):
        log.warning("customer.personal_data_dropped", customer_id=stored.id, reason="no NFSYNC_SECRET_KEYS")
    values = dict(stored.values)
    masked = set(stored.masked)
    for name, is_masked in plan.items():
        assert keyring is not None
        values[name] = keyring.encrypt(str(getattr(buyer, name)), _field(source.merchant_id, name, stored.id))
        if is_masked:
            masked.add(name)
        else:
            masked.discard(name)
    await conn.execute(
        QUERIES["crm_customer_update"],
        stored.id,
        *(values[name] for name in PERSONAL_FIELDS),
        sorted(masked),
        source.seen_at if plan else None,
        source.ordered_at,
    )
    if plan:
        log.info("customer.merged", customer_id=stored.id, fields=sorted(plan), masked=sorted(masked))


def sealed_buyer(
    keyring: Keyring | None, merchant_id: str, order_id: str, raw: dict[str, Any], buyer: Buyer | None
) -> dict[str, str] | None:
    """``"SalesOrder".buyer``: the platform's buyer fields and the order's Buyer, each an enc:v1 ciphertext bound to
    the order; None without a keyring (personal data is never stored in the clear)."""
    if keyring is None:
        return None
    plain = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items() if v not in (None, "", {})}
    if buyer is not None:
        plain[CUSTOMER_FIELD] = buyer.model_dump_json()
    where = SecretField("SalesOrder", "buyer", merchant_id, order_id)
    return keyring.encrypt_fields(dict(plain), where) if plain else None


def opened_buyer(keyring: Keyring, merchant_id: str, order_id: str, stored: dict[str, str]) -> Buyer | None:
    """The Buyer an order stored (``sealed_buyer``), or None when it has none."""
    token = stored.get(CUSTOMER_FIELD)
    if not isinstance(token, str):
        return None
    where = SecretField("SalesOrder", "buyer", merchant_id, order_id, CUSTOMER_FIELD)
    return Buyer.model_validate_json(keyring.decrypt(token, where).reveal())


async def attach_to_order(
    conn: DbConn,
    keyring: Keyring | None,
    order_id: str,
    *,
    raw: dict[str, Any],
    buyer: Buyer | None,
    source: BuyerSource,
) -> str | None:
    """Creates or updates the order's customer and stores the order's buyer data sealed; the customer's id. An order
    whose buyer was erased stays erased: a later sight of it (a poll's overlap, a status change) stores nothing."""
    if await conn.fetchval(QUERIES["crm_order_buyer_erased"], order_id):
        return None
    customer_id = await link_customer(conn, keyring, buyer, source) if buyer is not None else None
    sealed = sealed_buyer(keyring, source.merchant_id, order_id, raw, buyer)
    await conn.execute(QUERIES["crm_order_set_customer"], order_id, customer_id, sealed)
    return customer_id


async def erase(
    conn: DbConn, customer_id: str, *, organization_id: uuid.UUID | None, requested_by: str, reason: str
) -> Erasure | None:
    """Anonymises the customer and its orders and records it, in one transaction; None when there is no such live
    customer (in that organization)."""
    async with conn.transaction():
        row = await conn.fetchrow(QUERIES["crm_customer_lock_for_erasure"], customer_id, organization_id)
        if row is None:
            return None
        orders = await conn.fetchval(QUERIES["crm_customer_erase_orders"], customer_id)
        await conn.execute(QUERIES["crm_customer_erase"], customer_id)
        record = await conn.fetchrow(
            QUERIES["crm_customer_erasure_record"],
            row["organization_id"],
            customer_id,
            row["merchant_id"],
            requested_by,
            reason,
            orders,
        )
    assert record is not None
    log.info("customer.erased", customer_id=customer_id, orders=orders, reason=reason)
    return Erasure(record["id"], customer_id, row["organization_id"], int(orders), record["erased_at"])


async def erase_past_retention(conn: DbConn, days: int, batch: int) -> int:
    """Erases (reason ``retention``) up to ``batch`` customers without an order in ``days`` days; how many."""
    erased = 0
    for row in await conn.fetch(QUERIES["crm_customers_past_retention"], days, batch):
        done = await erase(conn, row["id"], organization_id=None, requested_by="retention", reason="retention")
        erased += done is not None
    return erased
