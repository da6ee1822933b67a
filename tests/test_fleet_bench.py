"""`nfsync bench fleet` in a reduced size (issue #20): it completes and reports every figure. No timing is asserted
here (timing belongs in the benchmark's own runs, BENCHMARKS.md)."""

from __future__ import annotations

import pytest

from nfsync.workers.config import Settings
from nfsync.workers.lab.fleet_bench import Options, _doubling, run_fleet

SMOKE = Options(shops=40, orgs=8, variants=4, workers=1, minutes=0.25, stock_rate=4, webhook_rate=8, sync_interval=1)
FIGURES = (
    "scheduler_ticks",
    "tasks_per_s",
    "commits_per_s",
    "writing_transactions_per_s",
    "commits_per_task",
    "rows_written_per_task",
    "setup_seconds",
    "cpu_seconds_per_shop_hour",
    "stock_latency_p50_s",
    "stock_latency_p95_s",
    "queue_depth",
    "start_lateness_max_s",
    "periodic_polls_behind_s",
    "meets",
)


@pytest.mark.timeout(600)
async def test_a_small_fleet_runs_and_reports_every_figure(database: Settings) -> None:
    result = await run_fleet(database, SMOKE)
    missing = [name for name in FIGURES if result.get(name) is None]
    assert not missing, (missing, result)
    assert result["shops"] == 40 and result["stock_changes"] > 0 and result["webhooks_sent"] > 0
    assert {"postgresql", "workers", "api", "scheduler"} <= set(result["cpu_seconds_per_shop_hour"]), result
    assert result["scheduler_ticks"]["reports"] >= 1, result
    assert result["queue_depth"], result
    assert set(result["meets"]) == {"stock_p95_le_5s", "no_task_overdue_by_its_interval"}


def test_find_max_doubles_from_a_sixty_fourth_up_to_the_fleet_asked_for() -> None:
    assert _doubling(10_000) == [156, 312, 624, 1248, 2496, 4992, 10_000]
    assert _doubling(100) == [10, 20, 40, 100]
    assert _doubling(10) == [10]
