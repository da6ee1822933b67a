"""`nfsync demo` as a user runs it from the repository root: a subprocess on its own database, judged by its exit
code and its output. ``--json`` prints the JSON summary and nothing else on stdout; the human summary fits 80
columns; every command it suggests runs as printed; its wake-ups go through its own RabbitMQ vhost. And the one-line
failure when a phase misses the deadline."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import shlex
import shutil
import sys
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import aiohttp
import pytest

from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.spec import available
from nfsync.workers.cli import build_parser
from nfsync.workers.config import Settings
from nfsync.workers.engine.broker import queue_name
from nfsync.workers.lab.demo import DEMO_VHOST, PLATFORMS
from tests.conftest import REPO, drop_database, url_for

pytestmark = pytest.mark.services  # the demo runs in a subprocess against the local services


VARIANTS = 100
ORDERS = 5
RATE = 200  # calls/s per shop: the catalog push is not what these tests time (it leaves room for the 80 columns)
WIDTH = 80
STATS_SECONDS = 12.0  # RabbitMQ's management statistics lag by up to collect_statistics_interval (5 s)
STATS_POLL = 0.5
ENV_ASSIGNMENT = re.compile(r"[A-Z][A-Z0-9_]*=")


def _environment(name: str, columns: int | None) -> dict[str, str]:
    """A user's shell: no NFSYNC_* (no secret key, the default broker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env["NFSYNC_DATABASE_URL"] = url_for(name)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return env


async def _demo(
    *flags: str, seconds: float, json_output: bool = True, columns: int | None = None
) -> tuple[int, str, str]:
    """Run the demo from the repository root (as `make demo` does) on a fresh database (dropped afterwards) with no
    secret key configured."""
    name = f"nfsync_demo_{secrets.token_hex(3)}"  # short: its URL is one word of a printed command (80 columns)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nfsync.workers",
        "demo",
        *(["--json"] if json_output else []),
        "--database",
        name,
        *flags,
        cwd=REPO,
        env=_environment(name, columns),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await drop_database(name)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _no_secrets(text: str) -> None:
    assert "nfs_" not in text, "an API token was printed"
    for spec in available():
        for name, value in load_sandbox(spec.name).sample_app.items():
            if name not in ("partner_id", "app_key", "consumer_key"):
                assert value not in text, f"{spec.name} {name} was printed"


def _runs_as_printed(command: str) -> None:
    """``command`` names this installation's nfsync as a shell in the repository root finds it, and the CLI accepts
    its command and options."""
    words = shlex.split(command)
    while words and ENV_ASSIGNMENT.match(words[0]):
        assert words.pop(0).startswith("NFSYNC_"), command
    program, args = words[0], words[1:]
    if program == "nfsync":
        assert shutil.which("nfsync") is not None, f"nfsync is not on PATH: {command}"
    else:
        assert "/" in program and os.access(REPO / program, os.X_OK), f"{program} does not run from {REPO}"
        if not program.endswith("/nfsync"):
            assert args[:2] == ["-m", "nfsync.workers"], command
            args = args[2:]
    try:
        build_parser(args).parse_args(args)
    except SystemExit as exc:
        raise AssertionError(f"the CLI refuses {command!r}") from exc


def _printed_commands(out: str) -> list[str]:
    """The indented commands of the human summary, each joined across its backslash continuations."""
    commands: list[str] = []
    continued = False
    for line in out.splitlines():
        text = line.strip()
        if continued:
            commands[-1] += " " + text.removesuffix("\\").strip()
        elif line.startswith("  ") and not line.startswith("   ") and text:
            commands.append(text.removesuffix("\\").strip())
        else:
            continue
        continued = text.endswith("\\")
    return commands


def _management() -> tuple[str, dict[str, str]]:
    """The demo's management API (the default: the demo runs without NFSYNC_*), with its AMQP URL's credentials."""
    fields = Settings.model_fields
    amqp = urlsplit(fields["amqp_url"].default)
    token = base64.b64encode(f"{amqp.username or 'guest'}:{amqp.password or 'guest'}".encode()).decode()
    return fields["rabbitmq_management_url"].default.rstrip("/"), {"Authorization": f"Basic {token}"}


async def _management_get(path: str) -> tuple[int, object]:
    url, headers = _management()
    async with (
        aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(f"{url}/api{path}") as response,
    ):
        return response.status, await response.json() if response.status == 200 else None


async def _vhost_publishes() -> int | None:
    """Messages published in the demo's vhost so far (0 before it exists); None without the management API."""
    try:
        status, body = await _management_get(f"/vhosts/{quote(DEMO_VHOST, safe='')}")
    except (aiohttp.ClientError, TimeoutError):
        return None
    assert status in (200, 404), status
    stats = body.get("message_stats", {}) if isinstance(body, Mapping) else {}
    return int(stats.get("publish", 0))


async def _assert_ran_in_demo_vhost(summary: Mapping[str, object], before: int | None) -> None:
    """The demo's wake-ups went through its own vhost: its task queues are there and it published into it (the
    management API's statistics lag, hence the wait). Without the management API: the configured vhost."""
    if before is None:
        assert summary["amqp_vhost"] == "/"
        return
    assert summary["amqp_vhost"] == DEMO_VHOST
    status, queues = await _management_get(f"/queues/{quote(DEMO_VHOST, safe='')}?columns=name")
    assert status == 200 and isinstance(queues, list)
    assert {queue_name(p) for p in PLATFORMS} <= {q["name"] for q in queues}
    after = await _vhost_publishes()
    for _ in range(int(STATS_SECONDS / STATS_POLL)):
        if after not in (before, None, 0):
            break
        await asyncio.sleep(STATS_POLL)
        after = await _vhost_publishes()
    assert after not in (before, None, 0), f"nothing published in vhost {DEMO_VHOST} ({before} -> {after})"


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_demo_connects_syncs_imports_orders_and_propagates_stock() -> None:
    before = await _vhost_publishes()
    flags = ["--variants", str(VARIANTS), "--orders", str(ORDERS), "--rate", str(RATE), "--timeout", "120"]
    code, out, err = await _demo(*flags, seconds=140)
    assert code == 0, err[-3000:]
    summary = json.loads(out)  # the whole of stdout (make's part of `make demo`: tests/test_make_demo.py)
    products = summary["products"]
    assert summary["ok"] is True and summary["variants"] == VARIANTS and 0 < products < VARIANTS
    shops = {shop["platform"]: shop for shop in summary["shops"]}
    assert sorted(shops) == ["lazada", "shopee", "shopify", "tiktok", "woocommerce"]
    assert {s["connected_by"] for p, s in shops.items() if p != "woocommerce"} <= {"oauth redirect", "oauth code"}
    assert shops["woocommerce"]["connected_by"] == "api keys"
    incomplete = summary["incomplete_product"]
    for platform, shop in shops.items():
        checked = platform not in ("woocommerce", "shopify")  # the platforms that check a listing's category attributes
        assert shop["items_successful"] == products - checked and shop["items_failed"] == checked, platform
        assert shop["variants_listed"] == VARIANTS + 2 - checked * incomplete["variants"], platform  # + 2 combos
        reasons = [(f["entity_id"], f["reason"]) for f in shop["failed_items"]]
        expected = [(incomplete["product_id"], 'missing required fields: attribute "Material"')]
        assert reasons == (expected if checked else []), platform
        assert shop["calls"] >= products, platform
        assert shop["orders_placed"] == shop["orders_imported"] == ORDERS, platform
        assert shop["stock_latency_ms"] is not None and shop["stock_latency_ms"] >= 0, platform
    assert summary["orders"] == {"placed": 5 * ORDERS, "imported": 5 * ORDERS, "duplicates": 0}
    assert summary["stock_change"]["seen_on_every_shop"] is True
    combos = summary["combo_stock"]
    assert summary["combos"] == 2 and len(combos["combos"]) == 2 and combos["seen_on_every_shop"] is True
    assert min(combos["combos"].values()) > 0  # what the changed component makes, on every shop
    assert summary["dashboard_url"].startswith("http://127.0.0.1:") and summary["dashboard_url"].endswith("/ops")
    assert len(summary["hints"]) >= 2
    for command in [summary["token_hint"], *(hint["command"] for hint in summary["hints"])]:
        _runs_as_printed(command)
    await _assert_ran_in_demo_vhost(summary, before)
    _no_secrets(out + err)


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_the_human_summary_fits_80_columns_and_its_commands_run_as_printed() -> None:
    flags = ["--variants", "20", "--orders", "1", "--stock-changes", "1", "--rate", str(RATE), "--timeout", "60"]
    code, out, err = await _demo(*flags, seconds=80, json_output=False, columns=WIDTH)
    assert code == 0, err[-3000:]
    assert "nfsync demo: summary" in out
    wide = [line for line in out.splitlines() if len(line) > WIDTH]
    assert not wide, f"{len(wide)} line(s) wider than {WIDTH} columns, e.g. {wide[0]!r}"
    commands = _printed_commands(out)
    assert len(commands) >= 2, out[-2000:]
    for command in commands:
        _runs_as_printed(command)
    _no_secrets(out + err)


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_a_missed_deadline_is_one_line_and_exit_1() -> None:
    code, out, err = await _demo("--variants", "20", "--timeout", "0.1", seconds=80)
    assert code == 1
    assert out == ""
    assert err.strip().splitlines()[-1].startswith("nfsync: error: shop_sync: not done within the 0.1 s deadline")
    _no_secrets(err)
