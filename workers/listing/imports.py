"""Bulk import of listing profiles: JSON lines or CSV, each row validated and stored on its own, one report line per
row (``stored`` or ``refused`` with field paths). A refused row stores nothing; the other rows are unaffected.

JSON lines: ``{"product_id": "...", "shop_id": null, "profile": {...}}`` per line (``product_id`` null or absent =
the defaults). CSV (a header row, UTF-8): ``product_id``, ``shop_id``, ``category_id``, ``brand_id``,
``brand_name``, ``package_weight_kg``, ``package_length_cm``, ``package_width_cm``, ``package_height_cm``,
``images`` and ``logistics`` (``|``-separated), and one ``attribute:<id>`` column per attribute (values
``|``-separated); empty cells are not set. Variants and option names need JSON lines.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nfsync.connectors.base.errors import NfsyncError, NotFound
from nfsync.connectors.base.outbound import OutboundPolicy
from nfsync.workers.db.connect import DbConn
from nfsync.workers.engine.filters import Id
from nfsync.workers.listing.profiles import ListingProfile, image_refusals
from nfsync.workers.listing.requirements import PlatformCheck
from nfsync.workers.listing.store import Scope, save

MAX_ROWS = 10_000
SEPARATOR = "|"
ATTRIBUTE_PREFIX = "attribute:"
CSV_COLUMNS = (
    "product_id",
    "shop_id",
    "category_id",
    "brand_id",
    "brand_name",
    "package_weight_kg",
    "package_length_cm",
    "package_width_cm",
    "package_height_cm",
    "images",
    "logistics",
)
Format = Literal["jsonl", "csv"]


class ImportRow(BaseModel):
    """One JSON line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: Id | None = None
    shop_id: uuid.UUID | None = None
    profile: ListingProfile = Field(default_factory=ListingProfile)


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str


@dataclass(frozen=True)
class RowReport:
    row: int  # 1-based line (JSON lines) or record after the header (CSV)
    status: Literal["stored", "refused", "valid"]
    product_id: str | None = None
    shop_id: str | None = None
    errors: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class ImportReport:
    rows: list[RowReport]

    @property
    def stored(self) -> int:
        return sum(1 for r in self.rows if r.status == "stored")

    @property
    def refused(self) -> int:
        return sum(1 for r in self.rows if r.status == "refused")


class ImportRefused(NfsyncError):
    """The file as a whole cannot be read (not UTF-8, no header, too many rows)."""


def _problems(exc: ValidationError) -> list[Problem]:
    return [Problem(".".join(str(p) for p in e["loc"]) or "row", e["msg"]) for e in exc.errors()]


def _json_rows(text: str) -> Iterator[tuple[int, ImportRow | list[Problem]]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, ImportRow.model_validate_json(line)
        except ValidationError as exc:
            yield number, _problems(exc)


def _csv_cell_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def _csv_profile(record: dict[str, str]) -> dict[str, Any]:
    cell = {k: (v or "").strip() for k, v in record.items() if k is not None}
    profile: dict[str, Any] = {}
    if cell.get("category_id"):
        profile["category_id"] = cell["category_id"]
    brand = {k: cell[f"brand_{k}"] for k in ("id", "name") if cell.get(f"brand_{k}")}
    if brand:
        profile["brand"] = brand
    sizes = ("weight_kg", "length_cm", "width_cm", "height_cm")
    package = {k: cell[f"package_{k}"] for k in sizes if cell.get(f"package_{k}")}
    if package:
        profile["package"] = package
    if cell.get("images"):
        profile["images"] = _csv_cell_list(cell["images"])
    if cell.get("logistics"):
        profile["logistics"] = [{"id": i} for i in _csv_cell_list(cell["logistics"])]
    attributes = [
        {"id": name.removeprefix(ATTRIBUTE_PREFIX), "values": _csv_cell_list(value)}
        for name, value in cell.items()
        if name.startswith(ATTRIBUTE_PREFIX) and value
    ]
    if attributes:
        profile["attributes"] = attributes
    return profile


def _csv_rows(text: str) -> Iterator[tuple[int, ImportRow | list[Problem]]]:
    reader = csv.DictReader(io.StringIO(text))
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS and not c.startswith(ATTRIBUTE_PREFIX)]
    if not reader.fieldnames or "product_id" not in reader.fieldnames:
        raise ImportRefused("the CSV needs a header row with a product_id column")
    if unknown:
        raise ImportRefused(f"unknown CSV columns: {', '.join(unknown[:10])}")
    for number, record in enumerate(reader, 1):
        if None in record:
            yield number, [Problem("row", "more cells than header columns")]
            continue
        data = {
            "product_id": (record.get("product_id") or "").strip() or None,
            "shop_id": (record.get("shop_id") or "").strip() or None,
            "profile": _csv_profile(record),
        }
        try:
            yield number, ImportRow.model_validate(data)
        except ValidationError as exc:
            yield number, _problems(exc)


def parse(body: bytes, kind: Format) -> list[tuple[int, ImportRow | list[Problem]]]:
    """Every row, validated; the file itself refused when it cannot be read at all."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused("the file is not UTF-8 text") from None
    if "\x00" in text:
        raise ImportRefused("the file contains NUL characters")
    try:
        rows = list(_json_rows(text) if kind == "jsonl" else _csv_rows(text))
    except csv.Error as exc:
        raise ImportRefused(f"the CSV cannot be read: {exc}") from None
    if len(rows) > MAX_ROWS:
        raise ImportRefused(f"{len(rows)} rows: at most {MAX_ROWS} per import")
    return rows


async def run(
    conn: DbConn,
    organization_id: uuid.UUID,
    integration_id: uuid.UUID,
    rows: list[tuple[int, ImportRow | list[Problem]]],
    *,
    policy: OutboundPolicy,
    platform: PlatformCheck | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Store each valid row in its own savepoint; a row naming what is not the organization's is refused. A dry run
    writes every row the same way, then rolls all of them back: its report is what a real import would say."""
    outer = conn.transaction()
    await outer.start()
    try:
        owner = (organization_id, integration_id)
        checked = [(n, await _checked(r, policy, platform, integration_id)) for n, r in rows]
        return ImportReport([await _row(conn, owner, n, r, dry_run=dry_run) for n, r in checked])
    finally:
        await (outer.rollback() if dry_run else outer.commit())


async def _checked(
    row: ImportRow | list[Problem], policy: OutboundPolicy, platform: PlatformCheck | None, integration: uuid.UUID
) -> ImportRow | list[Problem]:
    """A row whose image URLs the operator's outbound policy refuses, or that names what the platform does not have,
    becomes its problems."""
    if isinstance(row, list):
        return row
    refused = image_refusals(row.profile, policy)
    if not refused and platform is not None:
        refused = await platform.refusals(integration, row.shop_id, row.profile)
    return [Problem(f"profile.{path}", reason) for path, reason in refused] if refused else row


async def _row(
    conn: DbConn,
    owner: tuple[uuid.UUID, uuid.UUID],
    number: int,
    row: ImportRow | list[Problem],
    *,
    dry_run: bool,
) -> RowReport:
    organization_id, integration_id = owner
    if isinstance(row, list):
        return RowReport(number, "refused", errors=row)
    shop = str(row.shop_id) if row.shop_id else None
    try:
        async with conn.transaction():
            await save(conn, organization_id, Scope(integration_id, row.product_id, row.shop_id), row.profile, "import")
    except NotFound as exc:
        return RowReport(number, "refused", row.product_id, shop, [Problem("row", str(exc))])
    return RowReport(number, "valid" if dry_run else "stored", row.product_id, shop)


def report_json(report: ImportReport) -> dict[str, Any]:
    return {
        "stored": report.stored,
        "refused": report.refused,
        "rows": [
            {
                "row": r.row,
                "status": r.status,
                "product_id": r.product_id,
                "shop_id": r.shop_id,
                "errors": [{"path": p.path, "reason": p.reason} for p in r.errors],
            }
            for r in report.rows
        ],
    }


def dumps(report: ImportReport) -> str:
    return json.dumps(report_json(report))
