"""`nfsync enqueue` and `nfsync tasks` as an operator runs them, against the per-test database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

from nfsync.workers.engine.scheduler import Scheduler
from tests.engine.conftest import World, running_worker, wait_until


def nfsync(world: World, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env.update({"NFSYNC_DATABASE_URL": world.settings.database_url, "NFSYNC_LOG_LEVEL": "error", **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "nfsync.workers", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def _run(world: World, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(nfsync, world, *args, **env)


async def test_enqueue_list_show_cancel_retry(world: World) -> None:
    integration, shop = str(world.integrations["lazada"]), str(world.shops["lazada"][0])
    created = await _run(
        world,
        "enqueue",
        "--integration",
        integration,
        "--shop",
        shop,
        "--task-type",
        "order_sync",
        "--direction",
        "marketplace_to_crm",
        "--priority",
        "8",
        "--filter",
        '{"order_ids": ["A1"]}',
        "--idempotency-key",
        "cli-1",
    )
    assert created.returncode == 0, created.stderr
    result = json.loads(created.stdout)
    assert result["created"] and result["platform"] == "lazada"
    repeat = await _run(
        world,
        "enqueue",
        "--integration",
        integration,
        "--shop",
        shop,
        "--task-type",
        "order_sync",
        "--direction",
        "marketplace_to_crm",
        "--idempotency-key",
        "cli-1",
    )
    again = json.loads(repeat.stdout)
    assert again["task_id"] == result["task_id"] and again["replayed"]

    listing = await _run(world, "tasks", "list", "--platform", "lazada", "--status", "pending")
    assert listing.returncode == 0 and result["task_id"] in listing.stdout
    as_json = json.loads((await _run(world, "tasks", "list", "--platform", "lazada", "--json")).stdout)
    assert [(t["id"], t["status"], t["filter_criteria"]) for t in as_json] == [
        (result["task_id"], "pending", {"order_ids": ["A1"]})
    ]
    shown = json.loads((await _run(world, "tasks", "show", result["task_id"])).stdout)
    assert shown["priority"] == 8 and shown["filter_criteria"] == {"order_ids": ["A1"]}

    cancelled = await _run(world, "tasks", "cancel", result["task_id"])
    assert cancelled.returncode == 0 and cancelled.stdout.strip().endswith(": cancelled")
    twice = await _run(world, "tasks", "cancel", result["task_id"])
    assert twice.returncode == 1 and "is cancelled and cannot be cancelled" in twice.stderr
    retried = await _run(world, "tasks", "retry", result["task_id"])
    assert retried.returncode == 0 and retried.stdout.strip().endswith(": pending")


async def test_enqueue_bad_input_is_one_line(world: World) -> None:
    base = [
        "enqueue",
        "--integration",
        str(world.integrations["shopee"]),
        "--task-type",
        "order_sync",
        "--direction",
        "marketplace_to_crm",
    ]
    for extra, fragment in (
        (["--priority", "11"], "priority: Input should be less than or equal to 10"),
        (["--filter", "{oops"], "--filter is not valid JSON"),
        (["--shop", "00000000-0000-0000-0000-000000000000"], "not found in integration"),
    ):
        result = await _run(world, *base, *extra)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert await world.count() == 0, "nothing half-written"
    missing = await _run(world, "tasks", "show", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "not found" in missing.stderr


async def test_worker_refuses_to_start_without_handlers(world: World) -> None:
    result = await _run(world, "worker", "--platform", "shopee", "--handlers", "tests.engine.empty_registry:REGISTRY")
    assert result.returncode == 1 and "no handlers registered" in result.stderr
    result = await _run(world, "worker", "--platform", "ebay", "--handlers", "nfsync.workers.lab.diagnostics:REGISTRY")
    assert result.returncode == 1 and "unknown platform(s): ebay" in result.stderr


async def test_maintenance_prunes_old_tasks_and_webhooks(world: World) -> None:
    done = [(await world.rt.service.enqueue(world.request(shop=i))).task_id for i in range(3)]
    async with running_worker(world):
        await wait_until(world.all_terminal)
    await world.rt.pool.execute(
        "UPDATE sync_tasks SET completed_at = now() - interval '40 days' WHERE id = ANY($1)", done[:2]
    )
    for key, age in (("old", "40 days"), ("new", "1 hour")):
        await world.rt.pool.execute(
            "INSERT INTO marketplace_webhooks (organization_id, integration_id, platform, event_type, dedupe_key,"
            " payload, received_at)"
            " VALUES ($1, $2, 'shopee', 'order_status_changed', $3, '{}', now() - $4::text::interval)",
            world.org,
            world.integrations["shopee"],
            key,
            age,
        )
    await Scheduler(world.settings, world.rt.pool, world.rt.service).maintenance()
    assert await world.count() == 1, "finished tasks past retention are deleted, recent ones kept"
    assert await world.rt.pool.fetchval("SELECT array_agg(dedupe_key) FROM marketplace_webhooks") == ["new"]
    workers = await world.rt.pool.fetchval("SELECT count(*) FROM nfsync_workers")
    assert workers == 0, "the stopped worker unregistered itself"


DEAD_BROKER = {"NFSYNC_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/", "NFSYNC_AMQP_STARTUP_TIMEOUT": "0.5"}


async def test_enqueue_commits_while_rabbitmq_is_unreachable(world: World) -> None:
    result = await _run(
        world,
        "enqueue",
        "--integration",
        str(world.integrations["tiktok"]),
        "--shop",
        str(world.shops["tiktok"][0]),
        "--task-type",
        "shop_sync",
        "--direction",
        "marketplace_to_crm",
        **DEAD_BROKER,
    )
    assert result.returncode == 0, result.stderr
    assert await world.count("id = $1 AND status = 'pending'", json.loads(result.stdout)["task_id"]) == 1


async def test_worker_without_rabbitmq_fails_with_one_line(world: World) -> None:
    result = await _run(
        world,
        "worker",
        "--platform",
        "shopee",
        "--handlers",
        "nfsync.workers.lab.diagnostics:REGISTRY",
        **DEAD_BROKER,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1/" in lines[0], result.stderr


async def test_status_table_and_json(world: World) -> None:
    for i in range(2):
        await world.rt.service.enqueue(world.request("lazada", shop=i))
    table = await _run(world, "status")
    assert table.returncode == 0 and "platform" in table.stdout and "dead-letter queue" in table.stdout
    lazada_line = next(line for line in table.stdout.splitlines() if line.strip().startswith("lazada"))
    assert lazada_line.split()[4] == "2", lazada_line  # the pending column
    data = json.loads((await _run(world, "status", "--json")).stdout)
    assert next(p for p in data["platforms"] if p["platform"] == "lazada")["pending"] == 2
    assert [(q["key"], q["queue"], q["label"]) for q in data["dead_letters"]] == [
        ("tasks", "nfsync.tasks.dead", "task wake-ups"),
        ("commands", "nfsync.commands.dead", "AMQP commands"),
    ]
    assert {"ready", "unacked", "consumers"} <= set(data["dead_letter"]), "the key older readers use stays"


async def test_status_shows_both_dead_letter_queues_and_why_a_figure_is_unknown(world: World) -> None:
    """Without the management API: unacked is "-", and a line says why; each dead-letter queue has its own line."""
    table = await _run(
        world, "status", NFSYNC_AMQP_URL=world.settings.amqp_url, NFSYNC_RABBITMQ_MANAGEMENT_URL="http://127.0.0.1:1"
    )
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    lazada = next(line for line in lines if line.strip().startswith("lazada")).split()
    assert lazada[2] == "-" and lazada[1].isdigit(), lazada  # unacked unknown, ready from a passive declare
    assert "- in the broker columns: unacked is unknown because the RabbitMQ management API did not answer" in lines
    known_or_explained = r"(\d+ message\(s\)|- message\(s\); unknown because .+)"
    tasks_line = r"^dead-letter queue \(task wake-ups, nfsync\.tasks\.dead\): \d+ message\(s\)$"
    assert re.search(tasks_line, table.stdout, re.M), table.stdout
    assert re.search(
        rf"^dead-letter queue \(AMQP commands, nfsync\.commands\.dead\): {known_or_explained}$", table.stdout, re.M
    )
    offline = await _run(world, "status", **DEAD_BROKER, NFSYNC_RABBITMQ_MANAGEMENT_URL="http://127.0.0.1:1")
    assert offline.returncode == 0, offline.stderr
    unknown = "- message(s); unknown because there is no connection to RabbitMQ"
    assert f"dead-letter queue (task wake-ups, nfsync.tasks.dead): {unknown}" in offline.stdout
    assert f"dead-letter queue (AMQP commands, nfsync.commands.dead): {unknown}" in offline.stdout
    assert "- in the broker columns: unknown because there is no connection to RabbitMQ" in offline.stdout
