"""Events out (issue #17): a task reaching completed, failed or cancelled writes exactly one event in the change's
transaction, whoever the writer; the scheduler leader publishes the outbox to the topic exchange ``nfsync.events``
in order, with confirms, as CloudEvents; RabbitMQ down, the events wait and go out in order afterwards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection

from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.broker import connect_broker
from nfsync.workers.engine.events import (
    EVENT_TYPES,
    CloudEvent,
    EventPublisher,
    cloud_event,
    declare_events,
    event_json,
    event_schema,
)
from nfsync.workers.engine.scheduler import Scheduler
from nfsync.workers.lab.events_bench import run_events
from tests.engine.conftest import World, running_worker, wait_until


@pytest.fixture
async def events_queue(world: World) -> AsyncIterator[AbstractQueue]:
    """A consumer's queue bound to every event type (routing key ``task.#``)."""
    assert world.rt.connection is not None
    channel = await world.rt.connection.channel()
    exchange = await declare_events(channel)
    queue = await channel.declare_queue(f"test.events.{uuid.uuid4().hex[:8]}", exclusive=True)
    await queue.bind(exchange, routing_key="task.#")
    yield queue
    await channel.close()


async def _received(queue: AbstractQueue, count: int, seconds: float = 10.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    assert message.content_type == "application/cloudevents+json"
                    out.append(json.loads(message.body))
                if len(out) == count:
                    break
    return out


async def _outbox(world: World) -> list[Any]:
    return list(await world.rt.pool.fetch("SELECT type, subject, data FROM event_outbox ORDER BY seq"))


async def test_each_terminal_change_writes_exactly_one_event_whoever_the_writer(world: World) -> None:
    ok = await world.rt.service.enqueue(world.request())
    failing = await world.rt.service.enqueue(world.request(shop=1, filter_criteria={"diag": {"fail": "permanent"}}))
    waiting = await world.rt.service.enqueue(world.request(shop=2, scheduled_at="2100-01-01T00:00:00Z"))
    await world.rt.service.cancel(waiting.task_id)  # the API's cancel: no worker involved
    async with running_worker(world):
        await wait_until(world.all_terminal, what="every task terminal")
    events = await _outbox(world)
    assert sorted((e["type"], e["subject"]) for e in events) == sorted(
        [
            ("task.completed", f"tasks/{ok.task_id}"),
            ("task.failed", f"tasks/{failing.task_id}"),
            ("task.cancelled", f"tasks/{waiting.task_id}"),
        ]
    )
    failed = next(e for e in events if e["type"] == "task.failed")
    data = json.loads(failed["data"]) if isinstance(failed["data"], str) else failed["data"]
    assert data["status"] == "failed" and "diagnostic permanent failure" in data["error_message"]
    assert data["shop_id"] == str(world.shops["shopee"][1]) and data["task_type"] == "product_sync"
    await world.rt.pool.execute("UPDATE sync_tasks SET progress = 100 WHERE id = $1", ok.task_id)
    assert len(await _outbox(world)) == 3, "an update that changes no status writes no event"


async def test_the_leader_publishes_in_order_as_cloudevents_and_prunes(
    world: World, events_queue: AbstractQueue
) -> None:
    assert world.rt.connection is not None
    events = EventPublisher(world.settings, world.rt.pool, world.rt.connection)
    tasks = [await world.rt.service.enqueue(world.request(shop=i)) for i in range(5)]
    for task in tasks:  # one after the other: five events in this order
        await world.rt.service.cancel(task.task_id)
    async with Scheduler(world.settings, world.rt.pool, world.rt.service, events).running():
        received = await _received(events_queue, 5)
    assert [e["subject"] for e in received] == [f"tasks/{t.task_id}" for t in tasks]
    first = received[0]
    assert first["specversion"] == "1.0" and first["type"] == "task.cancelled"
    assert first["source"] == f"/organizations/{world.org}" and first["datacontenttype"] == "application/json"
    assert uuid.UUID(first["id"]) and first["time"].endswith(("Z", "+00:00")) and first["data"]["status"] == "cancelled"
    assert len({e["id"] for e in received}) == 5
    validator = jsonschema_rs.validator_for(event_schema("task.cancelled"))
    for event in received:  # an independent JSON Schema validator, against the documented schema
        validator.validate(event)
    await wait_until(lambda: _empty(world), what="the outbox pruned")


async def _empty(world: World) -> bool:
    return not await _outbox(world)


async def test_with_rabbitmq_down_events_wait_then_go_out_in_order(world: World, events_queue: AbstractQueue) -> None:
    """The publisher's connection is down: nothing is lost, nothing is reordered; a later publish sends them all."""
    down: AbstractRobustConnection = await connect_broker(world.settings, "nfsync-test-down")
    await down.close()
    tasks = [await world.rt.service.enqueue(world.request(shop=i)) for i in range(3)]
    for task in tasks:
        await world.rt.service.cancel(task.task_id)
    assert await EventPublisher(world.settings, world.rt.pool, down).publish_pending() == 0
    assert len(await _outbox(world)) == 3, "every event waits in the outbox"
    assert world.rt.connection is not None
    up = EventPublisher(world.settings, world.rt.pool, world.rt.connection)
    assert await up.publish_pending() == 3
    received = await _received(events_queue, 3)
    assert [e["subject"] for e in received] == [f"tasks/{t.task_id}" for t in tasks]
    assert await _outbox(world) == []


async def test_another_organization_sees_none_of_the_events(world: World) -> None:
    task = await world.rt.service.enqueue(world.request())
    await world.rt.service.cancel(task.task_id)
    other = await world.rt.pool.fetchval("INSERT INTO organizations (name) VALUES ('Other') RETURNING id")
    async with world.rt.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE nfsync_app")
        await conn.execute("SELECT set_config('app.organization_id', $1, true)", str(other))
        assert await conn.fetchval("SELECT count(*) FROM event_outbox") == 0
        await conn.execute("SELECT set_config('app.organization_id', $1, true)", str(world.org))
        assert await conn.fetchval("SELECT count(*) FROM event_outbox") == 1


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_documented_schemas_are_the_models(event_type: str) -> None:
    """docs/events/<type>.schema.json is what runs (regenerate: python -c 'from nfsync.workers.engine.events import
    ...'; see docs/events.md)."""
    path = Path(__file__).resolve().parents[2] / "docs" / "events" / f"{event_type}.schema.json"
    assert json.loads(path.read_text()) == event_schema(event_type)  # type: ignore[arg-type]


async def test_the_events_bench_completes_and_reports_every_figure(engine_settings: Settings) -> None:
    """`nfsync bench events`, reduced (no timing asserted: figures belong to the bench)."""
    result = await run_events(engine_settings, events=300, tasks=20)
    assert result["publish"]["events"] == 300 and result["publish"]["queued"] == 300
    assert result["publish"]["per_s"] > 0
    commits = result["commits_per_task"]
    assert commits["with_events"] > 0 and commits["without_events"] > 0
    assert isinstance(result["added_commits_per_task"], float)


@pytest.mark.parametrize("data", [{"task_id": str(uuid.uuid4()), "failed_items": 3}, '{"n": 1, "name": "Áo thun"}'])
def test_the_fast_json_is_the_models_json(data: Any) -> None:
    """The publisher builds each message without the model (its hot path): the same event as the model would give."""
    row = {
        "id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
        "shop_id": None,
        "type": "task.failed",
        "subject": "tasks/1",
        "created_at": datetime(2026, 12, 3, 14, 7, 0, 154778),  # the outbox's timestamptz, as a naive UTC value
        "data": data,
    }
    model = CloudEvent(
        id=row["id"],
        source=f"/organizations/{row['organization_id']}",
        type="task.failed",
        subject="tasks/1",
        time=datetime(2026, 12, 3, 14, 7, 0, 154778, tzinfo=UTC),
        data=json.loads(data) if isinstance(data, str) else data,
    )
    assert json.loads(event_json(row)) == json.loads(model.model_dump_json())  # type: ignore[arg-type]


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, timeout=120, capture_output=True)


@pytest.mark.slow
@pytest.mark.disruptive
async def test_rabbitmq_stopped_the_events_wait_then_go_out_in_order(world: World) -> None:
    """The real broker stops between events: the scheduler's publisher keeps them in the outbox, and once RabbitMQ is
    back they reach a durable consumer queue in the order their changes committed, none lost."""
    assert world.rt.connection is not None
    name = f"test.events.stop.{uuid.uuid4().hex[:8]}"
    channel = await world.rt.connection.channel()
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    await queue.bind(await declare_events(channel), routing_key="task.#")
    await channel.close()
    tasks = [await world.rt.service.enqueue(world.request(shop=i)) for i in range(5)]
    events = EventPublisher(world.settings, world.rt.pool, world.rt.connection)
    async with Scheduler(world.settings, world.rt.pool, world.rt.service, events).running() as scheduler:
        for task in tasks[:2]:
            await world.rt.service.cancel(task.task_id)
        await wait_until(lambda: _empty(world), what="the first events published")
        _rabbitmqctl("stop_app")
        try:
            for task in tasks[2:]:
                await world.rt.service.cancel(task.task_id)
            ticks = scheduler.ticks

            async def two_more_ticks() -> bool:
                return scheduler.ticks >= ticks + 2

            await wait_until(two_more_ticks, what="two scheduler ticks that find RabbitMQ down")
            assert len(await _outbox(world)) == 3, "the events written while RabbitMQ was down wait"
        finally:
            _rabbitmqctl("start_app")
            _rabbitmqctl("await_startup")
        await wait_until(lambda: _empty(world), seconds=60, what="the waiting events published after the restart")
    channel = await world.rt.connection.channel()
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    received = await _received(queue, 5, seconds=20)
    await queue.delete(if_unused=False, if_empty=False)
    await channel.close()
    assert [e["subject"] for e in received] == [f"tasks/{t.task_id}" for t in tasks]


async def test_the_body_the_query_builds_is_the_models_event(world: World) -> None:
    """``events_pending`` builds each message body in PostgreSQL: the same CloudEvent as the model gives."""
    data = {
        "task_id": str(uuid.uuid4()),
        "error_message": 'quote " and Áo thun \u2028',
        "nested": {"n": [1, 2.5, None]},
    }
    await world.rt.pool.execute(
        "INSERT INTO event_outbox (organization_id, type, subject, data) VALUES ($1, 'task.failed', 'tasks/1', $2)",
        world.org,
        data,
    )
    for row in await world.rt.pool.fetch(QUERIES["events_pending"], 0, 10):
        built, model = json.loads(row["body"]), json.loads(cloud_event(row).model_dump_json())
        assert datetime.fromisoformat(built.pop("time")) == datetime.fromisoformat(model.pop("time"))
        assert built == model and built["data"] == data
