"""nfsync reconcile and nfsync plan against the sandboxes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

from nfsync.workers.sync.cli import plan
from nfsync.workers.sync.reconcile import reconcile_shop
from tests.sync.conftest import SyncEnv


async def test_reconcile_finds_nothing_after_a_sync_and_a_planted_difference_after(env: SyncEnv) -> None:
    assert (await env.run("product_sync"))["status"] == "completed"
    diffs, counts = await reconcile_shop(await env.session())
    assert diffs == [] and counts["mappings"] == len(env.catalog.variant_ids)
    planted = env.catalog.skus[env.catalog.variant_ids[4]]
    env.sandbox_variant(planted).stock += 7  # someone changed the stock on the platform
    diffs, _ = await reconcile_shop(await env.session())
    assert [(d.kind, d.entity_id) for d in diffs] == [("stock", env.catalog.variant_ids[4])]
    fix = await env.run("inventory_sync", filters={"variant_ids": [env.catalog.variant_ids[4]], "force": True})
    assert fix["status"] == "completed"
    assert (await reconcile_shop(await env.session()))[0] == []


async def test_plan_writes_nothing(env: SyncEnv) -> None:
    """A plan writes nothing to the platform; it reads the new listings' category requirements once (cached per
    shop, so a second plan asks nothing)."""
    shop = await env.session()
    before = env.sandbox.counters.requests
    result = await plan(shop, "product_sync", None)
    assert result["summary"] == {"create": len(env.catalog.product_ids)}
    assert env.sandbox.counters.creates == 0 and not env.sandbox.counters.writes_per_sku
    assert env.sandbox.counters.requests - before <= 3, "one category: its attributes, brands and rules or channels"
    again = env.sandbox.counters.requests
    await plan(await env.session(), "product_sync", None)
    assert env.sandbox.counters.requests == again
    assert await env.pool.fetchval("SELECT count(*) FROM product_mappings") == 0
    assert (await env.run("product_sync"))["status"] == "completed"
    await env.pool.execute(
        'UPDATE "VariantPrice" SET amount = amount + 1000 WHERE "variantId" = $1', env.catalog.variant_ids[0]
    )
    result = await plan(await env.session(), "price_sync", None)
    assert result["summary"] == {"update": 1, "skip": len(env.catalog.variant_ids) - 1}


async def test_reconcile_command_reports_and_fixes(env: SyncEnv) -> None:
    if env.shop.platform != "shopee":
        return  # the command is platform-neutral; one platform proves the wiring
    assert (await env.run("product_sync"))["status"] == "completed"
    env.sandbox_variant(env.catalog.skus[env.catalog.variant_ids[2]]).price += 5000
    environ = {
        **os.environ,
        "NFSYNC_DATABASE_URL": env.settings.database_url,
        "NFSYNC_SECRET_KEYS": env.settings.secret_keys.reveal() if env.settings.secret_keys else "",
        "NFSYNC_LOG_LEVEL": "error",
        "NFSYNC_OUTBOUND_ALLOWED_HOSTS": env.settings.outbound_allowed_hosts,
    }
    nfsync = str(Path(sys.executable).parent / "nfsync")
    command = [nfsync, "reconcile", "--shop", str(env.shop.shop_id), "--json", "--fix"]
    # asynchronously: the sandbox answering the command runs on this event loop
    process = await asyncio.create_subprocess_exec(*command, env=environ, stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    assert [d["kind"] for d in report["differences"]] == ["price"] and len(report["fix_tasks"]) == 1
    task = await env.wait(uuid.UUID(report["fix_tasks"][0]))
    assert task["status"] == "completed" and task["task_type"] == "price_sync"
    assert (await reconcile_shop(await env.session()))[0] == []
