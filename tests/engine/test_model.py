"""A model-based test of the task engine (Hypothesis state machine) against the real database.

Rules: enqueue (with and without idempotency keys), claims by two workers (a duplicate delivery is a second worker
claiming at the same time), outcomes, a worker crash (its tasks are simply never finished), lease expiry through the
clock (the leases are moved into the past, which is what the passing of time does to them), the scheduler's lease
rescue and lost-wake-up redispatch, a stale worker writing after its lease was rescued, cancellation.
Invariants after every step: nothing lost, no task completed twice, at most one running task per (shop, task
type), one task per idempotency key. At the end everything drains to a terminal state.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Coroutine
from typing import Any, ClassVar

import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from nfsync.connectors.base.errors import ValidationFailed
from nfsync.workers.config import Settings
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.models import ClaimedTask, EnqueueRequest
from nfsync.workers.engine.repository import OutcomeRecord, Repository
from nfsync.workers.engine.runtime import engine_pool
from nfsync.workers.engine.service import TaskService
from nfsync.workers.lab.seed import seed_platform_shops

TYPES = ["product_sync", "order_sync"]
DIRECTIONS = {"product_sync": "crm_to_marketplace", "order_sync": "marketplace_to_crm"}
WORKERS = ["w1", "w2"]
AUDIT = """
CREATE TABLE IF NOT EXISTS model_completions (task_id uuid NOT NULL);
CREATE OR REPLACE FUNCTION model_record_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO model_completions VALUES (NEW.id); RETURN NULL; END; $$;
DROP TRIGGER IF EXISTS model_completion ON sync_tasks;
CREATE TRIGGER model_completion AFTER UPDATE OF status ON sync_tasks FOR EACH ROW
    WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed')
    EXECUTE FUNCTION model_record_completion();
"""


class EngineModel(RuleBasedStateMachine):
    loop: ClassVar[asyncio.AbstractEventLoop]
    pool: ClassVar[asyncpg.Pool]
    org: ClassVar[uuid.UUID]
    integration: ClassVar[uuid.UUID]
    shops: ClassVar[list[uuid.UUID]]

    def __init__(self) -> None:
        super().__init__()
        self.service = TaskService(self.pool, None)
        self.enqueued: set[uuid.UUID] = set()
        self.order: list[uuid.UUID] = []  # enqueued, in order (ids are random: never draw from them)
        self.keys: dict[str, uuid.UUID] = {}
        self.held: dict[str, list[ClaimedTask]] = {w: [] for w in WORKERS}
        self.crashed: list[tuple[str, ClaimedTask]] = []
        self.run(self.pool.execute("TRUNCATE sync_tasks, sync_task_requests, model_completions CASCADE"))

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    # ------------------------------------------------------------------ rules

    @rule(shop=st.integers(0, 2), task_type=st.sampled_from(TYPES), key=st.none() | st.sampled_from(["k1", "k2"]))
    def enqueue(self, shop: int, task_type: str, key: str | None) -> None:
        request = EnqueueRequest(
            organization_id=self.org,
            integration_id=self.integration,
            shop_id=self.shops[shop],
            task_type=task_type,
            direction=DIRECTIONS[task_type],
            idempotency_key=key,
            max_retries=2,
        )
        result = self.run(self.service.enqueue(request))
        if result.task_id not in self.enqueued:
            self.order.append(result.task_id)
        self.enqueued.add(result.task_id)
        if key is not None:
            assert self.keys.setdefault(key, result.task_id) == result.task_id, "one idempotency key, two tasks"

    @rule(worker=st.sampled_from(WORKERS), limit=st.integers(1, 4))
    def claim(self, worker: str, limit: int) -> None:
        tasks = self.run(Repository(self.pool, worker).claim("shopee", limit, 30.0, TYPES))
        self.held[worker] += tasks

    # Draws never depend on what the database answered (Hypothesis replays must draw the same): a rule whose
    # target does not exist in this run does nothing.

    @rule(
        worker=st.sampled_from(WORKERS),
        pick=st.integers(0, 9),
        outcome=st.sampled_from(["completed", "retry", "failed", "release"]),
    )
    def finish(self, worker: str, pick: int, outcome: str) -> None:
        if not self.held[worker]:
            return
        task = self.held[worker].pop(pick % len(self.held[worker]))
        record = OutcomeRecord(task.id, task.attempt, outcome, "model", None, None, 0.0)  # type: ignore[arg-type]
        self.run(Repository(self.pool, worker).finish([record]))

    @rule(worker=st.sampled_from(WORKERS))
    def crash(self, worker: str) -> None:
        """The worker process dies: its tasks stay processing until their leases expire."""
        self.crashed += [(worker, task) for task in self.held[worker]]
        self.held[worker] = []

    @rule()
    def leases_expire(self) -> None:
        """Time passes beyond every lease (the clock the leases are compared with moves on); the scheduler rescues."""
        self.run(
            self.pool.execute(
                "UPDATE sync_tasks SET lease_expires_at = now() - interval '1 second' WHERE status = 'processing'"
            )
        )
        self.run(self.pool.fetch(QUERIES["rescue_expired_leases"], 500))
        for worker in WORKERS:  # live workers lost their leases too: what they hold is now stale
            self.crashed += [(worker, task) for task in self.held[worker]]
            self.held[worker] = []

    @rule(outcome=st.sampled_from(["completed", "failed"]))
    def stale_owner_writes(self, outcome: str) -> None:
        """A worker that lost its lease reports late: the fence must refuse it unless it still owns the attempt."""
        if not self.crashed:
            return
        worker, task = self.crashed.pop()
        record = OutcomeRecord(task.id, task.attempt, outcome, "late", None, None, 0.0)  # type: ignore[arg-type]
        written = self.run(Repository(self.pool, worker).finish([record]))
        if written:
            row = self.run(self.pool.fetchrow("SELECT attempt FROM sync_tasks WHERE id = $1", task.id))
            assert row["attempt"] == task.attempt, "a stale attempt's outcome was written"

    @rule()
    def lost_wakeups_redispatched(self) -> None:
        self.run(self.pool.fetch(QUERIES["mark_stale_due_tasks"], 0.0, 1000))

    @rule(pick=st.integers(0, 9))
    def cancel(self, pick: int) -> None:
        if not self.order:
            return
        with contextlib.suppress(ValidationFailed):  # already terminal
            self.run(self.service.cancel(self.order[pick % len(self.order)]))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def nothing_lost(self) -> None:
        if self.enqueued:
            found = self.run(
                self.pool.fetchval("SELECT count(*) FROM sync_tasks WHERE id = ANY($1)", list(self.enqueued))
            )
            assert found == len(self.enqueued)

    @invariant()
    def completed_at_most_once(self) -> None:
        twice = self.run(
            self.pool.fetchval(
                "SELECT count(*) FROM (SELECT task_id FROM model_completions GROUP BY task_id HAVING count(*) > 1) t"
            )
        )
        assert twice == 0

    @invariant()
    def one_running_task_per_shop_and_type(self) -> None:
        doubled = self.run(
            self.pool.fetchval(
                "SELECT count(*) FROM (SELECT 1 FROM sync_tasks WHERE status = 'processing' "
                "GROUP BY shop_id, task_type HAVING count(*) > 1) t"
            )
        )
        assert doubled == 0

    def teardown(self) -> None:
        """Drain: whatever happened, every task ends terminal (the engine's rescue and retries see to it)."""
        for _ in range(50):
            self.leases_expire()
            self.run(self.pool.execute("UPDATE sync_tasks SET next_retry_at = NULL WHERE status = 'pending'"))
            tasks = self.run(Repository(self.pool, "drainer").claim("shopee", 100, 30.0, TYPES))
            records = [OutcomeRecord(t.id, t.attempt, "completed", None, None, None, 0.0) for t in tasks]
            if records:
                self.run(Repository(self.pool, "drainer").finish(records))
            left = self.run(
                self.pool.fetchval(
                    "SELECT count(*) FROM sync_tasks WHERE status NOT IN ('completed', 'failed', 'cancelled')"
                )
            )
            if left == 0:
                break
        assert left == 0, f"{left} tasks never reached a terminal state"
        self.completed_at_most_once()


@pytest.mark.timeout(300)
def test_engine_state_machine(database: Settings) -> None:
    loop = asyncio.new_event_loop()
    try:
        pool = loop.run_until_complete(engine_pool(database, "nfsync-model", max_size=4))
        org = loop.run_until_complete(pool.fetchval("INSERT INTO organizations (name) VALUES ('model') RETURNING id"))
        integration, shops = loop.run_until_complete(seed_platform_shops(pool, org, "shopee", 3))
        loop.run_until_complete(pool.execute(AUDIT))
        EngineModel.loop, EngineModel.pool, EngineModel.org = loop, pool, org
        EngineModel.integration, EngineModel.shops = integration, shops
        run_state_machine_as_test(
            EngineModel,
            settings=settings(
                max_examples=30,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
        loop.run_until_complete(pool.close())
    finally:
        loop.close()
