"""Named SQL queries loaded once from ``workers/sql/*.sql``.

A file holds blocks that start with ``-- name: <query_name>``; the block's text up to the next marker is the
query. Call sites use ``QUERIES["name"]`` with ``$1`` parameters; no SQL is built from strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_MARKER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class QueryRegistry(Mapping[str, str]):
    def __init__(self, *directories: Path) -> None:
        self._queries: dict[str, str] = {}
        self._where = ", ".join(str(d) for d in directories)
        for directory in directories:
            for path in sorted(directory.glob("*.sql")):
                self._load(path)

    def _load(self, path: Path) -> None:
        text = path.read_text()
        markers = list(_MARKER.finditer(text))
        for index, marker in enumerate(markers):
            end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
            name = marker.group(1)
            if name in self._queries:
                raise ValueError(f"query {name!r} is defined twice ({path.name})")
            self._queries[name] = text[marker.end() : end].strip().rstrip(";")

    def __getitem__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise KeyError(f"no SQL query named {name!r} in {self._where}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)


QUERIES = QueryRegistry(SQL_DIR)
