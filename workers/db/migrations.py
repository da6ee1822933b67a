"""The numbered SQL migrations shipped with the package (``workers/sql/migrations/NNNN_name.sql``).

Version 1 is the first release's ``schema.sql``; migration N takes a database from version N-1 to N, and
``schema.sql``'s version line equals the last migration's number. Each file is hand-written SQL. By default a
migration runs in one transaction; a file with the line ``-- nfsync: no-transaction`` runs its statements one
by one outside a transaction (for ``CREATE INDEX CONCURRENTLY`` and the like) and must be safe to run again
(``IF NOT EXISTS``), because a failure leaves the statements before it applied.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from nfsync.workers.db.queries import SQL_DIR
from nfsync.workers.errors import SchemaError

MIGRATIONS_DIR = SQL_DIR / "migrations"
BASELINE_VERSION = 1  # the first release's schema.sql; every migration starts from it or a later version
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_NO_TRANSACTION = re.compile(r"^--\s*nfsync:\s*no-transaction\s*$", re.MULTILINE)
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Statement:
    line: int  # where it starts in its file (1-based)
    text: str

    @property
    def head(self) -> str:
        """The statement's first line, for error messages."""
        return self.text.split("\n", 1)[0].strip()[:100]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str
    checksum: str
    transactional: bool

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @classmethod
    def load(cls, path: Path) -> Migration:
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise SchemaError(f"{path} is not named NNNN_name.sql (lower-case name)")
        raw = path.read_bytes()
        text = raw.decode()
        transactional = _NO_TRANSACTION.search(text) is None
        return cls(int(match.group(1)), match.group(2), text, hashlib.sha256(raw).hexdigest(), transactional)

    def statements(self) -> list[Statement]:
        return split_statements(self.text)


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration in the directory, in order; refuses gaps, duplicates and stray files."""
    migrations = [Migration.load(path) for path in sorted(directory.glob("*.sql"))]
    for expected, migration in enumerate(migrations, start=BASELINE_VERSION + 1):
        if migration.version != expected:
            raise SchemaError(f"migration {migration.label} in {directory}: expected number {expected:04d} next")
    return migrations


@functools.cache
def code_schema_version(directory: Path = MIGRATIONS_DIR) -> int:
    """The schema version this code expects: the last migration's number (the baseline when there is none)."""
    migrations = load_migrations(directory)
    return migrations[-1].version if migrations else BASELINE_VERSION


def split_statements(text: str) -> list[Statement]:
    """Top-level SQL statements of a script, split at semicolons outside quotes, comments and dollar quotes."""
    statements: list[Statement] = []
    start = index = 0
    while index < len(text):
        skip = _skip_literal(text, index)
        if skip > index:
            index = skip
            continue
        if text[index] == ";":
            _append(statements, text, start, index)
            start = index + 1
        index += 1
    _append(statements, text, start, len(text))
    return statements


def _append(statements: list[Statement], text: str, start: int, end: int) -> None:
    begin = _code_start(text, start, end)
    if begin < end:
        statements.append(Statement(text.count("\n", 0, begin) + 1, text[begin:end].strip()))


def _code_start(text: str, start: int, end: int) -> int:
    """Where the statement's code begins, after blank space and comments (``end`` when there is none)."""
    position = start
    while position < end:
        if text[position].isspace():
            position += 1
        elif text.startswith(("--", "/*"), position):
            position = _skip_literal(text, position)
        else:
            return position
    return end


def _skip_literal(text: str, index: int) -> int:
    """The index after a comment, quoted string, quoted identifier or dollar-quoted body starting at index (index
    itself when none starts there)."""
    char = text[index]
    if text.startswith("--", index):
        end = text.find("\n", index)
        return len(text) if end < 0 else end
    if text.startswith("/*", index):
        return _skip_block_comment(text, index)
    if char in "'\"":
        return _skip_quoted(text, index, char, escapes=char == "'" and index > 0 and text[index - 1] in "eE")
    if char == "$":
        match = _DOLLAR_TAG.match(text, index)
        if match and not (index > 0 and (text[index - 1].isalnum() or text[index - 1] == "_")):
            end = text.find(match.group(0), match.end())
            if end < 0:
                raise SchemaError(f"unterminated dollar quote {match.group(0)} in a migration")
            return end + len(match.group(0))
    return index


def _skip_block_comment(text: str, index: int) -> int:
    depth, position = 0, index
    while position < len(text):
        if text.startswith("/*", position):
            depth, position = depth + 1, position + 2
        elif text.startswith("*/", position):
            depth, position = depth - 1, position + 2
            if depth == 0:
                return position
        else:
            position += 1
    raise SchemaError("unterminated /* comment in a migration")


def _skip_quoted(text: str, index: int, quote: str, *, escapes: bool) -> int:
    position = index + 1
    while position < len(text):
        if escapes and text[position] == "\\":
            position += 2
            continue
        if text[position] == quote:
            if text.startswith(quote * 2, position):
                position += 2
                continue
            return position + 1
        position += 1
    raise SchemaError(f"unterminated {quote} quote in a migration")
