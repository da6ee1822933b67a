"""The wheel is one import root with its data inside (issue #15): its only top-level name is ``nfsync``, it carries
``schema.sql``, every named-query and migration file and the dashboard's static files, and an installed wheel runs
``nfsync db init`` from any directory (before: the wheel installed ``workers`` and ``connectors`` and left
``schema.sql`` behind, so ``db init`` failed outside a checkout)."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, admin_execute, url_for

SQL = sorted(str(p.relative_to(REPO)) for p in (REPO / "workers" / "sql").rglob("*.sql"))
STATIC = sorted(str(p.relative_to(REPO)) for p in (REPO / "workers" / "api" / "static").iterdir())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [made] = out.glob("nfsync-*.whl")
    return made


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_has_one_top_level_name(wheel: Path) -> None:
    tops = {name.split("/")[0] for name in _names(wheel)}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"nfsync"}


def test_the_wheel_carries_the_schema_the_queries_the_migrations_and_the_dashboard(wheel: Path) -> None:
    names = set(_names(wheel))
    assert "nfsync/workers/sql/schema.sql" in names
    assert SQL and all(f"nfsync/{path}" in names for path in SQL), sorted(set(f"nfsync/{p}" for p in SQL) - names)
    assert STATIC and all(f"nfsync/{path}" in names for path in STATIC)


@pytest.fixture
def installed(wheel: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh virtualenv holding the wheel; its dependencies come from this interpreter's site-packages (a path
    line, so this checkout's editable finder is not loaded there)."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = next(env_dir.glob("lib/python*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    yield env_dir / "bin" / "python"


def test_an_installed_wheel_initialises_a_database_from_anywhere(
    installed: Path, tmp_path: Path, fresh_database_name: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env["NFSYNC_DATABASE_URL"] = url_for(fresh_database_name)
    probe = "import nfsync; print(nfsync.__file__)"
    where = subprocess.run(
        [str(installed), "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert where.stdout.startswith(str(tmp_path / "venv")), where.stdout  # the wheel, not this checkout
    try:
        made = subprocess.run(
            [str(installed), "-m", "nfsync.workers", "db", "init"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, made.stderr[-2000:]
    finally:
        asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{fresh_database_name}" WITH (FORCE)'))


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_every_module_imports_through_the_one_root() -> None:
    """``workers`` and ``connectors`` are also importable from a checkout's root: a bare import would load a second
    copy of a module (two registries, two settings) in tests and nowhere else."""
    sources = [p for folder in ("workers", "connectors", "tests") for p in (REPO / folder).rglob("*.py")]
    bare = sorted(
        f"{p.relative_to(REPO)}: {name}"
        for p in sources
        for name in _imports(p)
        if name.split(".")[0] in ("workers", "connectors")
    )
    assert bare == []
