"""The ``nfsync`` command.

Every sub-command is an async function ``(settings, args) -> exit code``. Expected failures are
:class:`NfsyncError` and end with one line on stderr and exit code 1; nothing prints a traceback except an
unexpected crash, which is logged (structured, redacted) and exits 70.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from nfsync import __version__
from nfsync.connectors.base.errors import NfsyncError
from nfsync.workers.config import Settings, load_settings
from nfsync.workers.logs import configure_logging, get_logger

Command = Callable[[Settings, argparse.Namespace], Awaitable[int]]
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CRASH = 70
EXIT_INTERRUPTED = 130

log = get_logger("nfsync.cli")


async def cmd_config(settings: Settings, _args: argparse.Namespace) -> int:
    for name, value in settings.masked().items():
        print(f"{name}={value}")
    return 0


async def cmd_db_init(settings: Settings, args: argparse.Namespace) -> int:
    from nfsync.workers.db.schema import init_database

    print(await init_database(settings, args.schema))
    await _write_key_check(settings)
    return 0


async def _write_key_check(settings: Settings) -> None:
    """With NFSYNC_SECRET_KEYS set, db init and db migrate write (or verify) the keyring check value."""
    if settings.secret_keys is None:
        return
    from nfsync.workers.crypto import Keyring
    from nfsync.workers.db.connect import connect
    from nfsync.workers.keys import verify_keyring

    conn = await connect(settings, application="nfsync-db-init")
    try:
        await verify_keyring(conn, Keyring.from_secret(settings.secret_keys))
    finally:
        await conn.close()


async def cmd_db_check(settings: Settings, args: argparse.Namespace) -> int:
    from nfsync.workers.db.schema import check_database

    problems = await check_database(settings, args.schema)
    if not problems:
        print(f"database {settings.database_name!r} matches schema.sql")
        return 0
    for line in problems:
        print(line)
    print(f"{len(problems)} difference(s) between database {settings.database_name!r} and schema.sql")
    return EXIT_ERROR


async def cmd_db_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from nfsync.workers.db.migrate import migrate_database

    lines = await migrate_database(
        settings,
        dry_run=args.dry_run,
        wait_seconds=args.wait,
        lock_timeout_seconds=args.lock_timeout,
        schema_path=args.schema,
    )
    print("\n".join(lines))
    if not args.dry_run:
        await _write_key_check(settings)
    return 0


async def cmd_db_status(settings: Settings, _args: argparse.Namespace) -> int:
    from nfsync.workers.db.migrate import status_lines

    print("\n".join(await status_lines(settings)))
    return 0


async def cmd_keys_generate(_settings: Settings, args: argparse.Namespace) -> int:
    from nfsync.workers.crypto import generate_key_entry

    print(generate_key_entry(args.key_id))
    print(
        "put it first in NFSYNC_SECRET_KEYS (comma-separated, primary first), keep the old keys after it, "
        "then run `nfsync keys rotate`",
        file=sys.stderr,
    )
    return 0


async def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from nfsync.workers.crypto import Keyring
    from nfsync.workers.db.connect import connect
    from nfsync.workers.keys import rotate_keys

    keyring = Keyring.from_secret(settings.secret_keys)
    conn = await connect(settings, application="nfsync-keys-rotate")
    try:
        report = await rotate_keys(conn, keyring, args.batch_size or settings.keys_rotate_batch_size)
    finally:
        await conn.close()
    for line in report.lines(keyring.primary):
        print(line)
    return EXIT_ERROR if report.errors else 0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"not a number of seconds between 0 and 86400: {text!r}")
    return value


def _add_schema_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", type=Path, default=None, help="schema file (default: NFSYNC_SCHEMA_PATH)")


def _db_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    init = db.add_parser("init", help="create the database if missing and apply schema.sql (idempotent)")
    _add_schema_option(init)
    init.set_defaults(handler=cmd_db_init)
    migrate = db.add_parser("migrate", help="apply the pending numbered migrations (schema.sql on an empty database)")
    _add_schema_option(migrate)
    migrate.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    migrate.add_argument(
        "--wait",
        type=_positive_seconds,
        default=600.0,
        help="seconds to wait for another db init/migrate to finish (default 600)",
    )
    migrate.add_argument(
        "--lock-timeout",
        type=_positive_seconds,
        default=10.0,
        help="seconds one statement may wait for a table lock before the migration is rolled back "
        "(default 10: the service's queries queue behind a waiting ALTER)",
    )
    migrate.set_defaults(handler=cmd_db_migrate)
    status = db.add_parser("status", help="installed and available schema versions, pending migrations")
    status.set_defaults(handler=cmd_db_status)
    check = db.add_parser("check", help="compare the live database with schema.sql")
    _add_schema_option(check)
    check.set_defaults(handler=cmd_db_check)


def _keys_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="encryption keys for stored secrets").add_subparsers(
        dest="keys_command", required=True
    )
    generate = keys.add_parser("generate", help="print a new key entry for NFSYNC_SECRET_KEYS")
    generate.add_argument("--key-id", default=None, help="key id (default: random)")
    generate.set_defaults(handler=cmd_keys_generate)
    rotate = keys.add_parser("rotate", help="re-encrypt every stored secret under the primary key (resumable)")
    rotate.add_argument("--batch-size", type=int, default=None, help="rows per transaction")
    rotate.set_defaults(handler=cmd_keys_rotate)


COMMAND_GROUPS: tuple[tuple[str, str, dict[str, str]], ...] = (
    (
        "nfsync.workers.engine.cli",
        "add_commands",
        {
            "enqueue": "enqueue a sync task (coalesces into a pending one for the same shop)",
            "worker": "run a worker for one or more platforms",
            "scheduler": "run the scheduler (several may run; one leads)",
            "tasks": "inspect and operate tasks",
        },
    ),
    ("nfsync.workers.api.cli", "add_admin_commands", {"orgs": "organizations", "tokens": "API tokens"}),
    ("nfsync.workers.shop_cli", "add_shop_commands", {"shops": "shop health, pause and resume"}),
    ("nfsync.workers.customers_cli", "add_customer_commands", {"customers": "customers' personal data"}),
    ("nfsync.workers.api.cli", "add_api_command", {"api": "run the HTTP service (webhooks, APIs, ops dashboard)"}),
    (
        "nfsync.workers.engine.cli",
        "add_status_command",
        {
            "status": "the queue table: broker queues and task counts per platform",
        },
    ),
    (
        "nfsync.workers.sync.cli",
        "add_sync_commands",
        {
            "plan": "dry run: what a sync of one shop would create, update, skip (no writes)",
            "reconcile": "compare CRM and platform for one shop; --fix enqueues the syncs",
        },
    ),
    (
        "nfsync.workers.listing.cli",
        "add_commands",
        {
            "profiles": "listing profiles: import (JSON lines, CSV), show, list",
        },
    ),
    (
        "nfsync.workers.lab.chaos",
        "add_command",
        {
            "chaos": "the service under injected faults and crashes, then the invariants",
        },
    ),
    (
        "nfsync.workers.lab.bench",
        "add_commands",
        {
            "bench": "benchmarks",
            "sandbox": "run a platform sandbox (a local emulator of its API)",
        },
    ),
    (
        "nfsync.workers.lab.demo",
        "add_command",
        {
            "demo": "the whole service end to end against the four sandboxes (a fresh database)",
        },
    ),
)
"""(module, the function that adds its sub-commands, {command: one-line help}). A command's module is imported only
when that command runs (``nfsync worker`` loads no API, lab, ``rich`` or Prometheus code); ``nfsync --help`` lists
every command from this table alone. tests/test_cli.py checks the table against what each module adds."""


def _group(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != "rich":
            raise
        raise SystemExit(
            "nfsync: this command is part of the lab; install it with: pip install 'nfsync[lab]'"
        ) from None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: the named command's group is loaded, the others are listed by name and help only.
    Without ``argv``, every group is loaded (the full parser, for tests and documentation checks)."""
    parser = argparse.ArgumentParser(
        prog="nfsync",
        description="Keeps NextFlow CRM and the marketplaces in sync. Settings: NFSYNC_* variables.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"nfsync {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config = sub.add_parser("config", help="print the effective settings, secrets masked")
    config.set_defaults(handler=cmd_config)
    _db_commands(sub)
    _keys_commands(sub)
    wanted = None if argv is None else next((word for word in argv if not word.startswith("-")), "")
    for module, adder, commands in COMMAND_GROUPS:
        if wanted is None or wanted in commands:
            getattr(_group(module), adder)(sub)
        else:
            for name, text in commands.items():
                sub.add_parser(name, help=text)
    return parser


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop a command runs on: uvloop unless NFSYNC_EVENT_LOOP=asyncio (or uvloop is not installed)."""
    if settings.event_loop != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        settings = load_settings()
    except NfsyncError as exc:
        print(f"nfsync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = _for_command(settings, args.command)
    configure_logging(settings.log_level, settings.log_format)
    handler: Command = args.handler

    async def invoke() -> int:
        return await handler(settings, args)

    try:
        with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
            return runner.run(invoke())
    except NfsyncError as exc:
        print(f"nfsync: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("nfsync: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`nfsync status --watch | head`): not an error of ours
        _silence_stdout()
        return 0
    except Exception as exc:
        log.exception("cli.crashed", command=args.command)
        print(f"nfsync: internal error ({type(exc).__name__}); see the log above", file=sys.stderr)
        return EXIT_CRASH


INTERACTIVE = frozenset({"enqueue", "tasks", "shops", "customers", "orgs", "tokens", "status", "plan", "reconcile"})
"""Commands a person runs and waits for: with PostgreSQL down they fail at once with one line, instead of retrying
for NFSYNC_DB_STARTUP_TIMEOUT as the services (and `db migrate` beside a starting database) do - unless that
variable is set explicitly."""


def _for_command(settings: Settings, command: str) -> Settings:
    if command in INTERACTIVE and "db_startup_timeout" not in settings.model_fields_set:
        return settings.model_copy(update={"db_startup_timeout": 0.0})
    return settings


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    sys.exit(run())
