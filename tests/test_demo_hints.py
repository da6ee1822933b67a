"""The commands the demo suggests: wrapped for 80 columns so that a shell reads them back whole, naming nfsync as the
shell that started the demo finds it, and repeating the demo's own options."""

from __future__ import annotations

import shlex
import subprocess
import sysconfig
import uuid
from pathlib import Path

import pytest

from nfsync.workers.cli import build_parser
from nfsync.workers.lab.demo import DemoOptions
from nfsync.workers.lab.demo_hints import make_hint, nfsync_program, wrap_words

SCRIPTS = Path(sysconfig.get_path("scripts"))
WORDS = (
    "NFSYNC_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/nfsync_demo",
    ".venv/bin/nfsync",
    "tokens",
    "create",
    "--org",
    str(uuid.UUID(int=0)),
    "--scopes",
    "ops:read,tasks:write",
)


def _as_bash_reads_it(lines: list[str]) -> list[str]:
    """The words bash makes of ``lines`` (backslash-newline continues a line)."""
    script = "printf '%s\\n' " + "\n".join(lines)
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()


def test_a_long_command_wraps_within_80_columns_and_pastes_back_whole() -> None:
    lines = wrap_words(WORDS, 80)
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1]) and not lines[-1].endswith("\\")
    assert _as_bash_reads_it(lines) == list(WORDS)


def test_a_word_longer_than_the_width_gets_a_line_of_its_own() -> None:
    lines = wrap_words(("a", "b" * 90, "c"), 80)
    assert lines == ["  a \\", "    " + "b" * 90 + " \\", "    c"]


@pytest.mark.skipif(not (SCRIPTS / "nfsync").is_file(), reason="nfsync is not installed as a script")
def test_nfsync_is_named_as_the_shell_finds_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(SCRIPTS.parent.parent)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert nfsync_program() == [f"{SCRIPTS.parent.name}/bin/nfsync"]
    monkeypatch.setenv("PATH", f"{SCRIPTS}:/usr/bin:/bin")
    assert nfsync_program() == ["nfsync"]
    monkeypatch.chdir(tmp_path)  # not above the virtualenv: its absolute path
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert nfsync_program() == [str(SCRIPTS / "nfsync")]


def test_values_are_quoted_for_the_shell() -> None:
    hint = make_hint("x", {"NFSYNC_DATABASE_URL": "postgresql://h/d?a=1&b=2"}, ["tasks", "list", "--shop", "a b"])
    words = shlex.split(hint.command)
    assert words[0] == "NFSYNC_DATABASE_URL=postgresql://h/d?a=1&b=2" and words[-2:] == ["--shop", "a b"]


def test_the_rerun_hint_repeats_the_options_that_differ_from_the_defaults() -> None:
    options = DemoOptions(database="nfsync_demo_x", variants=20, timeout=60.5, json=True)
    args = options.rerun_args()
    assert args == ["--database", "nfsync_demo_x", "--variants", "20", "--timeout", "60.5"]
    parsed = build_parser(["demo", *args]).parse_args(["demo", *args, "--json"])
    assert DemoOptions.from_args(parsed) == options
