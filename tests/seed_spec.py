"""Reads the integration seed (docs/seeds/000_*.txt) into table specifications - nothing is retyped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "docs" / "seeds" / "000_418f04a3c09a7a38.txt"
_SECTION = re.compile(r"^## \d+\. BẢNG (\w+)\s*$", re.MULTILINE)
_SUBSECTION = re.compile(r"^### \d+\.(\d+)\. .*$", re.MULTILINE)


@dataclass
class SeedColumn:
    name: str
    type: str
    nullable: bool
    default: str
    description: str


@dataclass
class SeedTable:
    name: str
    columns: list[SeedColumn] = field(default_factory=list)
    indexes: list[tuple[str, str, list[str]]] = field(default_factory=list)
    constraints: list[tuple[str, str, str]] = field(default_factory=list)
    example: dict[str, object] = field(default_factory=dict)


def _rows(block: str) -> list[list[str]]:
    rows = []
    for line in block.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # drop the header


def _subsections(body: str) -> dict[int, str]:
    marks = list(_SUBSECTION.finditer(body))
    return {
        int(m.group(1)): body[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(body)]
        for i, m in enumerate(marks)
    }


def _parse_table(name: str, body: str) -> SeedTable:
    parts = _subsections(body)
    table = SeedTable(name)
    for col, typ, nullable, default, desc in _rows(parts[2]):
        table.columns.append(SeedColumn(col, typ, nullable == "true", default, desc))
    for idx_name, kind, cols, _desc in _rows(parts[3]):
        table.indexes.append((idx_name, kind, [c.strip() for c in cols.split(",")]))
    for con_name, kind, desc in _rows(parts[4]):
        table.constraints.append((con_name, kind, desc))
    example = re.search(r"```json\n(.*?)```", parts[5], re.DOTALL)
    if example:
        table.example = json.loads(example.group(1))
    return table


def seed_tables() -> dict[str, SeedTable]:
    """The fully specified tables of the seed, by name."""
    text = SEED.read_text()
    marks = list(_SECTION.finditer(text))
    tables = {}
    for i, mark in enumerate(marks):
        body = text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        tables[mark.group(1).lower()] = _parse_table(mark.group(1).lower(), body)
    return tables


def named_tables() -> list[str]:
    """Every table the seed's section 1.2 lists."""
    text = SEED.read_text()
    section = text[text.index("### 1.2") : text.index("## 2.")]
    return re.findall(r"^\d+\. `(\w+)`", section, re.MULTILINE)


def listed_values(description: str) -> tuple[set[str], bool]:
    """Allowed values named in a description ('Trạng thái: a, b, c'); True when the list ends in 'etc.'."""
    listed = description.split(":", 1)[1]
    values = {v.strip().rstrip(".") for v in listed.split(",")}
    open_ended = "etc" in values
    return {v for v in values if v and v != "etc"}, open_ended
