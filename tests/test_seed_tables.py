"""The four tables the seed specifies, compared with the live catalog; the seed's JSON examples insert."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import SEEDS
from tests.seed_spec import SeedTable, listed_values, named_tables, seed_tables

SPECIFIED = ["marketplace_integrations", "marketplace_accounts", "marketplace_shops", "sync_tasks"]
DESIGNED = ["marketplace_webhooks", "sync_logs", "product_mappings", "order_mappings"]
# The seed's `enum` columns are text + CHECK (documented at the top of schema.sql).
TYPE_MAP = {"enum": "text", "timestamp": "timestamp without time zone", "integer": "integer"}
PLATFORMS = {"shopee", "lazada", "tiktok", "woocommerce", "shopify"}
TASK_TYPES = {"product_sync", "order_sync", "inventory_sync", "price_sync", "shop_sync", "customer_sync"}


def expected_type(seed_type: str) -> str:
    if seed_type in TYPE_MAP:
        return TYPE_MAP[seed_type]
    seed_type = re.sub(r"^varchar", "character varying", seed_type)
    return re.sub(r"^decimal", "numeric", seed_type)


def normalise_default(expr: str | None) -> str | None:
    if expr is None or re.fullmatch(r"NULL(::[\w ]+(\(\d+\))?)?", expr):
        return None
    match = re.fullmatch(r"'(.*)'::[\w ]+(\(\d+\))?", expr)
    return f"'{match.group(1)}'" if match else expr


def seed_default(value: str) -> str | None:
    return None if value in ("", "null") else value


async def live_columns(conn: asyncpg.Connection, table: str) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                  pg_get_expr(d.adbin, d.adrelid) AS default, col_description(a.attrelid, a.attnum) AS comment
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
        table,
    )
    return {row["attname"]: row for row in rows}


@pytest.fixture(scope="module")
def spec() -> dict[str, SeedTable]:
    return seed_tables()


def test_seed_copy_matches_shared_seeds() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout")
    for path in shared.glob("*.txt"):
        assert (SEEDS / path.name).read_bytes() == path.read_bytes(), f"docs/seeds/{path.name} drifted"


def test_parser_reads_all_four_specified_tables(spec: dict[str, SeedTable]) -> None:
    assert sorted(spec) == sorted(SPECIFIED)
    assert all(t.columns and t.indexes and t.constraints and t.example for t in spec.values())
    assert sorted(named_tables()) == sorted(SPECIFIED + DESIGNED)


@pytest.mark.parametrize("table", SPECIFIED)
async def test_columns_match_seed(conn: asyncpg.Connection, spec: dict[str, SeedTable], table: str) -> None:
    live = await live_columns(conn, table)
    for column in spec[table].columns:
        assert column.name in live, f"{table}.{column.name} missing"
        row = live[column.name]
        assert row["type"] == expected_type(column.type), f"{table}.{column.name} type"
        assert row["attnotnull"] == (not column.nullable), f"{table}.{column.name} nullability"
        assert normalise_default(row["default"]) == seed_default(column.default), f"{table}.{column.name} default"


@pytest.mark.parametrize("table", SPECIFIED)
async def test_added_columns_are_commented(conn: asyncpg.Connection, spec: dict[str, SeedTable], table: str) -> None:
    seed_names = {c.name for c in spec[table].columns}
    live = await live_columns(conn, table)
    seed_order = [name for name in live if name in seed_names]
    assert seed_order == [c.name for c in spec[table].columns], "seed columns keep the seed's order"
    for name, row in live.items():
        if name not in seed_names:
            assert row["comment"] and row["comment"].startswith("nfsync:"), f"{table}.{name} needs a why-comment"


@pytest.mark.parametrize("table", SPECIFIED)
async def test_indexes_match_seed(conn: asyncpg.Connection, spec: dict[str, SeedTable], table: str) -> None:
    for name, kind, columns in spec[table].indexes:
        row = await conn.fetchrow(
            """SELECT i.indisunique, i.indisprimary, tbl.relname AS table_name,
                      array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)::text[]
                        AS columns
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class tbl ON tbl.oid = i.indrelid
               WHERE c.relname = $1""",
            name,
        )
        assert row is not None, f"index {name} missing"
        assert row["table_name"] == table and list(row["columns"]) == columns, name
        assert row["indisprimary"] == (kind == "PRIMARY KEY"), name
        assert row["indisunique"] == (kind in ("PRIMARY KEY", "UNIQUE")), name


@pytest.mark.parametrize("table", SPECIFIED)
async def test_constraints_match_seed(conn: asyncpg.Connection, spec: dict[str, SeedTable], table: str) -> None:
    for name, kind, description in spec[table].constraints:
        row = await conn.fetchrow(
            "SELECT contype::text AS contype, conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS def"
            " FROM pg_constraint WHERE conname = $1",
            name,
        )
        assert row is not None and row["tbl"] == table, f"constraint {name} missing on {table}"
        if kind == "FOREIGN KEY":
            target = re.search(r"(\w+)\((\w+)\)", description)
            assert target is not None
            assert row["contype"] == "f" and f"REFERENCES {target.group(1)}({target.group(2)})" in row["def"], name
        else:
            assert kind == "CHECK" and row["contype"] == "c", name


def _check_values(definition: str) -> set[str]:
    return set(re.findall(r"'([a-z_]+)'", definition))


@pytest.mark.parametrize("table", SPECIFIED)
async def test_check_constraints_allow_listed_values(
    conn: asyncpg.Connection, spec: dict[str, SeedTable], table: str
) -> None:
    for column in spec[table].columns:
        name = f"{table}_{column.name}_check"
        definition = await conn.fetchval("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", name)
        if definition is None or ":" not in column.description or column.name in ("priority", "progress"):
            continue
        allowed, open_ended = listed_values(column.description)
        if column.name == "platform":
            assert _check_values(definition) == PLATFORMS
        elif column.name == "task_type":
            assert _check_values(definition) == TASK_TYPES
        elif open_ended:
            assert allowed <= _check_values(definition), name
        else:
            assert _check_values(definition) == allowed, name


@pytest.mark.parametrize("table", DESIGNED)
async def test_designed_tables_in_seed_style(conn: asyncpg.Connection, table: str) -> None:
    live = await live_columns(conn, table)
    assert live["id"]["type"] == "uuid" and live["id"]["default"] == "gen_random_uuid()"
    assert live["organization_id"]["attnotnull"]
    assert "created_at" in live
    for name, row in live.items():
        assert row["comment"], f"{table}.{name} has no comment"
    assert await conn.fetchval("SELECT obj_description($1::regclass, 'pg_class')", table)


def _fake_id_map(examples: dict[str, SeedTable]) -> dict[str, str]:
    fake = re.compile(r"^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$")
    mapping: dict[str, str] = {}
    for table in examples.values():
        for key, value in table.example.items():
            is_id = key == "id" or key.endswith(("_id", "_by"))
            if is_id and isinstance(value, str) and fake.match(value):
                mapping.setdefault(value, str(uuid.uuid4()))
    return mapping


async def test_seed_json_examples_insert_as_written(conn: asyncpg.Connection, spec: dict[str, SeedTable]) -> None:
    ids = _fake_id_map(spec)
    example = spec["marketplace_integrations"].example
    org, user = ids[str(example["organization_id"])], ids[str(example["created_by"])]
    await conn.execute("INSERT INTO organizations (id, name) VALUES ($1, 'Seed org')", org)
    await conn.execute("INSERT INTO users (id, organization_id) VALUES ($1, $2)", user, org)
    for table in SPECIFIED:
        record = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in spec[table].example.items()}
        columns = ", ".join(record)
        await conn.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_populate_record(NULL::{table}, $1::jsonb)",
            json.dumps(record),
        )
        stored = await conn.fetchrow(f"SELECT * FROM {table} WHERE id = $1", record["id"])
        assert stored is not None
        assert str(stored["organization_id"]) == org
    task = await conn.fetchrow("SELECT * FROM sync_tasks")
    assert task["platform"] == "shopee", "platform is filled from the integration"
    assert task["progress"] == 100 and task["failed_items"] == 2
