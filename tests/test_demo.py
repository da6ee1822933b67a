"""`nfsync demo --json` as a user runs it: a subprocess on its own database, judged by its exit code and its one
JSON summary; and the one-line failure when a phase misses the deadline."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys

import pytest

from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.spec import available
from tests.conftest import drop_database, url_for

pytestmark = pytest.mark.services  # the demo runs in a subprocess against the local services


VARIANTS = 100
ORDERS = 5


async def _demo(*flags: str, seconds: float) -> tuple[int, str, str]:
    """Run the demo on a fresh database (dropped afterwards) with no secret key configured."""
    name = f"nfsync_demo_test_{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env["NFSYNC_DATABASE_URL"] = url_for(name)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nfsync.workers",
        "demo",
        "--json",
        "--database",
        name,
        *flags,
        env=env,
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


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_demo_connects_syncs_imports_orders_and_propagates_stock() -> None:
    code, out, err = await _demo("--variants", str(VARIANTS), "--orders", str(ORDERS), "--timeout", "120", seconds=140)
    assert code == 0, err[-3000:]
    [line] = out.strip().splitlines()
    summary = json.loads(line)
    products = summary["products"]
    assert summary["ok"] is True and summary["variants"] == VARIANTS and 0 < products < VARIANTS
    shops = {shop["platform"]: shop for shop in summary["shops"]}
    assert sorted(shops) == ["lazada", "shopee", "tiktok", "woocommerce"]
    assert {s["connected_by"] for p, s in shops.items() if p != "woocommerce"} <= {"oauth redirect", "oauth code"}
    assert shops["woocommerce"]["connected_by"] == "api keys"
    for platform, shop in shops.items():
        assert shop["items_successful"] == products and shop["items_failed"] == 0, platform
        assert shop["variants_listed"] == VARIANTS, platform
        assert shop["calls"] >= products, platform
        assert shop["orders_placed"] == shop["orders_imported"] == ORDERS, platform
        assert shop["stock_latency_ms"] is not None and shop["stock_latency_ms"] >= 0, platform
    assert summary["orders"] == {"placed": 4 * ORDERS, "imported": 4 * ORDERS, "duplicates": 0}
    assert summary["stock_change"]["seen_on_every_shop"] is True
    assert summary["dashboard_url"].startswith("http://127.0.0.1:") and summary["dashboard_url"].endswith("/ops")
    _no_secrets(out + err)


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_a_missed_deadline_is_one_line_and_exit_1() -> None:
    code, out, err = await _demo("--variants", "20", "--timeout", "0.1", seconds=80)
    assert code == 1
    assert out == ""
    assert err.strip().splitlines()[-1].startswith("nfsync: error: shop_sync: not done within the 0.1 s deadline")
    _no_secrets(err)
