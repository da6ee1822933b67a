"""workers/lab/bench_report.py without running a benchmark: statistics, verdicts, the markdown from canned results."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from nfsync.workers.cli import build_parser
from nfsync.workers.lab import bench_report as br

# The shapes `nfsync bench ... --json` prints (keys as in workers/lab/bench.py, connector_bench.py, sync_bench.py,
# webhook_bench.py).
DISPATCH = {
    "scenario": "dispatch",
    "tasks": 20000,
    "workers": 2,
    "concurrency": 400,
    "claim_batch": 400,
    "enqueue_per_s": 6879,
    "drain_per_s": 9380,
    "drain_wall_s_incl_startup": 3.1,
    "end_to_end_per_s": 4650,
    "claim_latency_p50_ms": 178.0,
    "claim_latency_p95_ms": 268.0,
    "peak_worker_rss_mb": 65.0,
    "target_drain_per_s": 6500,
}
CONNECTOR = {
    "scenario": "connector",
    "platform": "shopee",
    "calls_per_s": 2568,
    "concurrency": 16,
    "limiter": {
        "processes": 3,
        "rate_limit": 50.0,
        "seconds": 10.0,
        "served_per_s": 52.0,
        "utilisation": 1.04,
        "throttled": 0,
        "client_calls": 520,
    },
    "images": {
        "image_bytes": 262144,
        "rate_limit": 50.0,
        "unthrottled_per_s": 229.6,
        "uploads_per_s": 50.4,
        "share_of_limit": 1.008,
        "throttled": 0,
    },
}
SYNC = {
    "scenario": "sync",
    "platform": "lazada",
    "full_push": {
        "variants": 2000,
        "listed": 2000,
        "rate_limit": 50,
        "calls": 1600,
        "throttled": 0,
        "seconds": 15.8,
        "theoretical_min_seconds": 16.0,
        "ratio": 0.989,
        "target_ratio": 1.05,
    },
    "unchanged_resync": {
        "variants": 10000,
        "first_push_seconds": 40.2,
        "write_calls": 0,
        "calls": 0,
        "cold_seconds": 0.6,
        "runs_seconds": [0.5, 0.52, 0.53],
        "seconds": 0.52,
        "wall_seconds_incl_dispatch": 0.55,
        "target_write_calls": 0,
        "target_seconds": 0.6,
    },
    "stock_change_latency": {"changes": 20, "p50_s": 0.037, "p95_s": 0.055, "max_s": 0.06, "target_p95_s": 5.0},
    "combo_stock_latency": {"changes": 20, "combos": 5, "p50_s": 0.05, "p95_s": 0.07, "max_s": 0.08, "target_p95_s": 5},
}
FLEET: dict[str, Any] = {
    "scenario": "fleet",
    "shops": 500,
    "organizations": 50,
    "workers": 2,
    "seconds": 60.4,
    "setup_seconds": {"seed": 2.0, "first_pushes": 17.3},
    "stock_rate_per_s": 2.5,
    "webhook_rate_per_s": 10.0,
    "sync_interval_min": 5,
    "scheduler_ticks": {"reports": 6, "ticks": 60, "p50_ms": 15.850000000000001, "p99_ms": 71.9, "max_ms": 71.9},
    "tasks_per_s": {"inventory_sync": 106.94, "order_sync": 9.67},
    "commits_per_s": 1988.4,
    "writing_transactions_per_s": 928.9,
    "commits_per_task": 17.1,
    "writing_transactions_per_task": 8.0,
    "rows_written_per_task": {
        "sync_tasks": 2.99,
        "rate_limit_buckets": 2.34,
        "event_outbox": 2.13,
        "marketplace_shops": 2.07,
        "sync_logs_202612": 1.0,
        "product_mappings": 0.93,
        "crm_change_events": 0.18,
        "SalesOrder": 0.14,
    },
    "cpu_seconds_per_shop_hour": {
        "api": 0.2074,
        "load generator and sandboxes": 0.8058,
        "postgresql": 4.1253,
        "scheduler": 0.6901,
        "workers": 3.2481,
    },
    "cpu_seconds": {
        "api": 1.7,
        "load generator and sandboxes": 6.8,
        "postgresql": 34.6,
        "scheduler": 5.8,
        "workers": 27.3,
    },
    "stock_changes": 151,
    "stock_unfinished": 0,
    "stock_latency_p50_s": 0.066,
    "stock_latency_p95_s": 0.109,
    "webhooks_sent": 600,
    "webhook_failures": 0,
    "queue_depth": [{"at_s": 0.0, "pending": 0, "processing": 0}, {"at_s": 5.0, "pending": 1, "processing": 0}],
    "start_lateness_max_s": {"inventory_sync": 0.2, "order_sync": 0.0},
    "periodic_polls_behind_s": 0.0,
    "meets": {"stock_p95_le_5s": True, "no_task_overdue_by_its_interval": True},
}
WEBHOOKS = {
    "scenario": "webhooks",
    "offered_rate": 500.0,
    "duration_s": 10.0,
    "requests": 5000,
    "api_processes": 1,
    "warmup_requests": 500,
    "achieved_per_s": 499.6,
    "failures": 0,
    "p50_ms": 2.1,
    "p99_ms": 5.5,
    "targets": {"sustained_per_s": 1500, "p99_ms_at_500_per_s": 25},
}


def variant(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy with dotted paths replaced: variant(SYNC, **{"full_push.ratio": 1.2})."""
    result = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = result
        for part in parents:
            node = node[part]
        node[last] = value
    return result


def record(slug: str, run: int, *results: dict[str, Any], error: str | None = None) -> br.RunRecord:
    return br.RunRecord(slug, f"nfsync bench {slug} --json", run, 12.5, list(results), error)


def report(records: list[br.RunRecord], *, runs: int = 3, quick: bool = False) -> str:
    machine = [("CPU", "Test CPU; 2 logical CPUs (2 usable by this process)"), ("PostgreSQL", "15.8")]
    when = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    commands = ["nfsync bench dispatch --json"]
    made = br.Report(
        "python -m nfsync.workers.lab.bench_report",
        when,
        runs,
        quick,
        "nfsync 0.1.0, commit abc1234",
        machine,
        commands,
        records,
    )
    return br.render(made)


def test_median_and_spread() -> None:
    assert br.summarize([9218, 11812, 9380]) == br.Stats(9380, 9218, 11812, 3)
    assert br.summarize([1.0, 2.0]) == br.Stats(1.5, 1.0, 2.0, 2)
    assert br.summarize([]) is None


def test_verdicts() -> None:
    at_least = br.Figure("drain_per_s", "drain", br.Target(">=", 6500))
    assert br.judge(at_least, [6000, 7000, 6600]) == "met"  # the median counts
    assert br.judge(at_least, [6000, 6400, 9000]) == "not met"
    assert br.judge(at_least, []) == "not measured"
    assert br.judge(br.Figure("x", "x"), [1.0]) == ""
    zero = br.Figure("limiter.throttled", "throttled", br.ZERO_EVERY_RUN)
    assert br.judge(zero, [0, 0, 0]) == "met"
    assert br.judge(zero, [0, 3, 0]) == "not met"  # every run, not the median
    at_most = br.Figure("p99_ms", "p99", br.Target("<=", 25))
    assert br.judge(at_most, [25.0, 30.0, 5.5]) == "met"
    assert br.judge(at_most, [26.0, 30.0, 5.5]) == "not met"
    small = br.Figure("s", "s", br.Target("<=", 3), not_judged="300 variants")
    assert br.judge(small, [9.0]) == "not judged: 300 variants"


def test_every_figure_exists_in_the_benchmarks_json() -> None:
    for result in (DISPATCH, CONNECTOR, SYNC, FLEET, WEBHOOKS, variant(WEBHOOKS, offered_rate=1500.0, api_processes=2)):
        for figure in br.FIGURES[str(result["scenario"])](result):
            assert br.lookup(result, figure.path) is not None, figure.path
        for _, path in br.SETUP[str(result["scenario"])]:
            assert br.lookup(result, path) is not None, path


def test_targets_per_scenario() -> None:
    def targets(result: dict[str, Any]) -> dict[str, str]:
        return {f.path: f.target.label() for f in br.FIGURES[result["scenario"]](result) if f.target}

    assert targets(DISPATCH) == {"drain_per_s": ">= 6,500"}
    assert targets(CONNECTOR) == {"limiter.throttled": "= 0 (every run)", "images.throttled": "= 0 (every run)"}
    assert targets(SYNC) == {
        "full_push.ratio": "<= 1.05",
        "full_push.throttled": "= 0 (every run)",
        "unchanged_resync.write_calls": "= 0 (every run)",
        "unchanged_resync.seconds": "<= 0.6",
        "stock_change_latency.p95_s": "<= 5",
        "combo_stock_latency.p95_s": "<= 5",
    }
    assert targets(WEBHOOKS) == {"p99_ms": "<= 25"}
    assert targets(variant(WEBHOOKS, offered_rate=1500.0, api_processes=2)) == {
        "achieved_per_s": ">= 1,485 (1,500/s sustained, within 1 %)",
        "failures": "= 0 (every run)",
    }


def test_sustained_rate_allows_the_tail_of_the_last_answer_but_not_less() -> None:
    fast = variant(WEBHOOKS, offered_rate=1500.0, api_processes=2, achieved_per_s=1499.8)
    [achieved, failures, *_] = br.FIGURES["webhooks"](fast)
    assert br.judge(achieved, [1499.8, 1499.6, 1498.9]) == "met"
    assert br.judge(achieved, [1230.0, 1228.5, 1241.0]) == "not met"
    assert br.judge(failures, [0, 1, 0]) == "not met"


def test_resync_target_is_judged_only_at_its_size() -> None:
    small = variant(SYNC, **{"unchanged_resync.variants": 300, "unchanged_resync.seconds": 0.2})
    [section] = br.build_sections([record("sync-lazada", 1, small)])
    verdicts = {row.figure.path: row.verdict for row in section.rows}
    assert verdicts["unchanged_resync.seconds"] == "not judged: 300 variants re-synced, the target is for 10,000"
    assert verdicts["full_push.ratio"] == "met"


def test_markdown_from_canned_results() -> None:
    records = []
    for run, (drain, p99, ratio) in enumerate([(9218, 5.1, 0.99), (11812, 30.0, 1.2), (9380, 5.5, 0.98)], start=1):
        tiktok = variant(CONNECTOR, platform="tiktok", calls_per_s=2059, **{"limiter.throttled": 2 if run == 2 else 0})
        records += [
            record("dispatch", run, variant(DISPATCH, drain_per_s=drain)),
            record("connector", run, CONNECTOR, tiktok),
            record("sync-lazada", run, variant(SYNC, **{"full_push.ratio": ratio})),
            record("webhooks-500", run, variant(WEBHOOKS, p99_ms=p99)),
        ]
    records.append(record("webhooks-1500", 1, error="exit 1: nfsync: error: the API did not start"))
    text = report(records)

    assert text.startswith("# Benchmarks\n")
    assert "Quick smoke run" not in text
    assert "| PostgreSQL | 15.8 |" in text
    assert "nfsync 0.1.0, commit abc1234" in text
    assert "```sh\nnfsync bench dispatch --json\n```" in text
    assert "| Task engine: dispatch | drain (tasks/s) | 9,380 | 9,218 - 11,812 | >= 6,500 | met |" in text
    assert "| Connector: Shopee | limiter: throttled responses | 0 | 0 - 0 | = 0 (every run) | met |" in text
    tiktok_row = "| Connector: TikTok Shop | limiter: throttled responses | 0 | 0 - 2 | = 0 (every run) | **not met** |"
    assert tiktok_row in text
    assert "| Sync: Lazada | full push / minimum | 0.99 | 0.98 - 1.2 | <= 1.05 | met |" in text
    assert "| Webhooks: 500 req/s offered, 1 API process | latency p99 (ms) | 5.5 | 5.1 - 30 | <= 25 | met |" in text
    assert "### Connector: TikTok Shop" in text
    assert "in flight 16, limiter processes 3, sandbox limit (calls/s) 50, seconds 10; 3 runs." in text
    assert "| enqueue (tasks/s) | 6,879 | 6,879 - 6,879 |  |  |" in text  # a figure without a target
    assert "## Failed runs" in text
    assert "- `nfsync bench webhooks-1500 --json`, run 1 (12.5 s): exit 1: nfsync: error: the API did not start" in text
    assert "11 met, 1 not met." in text  # shopee and tiktok: two image-upload targets more
    assert "**Not measured** (every run failed, see below): `nfsync bench webhooks-1500 --json`." in text


def test_quick_single_run_report() -> None:
    text = report([record("dispatch", 1, variant(DISPATCH, tasks=2000))], runs=1, quick=True)
    assert "> **Quick smoke run** (`--quick`)" in text
    assert "Every scenario ran 1 time with `--json`" in text
    assert "| drain (tasks/s) | 9,380 | (1 run) | >= 6,500 | met |" in text
    assert "## Failed runs" not in text


def test_results_are_read_among_log_lines() -> None:
    stdout = "\n".join(["warming up", json.dumps(CONNECTOR), "{not json", json.dumps(SYNC), ""])
    assert br.parse_results(stdout) == [CONNECTOR, SYNC]


@pytest.mark.parametrize("quick", [False, True])
def test_scenarios_are_valid_bench_commands(quick: bool) -> None:
    commands = [s.command(quick) for s in br.SCENARIOS]
    assert len(commands) == 12  # sync for five platforms
    assert any(c.startswith("nfsync bench fleet --shops 500") for c in commands)
    assert any(c.startswith("nfsync bench events") for c in commands)
    assert any(c.startswith("nfsync bench sync-logs") for c in commands)
    assert all(c.startswith("nfsync bench ") and c.endswith(" --json") for c in commands)
    assert any("webhooks --rate 1500 --api-processes 2" in c for c in commands)
    assert sum(" sync --platform " in c for c in commands) == 5
    for scenario in br.SCENARIOS:
        args = build_parser().parse_args(scenario.argv(quick))  # options the real command accepts
        assert args.json is True


def test_number_format() -> None:
    assert [br.fmt(v) for v in (9380, 9380.0, 1499.8, 71.8, 0.997, 5.5, 0.0312)] == [
        "9,380",
        "9,380",
        "1,499.8",
        "71.8",
        "0.997",
        "5.5",
        "0.0312",
    ]


def test_only_names_scenarios_and_refuses_others() -> None:
    assert br.parse_args(["--only", "events", "--only", "sync-logs"]).only == ["events", "sync-logs"]
    assert br.parse_args([]).only is None
    with pytest.raises(SystemExit):
        br.parse_args(["--only", "everything"])


def test_fleet_targets_follow_the_poll_interval() -> None:
    def targets(result: dict[str, Any]) -> dict[str, str]:
        return {f.path: f.target.label() for f in br.FIGURES["fleet"](result) if f.target}

    assert targets(FLEET)["stock_latency_p95_s"] == "<= 5"
    assert targets(FLEET)["periodic_polls_behind_s"] == "<= 300 (the poll interval)"
    assert (
        targets(variant(FLEET, sync_interval_min=1))["start_lateness_max_s.order_sync"] == "<= 60 (the poll interval)"
    )
    [section] = br.build_sections([record("fleet", 1, variant(FLEET, stock_latency_p95_s=6.2))])
    verdicts = {row.figure.path: row.verdict for row in section.rows}
    assert verdicts["stock_latency_p95_s"] == "not met" and verdicts["periodic_polls_behind_s"] == "met"
    assert section.title == "Fleet: 500 shops"


def test_recorded_fleet_runs_are_copied_with_their_command(tmp_path: Any) -> None:
    failing = variant(FLEET, shops=1000, **{"meets.stock_p95_le_5s": False, "stock_latency_p95_s": 7.5})
    search = {
        "scenario": "fleet-find-max",
        "largest_meeting_both": 500,
        "first_failing": 1000,
        "runs": [FLEET, failing],
    }
    (tmp_path / "a-find-max.json").write_text(
        json.dumps(
            {
                "command": "nfsync bench fleet --find-max",
                "recorded_at": "2026-12-04 14:00 UTC",
                "commit": "nfsync 0.1.0, commit abc1234",
                "result": search,
            }
        )
    )
    big = variant(FLEET, shops=10000, organizations=1000)
    (tmp_path / "b-10000.json").write_text(
        json.dumps(
            {"command": "nfsync bench fleet", "recorded_at": "2026-12-04 15:00 UTC", "commit": "c", "result": big}
        )
    )
    (tmp_path / "broken.json").write_text("{not json")
    text = "\n".join(br._recorded(tmp_path))
    assert "## Recorded long runs" in text
    assert "### `nfsync bench fleet --find-max`" in text
    assert "**Largest fleet meeting both conditions: 500 shops** (the first size that failed: 1,000)." in text
    assert "| 1,000 | 2.5 | 10 | 116.6 | 7.5 | 0 | **no** | yes |" in text
    assert "shops 10,000, organizations 1,000" in text
    assert "| stock change -> every shop p95 (s) | 0.109 | <= 5 | met |" in text
    assert br._recorded(tmp_path / "missing") == []
