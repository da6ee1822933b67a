"""The lab's named SQL (``workers/lab/sql``: demo, chaos, seeds) with the runtime's: lab modules read both through
this registry; the runtime's ``QUERIES`` never holds a lab query."""

from __future__ import annotations

from pathlib import Path

from nfsync.workers.db.queries import SQL_DIR, QueryRegistry

LAB_SQL_DIR = Path(__file__).resolve().parent / "sql"
QUERIES = QueryRegistry(SQL_DIR, LAB_SQL_DIR)
