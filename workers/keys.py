"""`nfsync keys rotate`: re-encrypt every stored secret under the primary key; and the keyring check every process
makes at start (``verify_keyring``).

Rows are processed in batches, each in its own transaction, ordered by id, so an interrupted rotation is
resumed by running it again. A value whose key id is unknown, or that does not decrypt, is counted and left
as it is; the report names how many remain on each key id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from nfsync.connectors.base.errors import ConfigError
from nfsync.workers.crypto import Keyring, SecretField, is_ciphertext, key_id_of
from nfsync.workers.db.connect import DbConn
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.errors import DecryptionError, SecretError, UnknownKeyError
from nfsync.workers.logs import get_logger
from nfsync.workers.personal import guest_keys

log = get_logger(__name__)
CHECK_TEXT = "nfsync keyring check v1"
CHECK_FIELD = SecretField("nfsync_key_check", "value", "fleet", "1")


@dataclass(frozen=True)
class SecretTable:
    """A table with secret columns; ``columns`` in the order the update query takes them."""

    table: str
    query_prefix: str
    columns: tuple[str, ...]
    json_columns: frozenset[str] = frozenset()
    seal_plaintext: bool = False  # json values not yet encrypted are encrypted (buyer data stored before schema 17)


SECRET_TABLES = (
    SecretTable(
        "marketplace_integrations",
        "keys_integrations",
        ("credentials", "webhook_secret"),
        frozenset({"credentials"}),
    ),
    SecretTable(
        "marketplace_accounts",
        "keys_accounts",
        ("auth_data", "access_token", "refresh_token"),
        frozenset({"auth_data"}),
    ),
    SecretTable("Configuration", "keys_configurations", ("credential",)),
    SecretTable("event_subscriptions", "keys_subscriptions", ("secret",)),
    SecretTable("Customer", "keys_customers", ("name", "email", "phone", "address")),
    SecretTable("SalesOrder", "keys_sales_orders", ("buyer",), frozenset({"buyer"}), seal_plaintext=True),
)


@dataclass
class RotationReport:
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    reencrypted: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)

    def lines(self, primary: str) -> list[str]:
        out = [
            f"primary key: {primary}",
            f"rows updated: {self.rows}, values re-encrypted: {self.reencrypted}",
        ]
        for kid in sorted(self.before.keys() | self.after.keys()):
            out.append(f"key {kid}: {self.before.get(kid, 0)} values before, {self.after.get(kid, 0)} after")
        out.extend(f"not rotated: {error}" for error in self.errors)
        return out


async def count_by_key_id(conn: asyncpg.Connection) -> dict[str, int]:
    return {row["key_id"]: row["value_count"] for row in await conn.fetch(QUERIES["keys_count_by_key_id"])}


def _rotate_value(keyring: Keyring, value: Any, where: SecretField, is_json: bool, seal: bool) -> tuple[Any, int]:
    """The value re-encrypted under the primary key, and how many tokens changed."""
    if is_json:
        stored = json.loads(value) if isinstance(value, str) else value
        if not isinstance(stored, dict):
            return value, 0
        changed = 0
        for name, token in stored.items():
            if isinstance(token, str) and keyring.needs_rotation(token):
                stored[name] = keyring.reencrypt(token, where.with_field(name))
                changed += 1
            elif seal and not is_ciphertext(token):
                plain = token if isinstance(token, str) else json.dumps(token)
                stored[name] = keyring.encrypt(plain, where.with_field(name))
                changed += 1
        return json.dumps(stored), changed
    if is_ciphertext(value) and keyring.needs_rotation(value):
        return keyring.reencrypt(value, where), 1
    return value, 0


def _rotate_row(keyring: Keyring, spec: SecretTable, row: asyncpg.Record) -> tuple[list[Any], int]:
    values, changed = [], 0
    for column in spec.columns:
        where = SecretField(spec.table, column, row["organization_id"], row["row_id"])
        new_value, count = _rotate_value(keyring, row[column], where, column in spec.json_columns, spec.seal_plaintext)
        values.append(new_value)
        changed += count
    return values, changed


async def _rotate_batch(
    conn: asyncpg.Connection,
    keyring: Keyring,
    spec: SecretTable,
    *,
    after_id: str,
    size: int,
    report: RotationReport,
) -> str | None:
    """One transaction; returns the last id seen, or None when the table is done."""
    async with conn.transaction():
        rows = await conn.fetch(QUERIES[f"{spec.query_prefix}_batch"], keyring.primary, after_id, size)
        for row in rows:
            try:
                values, changed = _rotate_row(keyring, spec, row)
            except SecretError as exc:
                report.errors.append(f"{spec.table} row {row['row_id']}: {exc}")
                continue
            await conn.execute(QUERIES[f"{spec.query_prefix}_update"], row["row_id"], *values)
            report.rows += 1
            report.reencrypted += changed
    return rows[-1]["row_id"] if rows else None


async def verify_keyring(conn: DbConn | asyncpg.Pool, keyring: Keyring) -> None:
    """Refuse a keyring that cannot decrypt the database's check value (ConfigError naming the key id, never a key);
    the first keyring to start writes the check."""
    stored = await conn.fetchval(QUERIES["key_check_get"])
    if stored is None:
        await conn.execute(QUERIES["key_check_set"], keyring.encrypt(CHECK_TEXT, CHECK_FIELD))
        stored = await conn.fetchval(QUERIES["key_check_get"])
    try:
        matches = keyring.decrypt(stored, CHECK_FIELD).reveal() == CHECK_TEXT
    except UnknownKeyError:
        raise ConfigError(
            f"NFSYNC_SECRET_KEYS lacks key {key_id_of(stored)!r}, which encrypted this database's secrets; add it "
            "(primary first, older keys after it)"
        ) from None
    except DecryptionError:
        matches = False
    if not matches:
        raise ConfigError(
            f"the key {key_id_of(stored)!r} in NFSYNC_SECRET_KEYS is not the key that encrypted this database's "
            "secrets; use the deployment's keyring"
        )


async def rotate_keys(conn: asyncpg.Connection, keyring: Keyring, batch_size: int = 500) -> RotationReport:
    """Re-encrypt every secret not on the primary key, then the keyring check; resumable. A keyring that fails the
    check rotates nothing."""
    await verify_keyring(conn, keyring)
    await conn.set_type_codec("jsonb", encoder=_json_encode, decoder=json.loads, schema="pg_catalog")
    report = RotationReport(before=await count_by_key_id(conn))
    for spec in SECRET_TABLES:
        last: str | None = ""
        while last is not None:
            last = await _rotate_batch(conn, keyring, spec, after_id=last, size=batch_size, report=report)
        log.info("keys.table_rotated", table=spec.table, rows=report.rows)
    report.rows += await _rekey_guests(conn, keyring, batch_size)
    report.after = await count_by_key_id(conn)
    await conn.execute(QUERIES["key_check_rotate"], keyring.encrypt(CHECK_TEXT, CHECK_FIELD))
    log.info("keys.rotated", primary=keyring.primary, values=report.reencrypted, errors=len(report.errors))
    return report


async def _rekey_guests(conn: asyncpg.Connection, keyring: Keyring, batch_size: int) -> int:
    """Guest customers keyed by an e-mail hash under an older key get the primary key's hash (from their e-mail),
    one batch per transaction; how many."""
    done, last = 0, ""
    while True:
        async with conn.transaction():
            rows = await conn.fetch(QUERIES["keys_guest_customers_batch"], keyring.primary, last, batch_size)
            for row in rows:
                if row["email"] is None:
                    continue
                where = SecretField("Customer", "email", row["merchant_id"], row["id"])
                email = keyring.decrypt(row["email"], where).reveal()
                await conn.execute(QUERIES["keys_guest_customer_rekey"], row["id"], guest_keys(keyring, email)[0])
                done += 1
        if not rows:
            return done
        last = rows[-1]["id"]


def _json_encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
