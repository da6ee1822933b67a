"""Migration files: names, numbering, the no-transaction marker, and the statement splitter."""

from __future__ import annotations

from pathlib import Path

import pytest

from nfsync.workers.db.migrations import MIGRATIONS_DIR, Migration, load_migrations, split_statements
from nfsync.workers.errors import SchemaError

HERE = Path(__file__).resolve().parent


def test_the_shipped_migrations_load_in_order() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(2, 2 + len(migrations)))
    for migration in migrations:
        assert migration.statements(), f"{migration.label} has no statement"
        if not migration.transactional:
            assert "$$" not in migration.text, f"{migration.label}: keep dollar-quoted bodies in transactional ones"


@pytest.mark.parametrize(
    ("files", "error"),
    [
        (["0003_skips.sql"], "expected number 0002 next"),
        (["0002_a.sql", "0002_b.sql"], "expected number 0003 next"),
        (["2_short.sql"], "is not named NNNN_name.sql"),
        (["0002_Upper.sql"], "is not named NNNN_name.sql"),
    ],
)
def test_bad_directories_are_refused(tmp_path: Path, files: list[str], error: str) -> None:
    for name in files:
        (tmp_path / name).write_text("SELECT 1;\n")
    with pytest.raises(SchemaError, match=error):
        load_migrations(tmp_path)


def test_the_no_transaction_marker(tmp_path: Path) -> None:
    path = tmp_path / "0002_index.sql"
    path.write_text("-- nfsync: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c);\n")
    assert not Migration.load(path).transactional
    path.write_text("-- this one says no-transaction only in prose\nCREATE INDEX i ON t (c);\n")
    assert Migration.load(path).transactional


def test_split_statements_respects_quotes_comments_and_bodies() -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (a text DEFAULT 'x;y''z', \"b;c\" int);\n"
        "/* block; /* nested; */ still; */\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$;\n"
        "DO $$ BEGIN PERFORM 1; END $$;\n"
        "SELECT E'it\\'s; fine', $1;\n"
        "   \n-- only a comment at the end;\n"
    )
    statements = split_statements(script)
    assert [s.line for s in statements] == [2, 4, 5, 6]
    assert statements[0].text == "CREATE TABLE t (a text DEFAULT 'x;y''z', \"b;c\" int)"
    assert statements[1].text.endswith("$body$ BEGIN RETURN 1; END; $body$")
    assert statements[1].head == statements[1].text, "one line: the head is the whole statement"
    assert statements[2].text == "DO $$ BEGIN PERFORM 1; END $$"
    assert statements[3].text == "SELECT E'it\\'s; fine', $1"


@pytest.mark.parametrize("script", ["SELECT 'open;", "SELECT $$ open;", "/* open; ", 'SELECT "open;'])
def test_unterminated_literals_are_refused(script: str) -> None:
    with pytest.raises(SchemaError, match="unterminated"):
        split_statements(script)


def test_the_first_release_schema_splits_into_its_statements() -> None:
    """The splitter handles everything a whole schema.sql holds (functions, DO blocks, comments with quotes)."""
    statements = split_statements((HERE / "schema_v1.sql").read_text())
    assert len(statements) > 300
    assert all(not s.text.endswith(";") for s in statements)
    assert sum(s.text.startswith("DO $$") for s in statements) >= 3
    assert MIGRATIONS_DIR.is_dir()
