"""Ops monitoring over HTTP: JSON for people and tools, /metrics for Prometheus."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from nfsync.workers import ops_snapshot as ops
from nfsync.workers.api.framework import Api, Call
from nfsync.workers.api.state import API_STATE, ApiState
from nfsync.workers.api.tasks import WRITE_SCOPE, SyncTask, SyncTaskPage, SyncTaskQuery, list_tasks
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.service import TaskActionName, actions_for
from nfsync.workers.shop_health import SHOP_STATES, shop_health

api = Api()
SHOP_HEALTH_LIMIT = 10_000  # shops counted on /ops/events and /metrics


def _state(call: Call) -> ApiState:
    return call.request.app[API_STATE]


@api.route(
    "GET",
    "/ops/queues",
    summary="Per platform: broker queue, task counts, oldest due task, throughput, throttles, dead letters",
    scope="ops:read",
    tags=("ops",),
)
async def get_queues(call: Call) -> dict[str, Any]:
    state = _state(call)
    return await ops.queues(state.settings, state.tenant_pool, state.connection, call.tenant)


class OpsTask(SyncTask):
    actions: list[TaskActionName] = Field(
        default_factory=list,
        description="What POST /v1/sync-tasks/{id}/<action> accepts for this task and this token: by the task's "
        "status (cancel: pending or processing; retry: failed or cancelled), and none without tasks:write",
    )


class OpsTaskPage(BaseModel):
    items: list[OpsTask]
    limit: int
    offset: int


@api.route(
    "GET",
    "/ops/tasks",
    summary="Tasks for operators (filters as /v1/sync-tasks), each with the actions it accepts",
    scope="ops:read",
    query=SyncTaskQuery,
    response=OpsTaskPage,
    tags=("ops",),
)
async def get_tasks(call: Call) -> OpsTaskPage:
    page: SyncTaskPage = await list_tasks(call)
    writer = call.principal is not None and call.principal.allows(WRITE_SCOPE)
    items = [_with_actions(task, writer) for task in page.items]
    return OpsTaskPage(items=items, limit=page.limit, offset=page.offset)


def _with_actions(task: SyncTask, writer: bool) -> OpsTask:
    return OpsTask(**task.model_dump(), actions=actions_for(task.status) if writer else [])


@api.route(
    "GET", "/ops/workers", summary="Live workers (by heartbeat) and the tasks they run", scope="ops:read", tags=("ops",)
)
async def get_workers(call: Call) -> dict[str, Any]:
    return {"workers": await ops.workers(_state(call).tenant_pool, call.tenant)}


@api.route(
    "GET", "/ops/webhooks", summary="Recent webhooks and results of the last hour", scope="ops:read", tags=("ops",)
)
async def get_webhooks(call: Call) -> dict[str, Any]:
    return await ops.recent_webhooks(_state(call).tenant_pool, call.tenant)


@api.route(
    "GET",
    "/ops/throughput",
    summary="Completions per minute per platform over the last hour",
    scope="ops:read",
    tags=("ops",),
)
async def get_throughput(call: Call) -> dict[str, Any]:
    return await ops.throughput(_state(call).tenant_pool, call.tenant)


_QUEUE_GAUGES = {
    "pending": "Pending tasks",
    "due": "Pending tasks that are due",
    "processing": "Running tasks",
    "failed": "Failed tasks",
    "oldest_due_seconds": "Age of the oldest due pending task",
    "completed_5m": "Tasks completed in the last 5 minutes",
    "failed_5m": "Tasks failed in the last 5 minutes",
    "throttled_calls": "Throttle signals received from the platform (all time)",
}


@api.route(
    "GET",
    "/ops/events",
    summary="Shop health counts, the events not yet published, and the HTTP subscribers' deliveries",
    scope="ops:read",
    tags=("ops",),
)
async def get_events(call: Call) -> dict[str, Any]:
    return await _events_snapshot(call)


async def _events_snapshot(call: Call) -> dict[str, Any]:
    pool = _state(call).tenant_pool
    shops = await shop_health(pool, organization_id=call.tenant, limit=SHOP_HEALTH_LIMIT)
    states = {state: 0 for state in SHOP_STATES}
    for shop in shops:
        states[shop.state] += 1
    backlog = await pool.fetchrow(QUERIES["ops_event_backlog"], call.tenant)
    assert backlog is not None  # an aggregate: always one row
    subscribers = [dict(r) for r in await pool.fetch(QUERIES["ops_subscribers"], call.tenant)]
    troubled = [
        {
            "shop_id": str(s.shop_id),
            "platform": s.platform,
            "shop_name": s.shop_name,
            "state": s.state,
            "reasons": s.reasons,
        }
        for s in shops
        if s.state != "healthy"
    ]
    return {
        "shop_states": states,
        "shops_needing_attention": troubled[:50],
        "event_backlog": {"events": backlog["events"], "oldest_seconds": backlog["oldest_seconds"]},
        "subscribers": subscribers,
    }


@api.route("GET", "/metrics", summary="Prometheus metrics", scope="ops:read", tags=("ops",))
async def metrics(call: Call) -> web.Response:
    registry = CollectorRegistry()
    data = await get_queues(call)
    for field, text in _QUEUE_GAUGES.items():
        if field == "throttled_calls" and call.tenant is not None:
            continue  # fleet-wide: operators only
        gauge = Gauge(f"nfsync_queue_{field}", text, ["platform"], registry=registry)
        for row in data["platforms"]:
            gauge.labels(row["platform"]).set(row[field] or 0)
    ready = Gauge(
        "nfsync_broker_ready_messages", "Wake-ups ready in the platform queue", ["platform"], registry=registry
    )
    for row in data["platforms"]:
        if row.get("broker", {}).get("ready") is not None:
            ready.labels(row["platform"]).set(row["broker"]["ready"])
    await _task_metrics(call, registry)
    await _limiter_metrics(call, registry)
    _event_metrics(await _events_snapshot(call), registry)
    body = generate_latest(registry)
    if call.tenant is None:  # this process's counters (every tenant's webhooks, the runtime): operators only
        body += generate_latest()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _task_metrics(call: Call, registry: CollectorRegistry) -> None:
    """Worker-side series from the database, so one scrape sees every worker process: a last-hour window."""
    labels = ["platform", "task_type", "outcome"]
    count = Gauge("nfsync_tasks_finished_last_hour", "Tasks that finished in the last hour", labels, registry=registry)
    seconds = Gauge("nfsync_task_duration_seconds_last_hour_sum", "Run time of those tasks", labels, registry=registry)
    quantile = Gauge(
        "nfsync_task_duration_seconds_last_hour",
        "Run-time quantiles of those tasks",
        [*labels, "quantile"],
        registry=registry,
    )
    retries = Gauge("nfsync_task_retries_last_hour", "Retries those tasks took", labels, registry=registry)
    for row in await _state(call).tenant_pool.fetch(QUERIES["ops_task_durations"], call.tenant):
        key = (row["platform"], row["task_type"], row["status"])
        count.labels(*key).set(row["n"])
        seconds.labels(*key).set(row["seconds"])
        quantile.labels(*key, "0.5").set(row["p50"])
        quantile.labels(*key, "0.95").set(row["p95"])
        retries.labels(*key).set(row["retries"])


async def _limiter_metrics(call: Call, registry: CollectorRegistry) -> None:
    if call.tenant is not None:
        return  # shared infrastructure: operators only
    calls = Counter(
        "nfsync_marketplace_calls", "Marketplace calls granted by the global limiter", ["platform"], registry=registry
    )
    throttles = Counter(
        "nfsync_marketplace_throttles", "Throttle signals from the platform", ["platform"], registry=registry
    )
    waits = Counter(
        "nfsync_limiter_wait_seconds", "Seconds callers waited for the limiter", ["platform"], registry=registry
    )
    for row in await _state(call).system_pool.fetch(QUERIES["ops_limiter_totals"]):
        calls.labels(row["platform"]).inc(row["calls"])
        throttles.labels(row["platform"]).inc(row["throttles"])
        waits.labels(row["platform"]).inc(row["wait_seconds"])


def _event_metrics(snapshot: dict[str, Any], registry: CollectorRegistry) -> None:
    shops = Gauge("nfsync_shops", "Shops by health state", ["state"], registry=registry)
    for state, count in snapshot["shop_states"].items():
        shops.labels(state).set(count)
    backlog = snapshot["event_backlog"]
    Gauge("nfsync_event_backlog", "Events not yet confirmed by RabbitMQ", registry=registry).set(backlog["events"])
    Gauge("nfsync_event_backlog_oldest_seconds", "Age of the oldest of them", registry=registry).set(
        backlog["oldest_seconds"] or 0
    )
    deliveries = Gauge(
        "nfsync_subscriber_deliveries", "HTTP subscriber deliveries", ["status", "subscriber_status"], registry=registry
    )
    for status, field in (("pending", "pending"), ("failed_24h", "failed_24h"), ("delivered_1h", "delivered_1h")):
        for subscriber_status in ("active", "disabled"):
            total = sum(s[field] for s in snapshot["subscribers"] if s["status"] == subscriber_status)
            deliveries.labels(status, subscriber_status).set(total)
