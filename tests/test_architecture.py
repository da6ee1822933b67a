"""The rules that keep the rooms apart (issue #15), checked on the import statements of every module:

- the runtime never imports the lab (``nfsync.workers.lab``: demo, benchmarks, chaos, synthetic data, diagnostic
  handlers); the command line reaches it by name only when a lab command runs;
- ``connectors`` never imports ``workers``;
- the engine imports neither the service (``api``) nor the syncs (``sync``): they plug into it;
- listing content (``listing``: profiles) serves both the service and the syncs and imports neither;
- no production module of a platform imports an emulator (``connectors/<platform>/sandbox/``,
  ``connectors/base/sandbox*.py``); the lab and the tests reach them through ``load_sandbox``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO


def _modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _is_emulator(path: Path) -> bool:
    parts = path.relative_to(REPO).parts
    return "sandbox" in parts or path.name in ("sandbox.py", "sandboxes.py")


RUNTIME = [p for p in _modules("workers") if "lab" not in p.relative_to(REPO).parts]
ENGINE = _modules("workers/engine")
CONNECTORS = _modules("connectors")
PRODUCTION_CONNECTORS = [p for p in CONNECTORS if not _is_emulator(p)]
RULES = [
    ("the runtime imports no lab module", RUNTIME, ("nfsync.workers.lab",)),
    ("connectors import no workers module", CONNECTORS, ("nfsync.workers",)),
    ("the engine imports neither the service nor the syncs", ENGINE, ("nfsync.workers.api", "nfsync.workers.sync")),
    ("production connector code imports no emulator", PRODUCTION_CONNECTORS, ("nfsync.connectors.base.sandbox",)),
    ("the service imports no sync handler", _modules("workers/api"), ("nfsync.workers.sync",)),
    (
        "listing content serves the service and the syncs, imports neither",
        _modules("workers/listing"),
        ("nfsync.workers.api", "nfsync.workers.sync"),
    ),
]


def _breaks(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        for name in _imports(path):
            if name.startswith(forbidden) or (".sandbox" in name and forbidden[0].endswith("base.sandbox")):
                found.append(f"{path.relative_to(REPO)} imports {name}")
    return sorted(set(found))


@pytest.mark.parametrize(("rule", "paths", "forbidden"), RULES, ids=[rule for rule, _, _ in RULES])
def test_rule(rule: str, paths: list[Path], forbidden: tuple[str, ...]) -> None:
    assert paths, rule
    assert _breaks(paths, forbidden) == []


def test_the_rules_catch_a_break() -> None:
    """A rule that cannot fail proves nothing: each one flags the import it forbids."""
    assert _breaks([REPO / "workers" / "lab" / "demo.py"], ("nfsync.workers.api",))
    assert _breaks([REPO / "connectors" / "base" / "sandboxes.py"], ("nfsync.connectors.base.sandbox",))


def test_the_runtime_asks_the_platform_instead_of_naming_it() -> None:
    """Platform facts live in the platform package (PlatformSpec: push_signed_with, is_ping, is_echo,
    shop_url_is_store): no runtime module compares a platform with a platform's name."""
    names = ("shopee", "lazada", "tiktok", "woocommerce")
    found = []
    for path in RUNTIME:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                operands = [node.left, *node.comparators]
                if any(isinstance(o, ast.Constant) and o.value in names for o in operands):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == []
