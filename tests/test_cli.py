"""The nfsync command as a user runs it: one-line errors, masked settings, idempotent db init."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

import pytest
import uvloop

from nfsync.workers.cli import COMMAND_GROUPS, loop_factory
from nfsync.workers.config import Settings, load_settings, mask_url, settings_field_names
from nfsync.workers.crypto import generate_key_entry
from tests.conftest import drop_database, url_for

NFSYNC = [sys.executable, "-m", "nfsync.workers"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    clean.update(env or {})
    return subprocess.run([*NFSYNC, *args], capture_output=True, text=True, env=clean, timeout=60, check=False)


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("config", "db", "keys"):
        assert command in result.stdout


def test_config_masks_secrets() -> None:
    key = generate_key_entry("prod1")
    result = run(
        "config",
        env={
            "NFSYNC_SECRET_KEYS": key,
            "NFSYNC_DATABASE_URL": "postgresql://app:s3cretpw@db.internal:5432/nfsync",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "NFSYNC_SECRET_KEYS=prod1:***" in result.stdout
    assert "NFSYNC_DATABASE_URL=postgresql://app:***@db.internal:5432/nfsync" in result.stdout
    assert key.split(":")[1] not in result.stdout + result.stderr and "s3cretpw" not in result.stdout
    assert {line.split("=")[0] for line in result.stdout.splitlines()} == settings_field_names()


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"NFSYNC_DATABASE_URL": "mysql://x/y"}, "NFSYNC_DATABASE_URL: must start with postgresql://"),
        ({"NFSYNC_DATABASE_URL": "postgresql://h:99999/db"}, "NFSYNC_DATABASE_URL: has an invalid port"),
        ({"NFSYNC_DATABASE_URL": "postgresql://h:5432"}, "NFSYNC_DATABASE_URL: names no database"),
        ({"NFSYNC_AMQP_URL": "http://x"}, "NFSYNC_AMQP_URL: must start with amqp://"),
        ({"NFSYNC_SECRET_KEYS": "k1:short"}, "NFSYNC_SECRET_KEYS: key 'k1' is"),
        ({"NFSYNC_DB_COMMAND_TIMEOUT": "soon"}, "NFSYNC_DB_COMMAND_TIMEOUT:"),
        ({"NFSYNC_LOG_LEVEL": "loud"}, "NFSYNC_LOG_LEVEL:"),
    ],
)
def test_bad_setting_is_one_line_without_traceback(env: dict[str, str], fragment: str) -> None:
    result = run("config", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line() -> None:
    result = run(
        "db",
        "init",
        env={
            "NFSYNC_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
            "NFSYNC_DB_STARTUP_TIMEOUT": "0",
            "NFSYNC_LOG_LEVEL": "error",
        },
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:1/postgres" in lines[0]
    assert "Traceback" not in result.stderr


def test_keys_rotate_without_keyring_explains() -> None:
    result = run("keys", "rotate", env={"NFSYNC_LOG_LEVEL": "error"})
    assert result.returncode == 1
    assert "NFSYNC_SECRET_KEYS is not set; generate a key with `nfsync keys generate`" in result.stderr


def test_keys_generate_prints_a_usable_entry() -> None:
    result = run("keys", "generate", "--key-id", "k2026")
    assert result.returncode == 0
    entry = result.stdout.strip()
    assert entry.startswith("k2026:")
    assert Settings(secret_keys=entry).secret_keys is not None  # type: ignore[arg-type]


def test_db_init_twice_and_check(fresh_database_name: str) -> None:
    env = {"NFSYNC_DATABASE_URL": url_for(fresh_database_name), "NFSYNC_LOG_LEVEL": "error"}
    try:
        first = run("db", "init", env=env)
        assert first.returncode == 0 and "initialised" in first.stdout, first.stderr
        second = run("db", "init", env=env)
        assert second.returncode == 0 and "nothing to do" in second.stdout
        check = run("db", "check", env=env)
        assert check.returncode == 0 and "matches schema.sql" in check.stdout, check.stdout
    finally:
        import asyncio

        asyncio.run(drop_database(fresh_database_name))


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings_field_names():
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/nfsync"
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.secret_keys is None
    assert mask_url(settings.amqp_url) == "amqp://guest:***@127.0.0.1:5672/"


def test_readme_documents_every_setting() -> None:
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    missing = [name for name in settings_field_names() if f"`{name}`" not in readme]
    assert missing == []


# ------------------------------------------------------------------------------------------------ a lazy CLI (#15)

LAB = ("nfsync.workers.lab",)
PROBE = """
import sys
from nfsync.workers.cli import build_parser
build_parser(sys.argv[1:]).parse_args(sys.argv[1:])
print("\\n".join(sorted(sys.modules)))
"""


def loaded_by(*argv: str) -> set[str]:
    """The modules a command line loads before its command runs (parsing only)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, timeout=60
    )
    return set(result.stdout.split())


def test_a_worker_loads_no_service_lab_or_metrics_code() -> None:
    """Before: every command, ``nfsync worker`` included, imported the API, the demo, chaos, the benches and
    prometheus_client (675 modules in-process, 0.68 s); now the worker's own group only."""
    loaded = loaded_by("worker", "--platform", "shopee")
    assert not {m for m in loaded if m.startswith("nfsync.workers.api")}
    assert not {m for m in loaded if m.startswith(LAB)}
    assert not {m for m in loaded if m.startswith("prometheus_client") or ".sandbox" in m}
    assert "nfsync.workers.engine.worker" in loaded


def test_help_lists_every_command_without_loading_them() -> None:
    loaded = loaded_by("config")
    assert not {m for m in loaded if m.startswith(("nfsync.workers.api", "nfsync.workers.engine.cli", *LAB))}
    listed = run("--help").stdout
    for _, _, commands in COMMAND_GROUPS:
        assert all(name in listed for name in commands)


@pytest.mark.parametrize(
    ("module", "adder", "commands"), COMMAND_GROUPS, ids=[g[1] + ":" + g[0] for g in COMMAND_GROUPS]
)
def test_the_command_table_matches_what_each_module_adds(module: str, adder: str, commands: dict[str, str]) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    getattr(importlib.import_module(module), adder)(sub)
    assert {action.dest: action.help for action in sub._choices_actions} == commands


def test_version_and_no_abbreviated_options() -> None:
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("nfsync ")
    abbreviated = run("enqueue", "--integ", "00000000-0000-0000-0000-000000000000")
    assert abbreviated.returncode == 2 and "--integ" in abbreviated.stderr


def test_api_without_secret_keys_warns_at_start() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    clean["NFSYNC_DATABASE_URL"] = url_for("nfsync_no_such_database_for_this_test")
    command = [*NFSYNC, "api", "--port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=clean) as process:
        assert process.stderr is not None
        first = process.stderr.readline()
        process.kill()
    assert "NFSYNC_SECRET_KEYS is not set" in first


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    """``nfsync status --watch | head``: the reader leaves, nfsync exits 0 without a traceback (before: an
    internal-error exit with the BrokenPipeError logged)."""
    script = (
        "import sys\n"
        "from nfsync.workers import cli\n"
        "async def endless(settings, args):\n"
        "    while True:\n"
        "        print('line ' * 200, flush=True)\n"
        "cli.cmd_config = endless\n"
        "sys.exit(cli.run(['config']))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(10)
        process.stdout.close()
        code = process.wait(timeout=30)
        errors = process.stderr.read().decode()
    assert code == 0 and "Traceback" not in errors and "internal error" not in errors, errors


def test_an_interactive_command_fails_at_once_when_postgresql_is_down() -> None:
    """Before: ``nfsync tasks list`` retried for 30 s, one warning per retry, before its one-line error."""
    result = run("tasks", "list", env={"NFSYNC_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nfsync"})
    assert result.returncode == 1
    assert "db.connect_retry" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert "cannot reach PostgreSQL" in result.stderr


def test_commands_run_on_uvloop_unless_told_otherwise() -> None:
    factory = loop_factory(Settings())
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
    assert loop_factory(Settings(event_loop="asyncio")) is None
