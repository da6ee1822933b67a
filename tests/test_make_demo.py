"""``make demo DEMO_ARGS=--json | python3 -m json.tool`` works: make and scripts/services.sh print nothing on stdout,
so that stdout is the demo's JSON alone (that nfsync itself prints nothing else there: tests/test_demo.py).

Neither runs anything: make's recipe lines go to a shell that does nothing, services.sh meets stub tools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

SERVICE_TOOLS = ("pg_isready", "pg_ctlcluster", "rabbitmqctl", "rabbitmq-server", "rabbitmq-plugins")


def _shell_environment(**extra: str) -> dict[str, str]:
    """A user's shell: no enclosing make (a sub-make prints its directory on stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return {**env, **extra}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_echoes_no_recipe_line_on_stdout() -> None:
    """The demo target and the install it depends on (forced with -W) echo nothing: their lines run in a shell that
    does nothing, so that stdout holds only make's own words."""
    result = _run(["make", "-W", "pyproject.toml", "demo", "SHELL=/bin/true"], _shell_environment())
    assert result.stdout == ""


def test_services_script_says_everything_on_stderr(tmp_path: Path) -> None:
    """Every tool services.sh calls prints on stdout here, and succeeds: the script's stdout stays empty."""
    for tool in SERVICE_TOOLS:
        stub = tmp_path / tool
        stub.write_text(f"#!/bin/sh\necho '{tool} says something'\n")
        stub.chmod(0o755)
    result = _run(
        ["bash", "scripts/services.sh"], _shell_environment(PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    )
    assert result.stdout == ""
    assert "[services] PostgreSQL is up" in result.stderr and "[services] RabbitMQ is up" in result.stderr


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    return result
