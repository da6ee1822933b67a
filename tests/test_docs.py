"""The docs stand alone: every relative link in a Markdown file resolves inside the repository, and no tracked file
points at a path outside it (the project's working notes beside a checkout are not shipped)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"\.\./shared|shared/(reference|seeds)/|DESIGN\.md|reference/marketplaces\.md")
ALLOWED_OUTSIDE = {"tests/test_seed_tables.py", "tests/test_docs.py"}  # compares docs/seeds with ../shared when present


def _tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=REPO, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO / line for line in out.stdout.splitlines() if (REPO / line).is_file()]


def test_every_relative_markdown_link_resolves_inside_the_repository() -> None:
    broken = []
    for page in _tracked("*.md"):
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:|^#", target):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.is_relative_to(REPO) or not path.exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for path in _tracked("*.py", "*.md", "*.sql", "*.toml", "*.sh", "*.json", "Makefile", "Dockerfile"):
        relative = str(path.relative_to(REPO))
        if relative in ALLOWED_OUTSIDE or relative == "CHANGELOG.md":
            continue
        offenders += [
            f"{relative}: {m.group(0)}" for m in OUTSIDE.finditer(path.read_text(encoding="utf-8", errors="replace"))
        ]
    assert not offenders, offenders
