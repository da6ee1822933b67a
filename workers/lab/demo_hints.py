"""The commands `nfsync demo` suggests at its end, written so that they work as printed.

``nfsync`` is named as the person who started the demo can run it: plain ``nfsync`` when that is on PATH and is this
interpreter's, else the path of this interpreter's ``nfsync`` relative to the current directory (``make demo`` from
the repository root: ``.venv/bin/nfsync``). A long command is wrapped with shell line continuations.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTINUATION = " \\"
INDENT = "  "


@dataclass(frozen=True)
class Hint:
    """A command to run next: what it is for, and its shell words (environment assignments first, already quoted)."""

    purpose: str
    words: tuple[str, ...]

    @property
    def command(self) -> str:
        """The command on one line."""
        return " ".join(self.words)

    def as_json(self) -> dict[str, str]:
        return {"purpose": self.purpose, "command": self.command}

    def lines(self, width: int) -> list[str]:
        """The purpose, then the command indented and wrapped at ``width`` with backslash continuations."""
        return [f"{self.purpose}:", *wrap_words(self.words, width)]


def make_hint(purpose: str, env: Mapping[str, str], args: Sequence[str]) -> Hint:
    """``env`` and ``args`` unquoted; the nfsync program in front of ``args``."""
    assignments = [f"{name}={shlex.quote(value)}" for name, value in env.items()]
    return Hint(purpose, (*assignments, *nfsync_program(), *(shlex.quote(arg) for arg in args)))


def wrap_words(words: Sequence[str], width: int) -> list[str]:
    """``words`` packed into lines of at most ``width`` characters (a longer word gets a line of its own); every line
    but the last ends with a backslash, the first is indented by two spaces and the next ones by four."""
    lines: list[list[str]] = [[]]
    for word in words:
        indent = INDENT * (1 if len(lines) == 1 else 2)
        candidate = " ".join([*lines[-1], word])
        if lines[-1] and len(indent) + len(candidate) + len(CONTINUATION) > width:
            lines.append([])
        lines[-1].append(word)
    return [
        (INDENT if i == 0 else INDENT * 2) + " ".join(line) + (CONTINUATION if i < len(lines) - 1 else "")
        for i, line in enumerate(lines)
    ]


def nfsync_program() -> list[str]:
    """How to run this installation's ``nfsync`` from the current directory."""
    script = Path(sysconfig.get_path("scripts")) / "nfsync"
    if not script.is_file():  # not installed as a script: the module through this interpreter
        return [shlex.quote(_from_here(Path(sys.executable))), "-m", "nfsync.workers"]
    found = shutil.which("nfsync")
    if found is not None and _same_file(Path(found), script):
        return ["nfsync"]
    return [shlex.quote(_from_here(script))]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _from_here(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else absolute; always with a slash, so that a
    shell runs that file rather than looking the name up on PATH."""
    absolute = path.absolute()
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    return str(relative) if os.sep in str(relative) else f".{os.sep}{relative}"


def plain(value: Any) -> Any:
    """``json.dumps`` default: a Hint as its purpose and one-line command, anything else as its text."""
    return value.as_json() if isinstance(value, Hint) else str(value)
