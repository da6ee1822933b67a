"""`make bench`: every ``nfsync bench`` scenario, several times, summarised in ``BENCHMARKS.md``.

Scenarios: ``dispatch``; ``connector`` (all platforms); ``sync`` for each of the five platforms; ``webhooks`` at
500 req/s with one API process and at 1,500 req/s with ``--api-processes 2``; ``events``; ``sync-logs``; a 500-shop
``fleet``. The long fleet runs recorded in ``docs/benchmarks/`` (``nfsync bench fleet --save``) are copied in as they
are. Each runs ``--runs`` times (default
3) with ``--json``, in rounds (every scenario once, then again), so a slow minute of the machine does not land on
one scenario's runs only. Per figure the report shows the median and the spread (min-max) of the runs, the target
beside it, and whether the target is met: on the median, or on every run for the targets that say so (0 throttled,
0 writes, 0 failures).

The benchmarks use the local PostgreSQL and RabbitMQ exactly as ``nfsync bench`` does (their own throw-away
databases ``<database>_bench`` / ``<database>_syncbench`` on the configured server); this script purges nothing and
starts nothing. ``--quick`` runs small sizes, to check that the whole thing works, not to measure.

    python -m nfsync.workers.lab.bench_report [--runs N] [--quick] [--output PATH] [--timeout S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import aiormq
import asyncpg

from nfsync.connectors.base.errors import NfsyncError
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.config import load_settings

SYNC_PLATFORMS = PLATFORM_PACKAGES  # Shopify's full push is judged against its cost-bucket minimum (sync_bench.py)
PLATFORM_NAMES = {
    "shopee": "Shopee",
    "lazada": "Lazada",
    "tiktok": "TikTok Shop",
    "woocommerce": "WooCommerce",
    "shopify": "Shopify",
}
SUSTAINED_RATE = 1500.0
SUSTAINED_SHARE = 0.99  # the achieved rate counts until the last answer: a perfect run reads a little under offered
RESYNC_TARGET_VARIANTS = 10_000
REPO = Path(__file__).resolve().parents[2]  # the checkout (git describes the commit measured)


# ------------------------------------------------------------------------------------------------ scenarios


@dataclass(frozen=True)
class Scenario:
    slug: str
    args: tuple[str, ...]
    quick_args: tuple[str, ...]

    def argv(self, quick: bool) -> list[str]:
        return ["bench", *self.args, *(self.quick_args if quick else ()), "--json"]

    def command(self, quick: bool) -> str:
        return shlex.join(["nfsync", *self.argv(quick)])


SYNC_QUICK = ("--variants", "100", "--resync-variants", "300", "--changes", "3")
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("dispatch", ("dispatch",), ("--tasks", "2000")),
    Scenario("connector", ("connector", "--platform", "all"), ("--seconds", "2")),
    *(Scenario(f"sync-{p}", ("sync", "--platform", p), SYNC_QUICK) for p in SYNC_PLATFORMS),
    Scenario("webhooks-500", ("webhooks", "--rate", "500"), ("--duration", "2")),
    Scenario("webhooks-1500", ("webhooks", "--rate", "1500", "--api-processes", "2"), ("--duration", "2")),
    Scenario("events", ("events",), ("--events", "2000", "--tasks", "200")),
    Scenario("sync-logs", ("sync-logs",), ("--rows", "200000", "--repeat", "3")),
    Scenario(
        "fleet",
        ("fleet", "--shops", "500", "--minutes", "1", "--stock-rate", "2.5", "--webhook-rate", "10"),
        (
            "--shops",
            "40",
            "--orgs",
            "8",
            "--variants",
            "4",
            "--workers",
            "1",
            "--minutes",
            "0.25",
            "--sync-interval",
            "1",
        ),
    ),
)
RECORDED = REPO / "docs" / "benchmarks"  # long runs `make bench` does not repeat (nfsync bench fleet --save)


# ------------------------------------------------------------------------------------------------ figures and targets


@dataclass(frozen=True)
class Target:
    op: str  # ">=", "<=" or "=="
    value: float
    every_run: bool = False  # judged on every run (the worst one) instead of the median
    text: str | None = None

    def holds(self, value: float) -> bool:
        if self.op == ">=":
            return value >= self.value
        if self.op == "<=":
            return value <= self.value
        return value == self.value

    def label(self) -> str:
        if self.text is not None:
            return self.text
        shown = f"{'=' if self.op == '==' else self.op} {fmt(self.value)}"
        return shown + (" (every run)" if self.every_run else "")


@dataclass(frozen=True)
class Figure:
    path: str  # dotted path in the benchmark's JSON
    label: str
    target: Target | None = None
    not_judged: str | None = None  # why the target does not apply to the sizes that ran


@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    count: int


def summarize(values: Sequence[float]) -> Stats | None:
    """Median and spread of the runs' values; None when no run produced the figure."""
    if not values:
        return None
    return Stats(float(statistics.median(values)), float(min(values)), float(max(values)), len(values))


def judge(figure: Figure, values: Sequence[float]) -> str:
    """met / not met / not measured / not judged (...); '' for a figure without a target."""
    target = figure.target
    if target is None:
        return ""
    if not values:
        return "not measured"
    if figure.not_judged:
        return f"not judged: {figure.not_judged}"
    if target.every_run:
        return "met" if all(target.holds(v) for v in values) else "not met"
    return "met" if target.holds(float(statistics.median(values))) else "not met"


def lookup(result: dict[str, Any], path: str) -> float | None:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


ZERO_EVERY_RUN = Target("==", 0, every_run=True)


def _dispatch_figures(_result: dict[str, Any]) -> list[Figure]:
    return [
        Figure("drain_per_s", "drain (tasks/s)", Target(">=", 6500)),
        Figure("enqueue_per_s", "enqueue (tasks/s)"),
        Figure("end_to_end_per_s", "end to end, enqueue while draining (tasks/s)"),
        Figure("claim_latency_p50_ms", "claim latency p50 (ms)"),
        Figure("claim_latency_p95_ms", "claim latency p95 (ms)"),
        Figure("drain_wall_s_incl_startup", "drain wall time incl. worker start-up (s)"),
        Figure("peak_worker_rss_mb", "peak worker RSS (MB)"),
    ]


def _connector_figures(result: dict[str, Any]) -> list[Figure]:
    calls = [
        Figure("calls_per_s", "calls/s through the client stack (unthrottled sandbox)"),
        Figure("limiter.served_per_s", "limiter: calls/s served"),
        Figure("limiter.utilisation", "limiter: share of the limit used"),
        Figure("limiter.throttled", "limiter: throttled responses", ZERO_EVERY_RUN),
    ]
    if "images" not in result:  # a platform that takes image URLs (WooCommerce)
        return calls
    return [
        *calls,
        Figure("images.unthrottled_per_s", "image uploads/s per shop, one at a time (unthrottled sandbox)"),
        Figure("images.uploads_per_s", "image uploads/s per shop at the rate limit"),
        Figure("images.share_of_limit", "image uploads: share of the limit used"),
        Figure("images.throttled", "image uploads: throttled responses", ZERO_EVERY_RUN),
    ]


def _sync_figures(result: dict[str, Any]) -> list[Figure]:
    resync = lookup(result, "unchanged_resync.variants")
    small = None
    if resync != RESYNC_TARGET_VARIANTS:
        small = f"{fmt(resync or 0)} variants re-synced, the target is for {fmt(RESYNC_TARGET_VARIANTS)}"
    return [
        Figure("full_push.seconds", "full push (s)"),
        Figure("full_push.theoretical_min_seconds", "full push: rate-limit minimum (s)"),
        Figure("full_push.calls", "full push: marketplace calls"),
        Figure("full_push.ratio", "full push / minimum", Target("<=", 1.05)),
        Figure("full_push.throttled", "full push: throttled responses", ZERO_EVERY_RUN),
        Figure("unchanged_resync.write_calls", "unchanged re-sync: write calls", ZERO_EVERY_RUN, small),
        Figure("unchanged_resync.seconds", "unchanged re-sync (s)", Target("<=", 0.6), small),
        Figure("unchanged_resync.cold_seconds", "unchanged re-sync straight after the push (s)"),
        Figure("unchanged_resync.calls", "unchanged re-sync: marketplace calls"),
        Figure("stock_change_latency.p50_s", "stock change -> sandbox p50 (s)"),
        Figure("stock_change_latency.p95_s", "stock change -> sandbox p95 (s)", Target("<=", 5)),
        Figure("stock_change_latency.max_s", "stock change -> sandbox max (s)"),
        *_cost_figures(result),
        Figure("combo_stock_latency.p50_s", "component change -> combo stock p50 (s)"),
        Figure("combo_stock_latency.p95_s", "component change -> combo stock p95 (s)", Target("<=", 5)),
    ]


def _cost_figures(result: dict[str, Any]) -> list[Figure]:
    """A cost-limited platform's push (Shopify): the points spent and the share of the restore rate it used."""
    if lookup(result, "full_push.cost_spent") is None:
        return []
    return [
        Figure("full_push.cost_spent", "full push: cost points spent"),
        Figure("full_push.restore_rate_used", "full push: share of the restore rate used", Target(">=", 0.9)),
    ]


def _webhook_figures(result: dict[str, Any]) -> list[Figure]:
    offered = lookup(result, "offered_rate") or 0.0
    sustained = offered >= SUSTAINED_RATE
    floor = SUSTAINED_RATE * SUSTAINED_SHARE
    rate_target = (
        Target(">=", floor, text=f">= {fmt(floor)} ({fmt(SUSTAINED_RATE)}/s sustained, within 1 %)")
        if sustained
        else None
    )
    return [
        Figure("achieved_per_s", "achieved (req/s)", rate_target),
        Figure("failures", "failures (non-200)", ZERO_EVERY_RUN if sustained else None),
        Figure("p50_ms", "latency p50 (ms)"),
        Figure("p99_ms", "latency p99 (ms)", Target("<=", 25) if offered <= 500 else None),
    ]


def _events_figures(_result: dict[str, Any]) -> list[Figure]:
    return [
        Figure("publish.per_s", "events published, outbox -> confirmed (events/s)", Target(">=", 5000)),
        Figure("commits_per_task.with_events", "commits per task, with events"),
        Figure("commits_per_task.without_events", "commits per task, without events"),
        Figure("added_commits_per_task", "commits per task added by events", Target("<=", 1)),
    ]


LOG_PAGES = ("newest", "shop", "failed", "entity", "task", "one_day_in_the_past", "deep_cursor")
LOG_PAGE_MS = 50  # a page of GET /v1/sync-logs, whatever its filter


def _logs_figures(_result: dict[str, Any]) -> list[Figure]:
    return [
        Figure(
            f"pages.{page}.median_ms", f"page of 100, {page.replace('_', ' ')} (ms, median)", Target("<=", LOG_PAGE_MS)
        )
        for page in LOG_PAGES
    ]


def _fleet_figures(result: dict[str, Any]) -> list[Figure]:
    interval = (lookup(result, "sync_interval_min") or 5) * 60
    on_time = Target("<=", interval, text=f"<= {fmt(interval)} (the poll interval)")
    return [
        Figure("tasks_per_s.inventory_sync", "inventory_sync tasks/s"),
        Figure("tasks_per_s.order_sync", "order_sync tasks/s"),
        Figure("scheduler_ticks.p50_ms", "scheduler tick p50 (ms)"),
        Figure("scheduler_ticks.p99_ms", "scheduler tick p99 (ms)"),
        Figure("commits_per_s", "PostgreSQL commits/s"),
        Figure("commits_per_task", "commits per task"),
        Figure("writing_transactions_per_task", "writing transactions per task"),
        *(
            Figure(f"cpu_seconds_per_shop_hour.{role}", f"CPU s per shop-hour: {role}")
            for role in ("postgresql", "workers", "scheduler", "api")
        ),
        Figure("stock_latency_p50_s", "stock change -> every shop p50 (s)"),
        Figure("stock_latency_p95_s", "stock change -> every shop p95 (s)", Target("<=", 5)),
        Figure("stock_unfinished", "stock changes never shown", ZERO_EVERY_RUN),
        Figure("start_lateness_max_s.inventory_sync", "inventory_sync start lateness max (s)", on_time),
        Figure("start_lateness_max_s.order_sync", "order_sync start lateness max (s)", on_time),
        Figure("periodic_polls_behind_s", "periodic polls behind (s)", on_time),
    ]


FIGURES: dict[str, Callable[[dict[str, Any]], list[Figure]]] = {
    "dispatch": _dispatch_figures,
    "connector": _connector_figures,
    "sync": _sync_figures,
    "webhooks": _webhook_figures,
    "events": _events_figures,
    "sync_logs": _logs_figures,
    "fleet": _fleet_figures,
}

SETUP: dict[str, tuple[tuple[str, str], ...]] = {
    "dispatch": (
        ("tasks", "tasks"),
        ("worker processes", "workers"),
        ("concurrency", "concurrency"),
        ("claim batch", "claim_batch"),
    ),
    "connector": (
        ("in flight", "concurrency"),
        ("limiter processes", "limiter.processes"),
        ("sandbox limit (calls/s)", "limiter.rate_limit"),
        ("seconds", "limiter.seconds"),
    ),
    "sync": (
        ("variants pushed", "full_push.variants"),
        ("rate limit (calls/s)", "full_push.rate_limit"),
        ("variants re-synced", "unchanged_resync.variants"),
        ("stock changes", "stock_change_latency.changes"),
    ),
    "events": (("events", "publish.events"), ("tasks per run", "tasks")),
    "sync_logs": (("rows", "rows"), ("days", "days"), ("partitions", "partitions")),
    "fleet": (
        ("shops", "shops"),
        ("organizations", "organizations"),
        ("worker processes", "workers"),
        ("seconds", "seconds"),
        ("stock changes/s", "stock_rate_per_s"),
        ("webhooks/s", "webhook_rate_per_s"),
        ("poll interval (min)", "sync_interval_min"),
    ),
    "webhooks": (
        ("offered (req/s)", "offered_rate"),
        ("seconds", "duration_s"),
        ("requests", "requests"),
        ("API processes", "api_processes"),
        ("warm-up requests", "warmup_requests"),
    ),
}


def section_key(result: dict[str, Any]) -> tuple[str, str]:
    kind = str(result.get("scenario"))
    if kind in ("connector", "sync"):
        return kind, str(result.get("platform"))
    if kind == "webhooks":
        return kind, f"{fmt(lookup(result, 'offered_rate') or 0)}/{fmt(lookup(result, 'api_processes') or 1)}"
    return kind, ""


TITLES = {
    "dispatch": "Task engine: dispatch",
    "events": "Events out",
    "sync_logs": "Sync logs: GET /v1/sync-logs pages",
}


def section_title(result: dict[str, Any]) -> str:
    kind = str(result.get("scenario"))
    name = PLATFORM_NAMES.get(str(result.get("platform")), str(result.get("platform")))
    if kind in TITLES:
        return TITLES[kind]
    if kind == "connector":
        return f"Connector: {name}"
    if kind == "sync":
        return f"Sync: {name}"
    if kind == "fleet":
        return f"Fleet: {fmt(lookup(result, 'shops') or 0)} shops"
    processes = int(lookup(result, "api_processes") or 1)
    plural = "process" if processes == 1 else "processes"
    return f"Webhooks: {fmt(lookup(result, 'offered_rate') or 0)} req/s offered, {processes} API {plural}"


# ------------------------------------------------------------------------------------------------ runs and sections


@dataclass
class RunRecord:
    scenario: str
    command: str
    run: int
    seconds: float
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class Row:
    figure: Figure
    stats: Stats | None
    verdict: str


@dataclass
class Section:
    title: str
    setup: str
    rows: list[Row]
    runs: int


def build_sections(records: Sequence[RunRecord]) -> list[Section]:
    """Results grouped per section (scenario and platform or rate), in the order they first appeared."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        for result in record.results:
            if str(result.get("scenario")) in FIGURES:
                grouped.setdefault(section_key(result), []).append(result)
    return [_section(results) for results in grouped.values()]


def _section(results: list[dict[str, Any]]) -> Section:
    first = results[0]
    kind = str(first["scenario"])
    rows = []
    for figure in FIGURES[kind](first):
        values = [v for v in (lookup(r, figure.path) for r in results) if v is not None]
        rows.append(Row(figure, summarize(values), judge(figure, values)))
    setup = ", ".join(
        f"{label} {fmt(value)}" for label, path in SETUP[kind] if (value := lookup(first, path)) is not None
    )
    return Section(section_title(first), setup, rows, len(results))


# ------------------------------------------------------------------------------------------------ rendering


def fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _spread(stats: Stats | None) -> str:
    if stats is None:
        return "-"
    if stats.count < 2:
        return "(1 run)"
    return f"{fmt(stats.low)} - {fmt(stats.high)}"


def _cells(row: Row) -> list[str]:
    median = "-" if row.stats is None else fmt(row.stats.median)
    target = "" if row.figure.target is None else row.figure.target.label()
    verdict = f"**{row.verdict}**" if row.verdict == "not met" else row.verdict
    return [row.figure.label, median, _spread(row.stats), target, verdict]


@dataclass
class Report:
    invocation: str
    generated_at: datetime
    runs: int
    quick: bool
    provenance: str
    machine: list[tuple[str, str]]
    commands: list[str]
    records: list[RunRecord]


def render(report: Report) -> str:
    sections = build_sections(report.records)
    note = "<!-- Written by `make bench` (workers/lab/bench_report.py): do not edit by hand. -->"
    lines = ["# Benchmarks", "", note, ""]
    if report.quick:
        lines += [
            "> **Quick smoke run** (`--quick`): small sizes, to check that the benchmarks and this report work.",
            "> These figures are not measurements, and a verdict here says nothing about the targets.",
            "",
        ]
    lines += [
        f"Generated {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')} by `{report.invocation}`; "
        f"{report.provenance}.",
        "",
        f"Every scenario ran {report.runs} time{'s' if report.runs != 1 else ''} with `--json`, in rounds (each round "
        "runs every scenario once, in the order below). A figure is the median of the runs, with their spread "
        "(min - max). A target is judged on the median, or on every run where it says so.",
        "",
        *_machine(report.machine),
        *_commands(report.commands, report.runs),
        *_summary(sections, report.records),
        *_details(sections),
        *_recorded(RECORDED),
        *_failures(report.records),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _machine(machine: list[tuple[str, str]]) -> list[str]:
    return ["## Machine", "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in machine), ""]


def _commands(commands: list[str], runs: int) -> list[str]:
    return ["## Commands", "", f"Each {runs} time{'s' if runs != 1 else ''}:", "", "```sh", *commands, "```", ""]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(cells) + " |" for cells in rows),
    ]


def _without_results(records: Sequence[RunRecord]) -> list[str]:
    """Commands none of whose runs produced a result: their targets are not in the tables at all."""
    commands = {r.scenario: r.command for r in records}
    produced = {r.scenario for r in records if r.results and r.error is None}
    return [command for scenario, command in commands.items() if scenario not in produced]


def _summary(sections: list[Section], records: Sequence[RunRecord]) -> list[str]:
    rows = [[s.title, *_cells(r)] for s in sections for r in s.rows if r.figure.target is not None]
    verdicts = [r.verdict for s in sections for r in s.rows if r.figure.target is not None]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("met", "not met", "not measured") if verdicts.count(v))
    judged_not = sum(v.startswith("not judged") for v in verdicts)
    if judged_not:
        counts += f", {judged_not} not judged"
    header = ["scenario", "figure", "median", "spread (min - max)", "target", "verdict"]
    lines = ["## Targets", "", f"{counts or 'no results'}.", ""]
    missing = _without_results(records)
    if missing:
        shown = ", ".join(f"`{command}`" for command in missing)
        lines += [f"**Not measured** (every run failed, see below): {shown}.", ""]
    return [*lines, *_table(header, rows), ""]


def _details(sections: list[Section]) -> list[str]:
    lines = ["## All figures", ""]
    header = ["figure", "median", "spread (min - max)", "target", "verdict"]
    for section in sections:
        runs = f"{section.runs} run{'s' if section.runs != 1 else ''}"
        lines += [f"### {section.title}", "", f"{section.setup}; {runs}.", ""]
        lines += [*_table(header, [_cells(r) for r in section.rows]), ""]
    return lines


def _recorded(folder: Path) -> list[str]:
    """The long runs recorded in ``folder`` (``nfsync bench fleet --save``): each once, as it ran."""
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with contextlib.suppress(ValueError, OSError):
            records.append(json.loads(path.read_text()))
    if not records:
        return []
    lines = [
        "## Recorded long runs",
        "",
        "Runs too long for three rounds here, each made once on this machine and recorded with `--save` in "
        "`docs/benchmarks/` (this report copies them; it did not run them).",
        "",
    ]
    for record in records:
        result = record.get("result") or {}
        lines += [
            f"### `{record.get('command')}`",
            "",
            f"Recorded {record.get('recorded_at')}, {record.get('commit')}.",
            "",
        ]
        if result.get("scenario") == "fleet-find-max":
            lines += _find_max_lines(result)
        elif result.get("scenario") == "fleet":
            lines += _one_fleet_lines(result)
    return lines


def _one_fleet_lines(result: dict[str, Any]) -> list[str]:
    setup = ", ".join(
        f"{label} {fmt(value)}" for label, path in SETUP["fleet"] if (value := lookup(result, path)) is not None
    )
    rows = []
    for figure in _fleet_figures(result):
        value = lookup(result, figure.path)
        values = [] if value is None else [value]
        target = "" if figure.target is None else figure.target.label()
        rows.append([figure.label, "-" if value is None else fmt(value), target, judge(figure, values)])
    return [f"{setup}.", "", *_table(["figure", "value", "target", "verdict"], rows), ""]


def _find_max_lines(result: dict[str, Any]) -> list[str]:
    best, failing = result.get("largest_meeting_both"), result.get("first_failing")
    head = f"**Largest fleet meeting both conditions: {fmt(best or 0)} shops**" + (
        f" (the first size that failed: {fmt(failing)})." if failing else " (every size tried met both)."
    )
    rows = []
    for run in result.get("runs", []):
        tasks = sum(float(v) for v in (run.get("tasks_per_s") or {}).values())
        meets = run.get("meets") or {}
        rows.append(
            [
                fmt(lookup(run, "shops") or 0),
                fmt(lookup(run, "stock_rate_per_s") or 0),
                fmt(lookup(run, "webhook_rate_per_s") or 0),
                fmt(round(tasks, 1)),
                fmt(lookup(run, "stock_latency_p95_s") or 0),
                fmt(lookup(run, "periodic_polls_behind_s") or 0),
                "yes" if meets.get("stock_p95_le_5s") else "**no**",
                "yes" if meets.get("no_task_overdue_by_its_interval") else "**no**",
            ]
        )
    header = ["shops", "stock changes/s", "webhooks/s", "tasks/s", "stock p95 (s)", "polls behind (s)", "p95 <= 5 s"]
    return [head, "", *_table([*header, "none overdue"], rows), ""]


def _failures(records: Sequence[RunRecord]) -> list[str]:
    failed = [r for r in records if r.error is not None]
    if not failed:
        return []
    lines = ["## Failed runs", ""]
    lines += [f"- `{r.command}`, run {r.run} ({fmt(round(r.seconds, 1))} s): {r.error}" for r in failed]
    return [*lines, ""]


# ------------------------------------------------------------------------------------------------ running


def parse_results(stdout: str) -> list[dict[str, Any]]:
    """The JSON objects a bench printed (one per line; `bench connector` prints one per platform)."""
    results = []
    for line in stdout.splitlines():
        text = line.strip()
        if text.startswith("{"):
            with contextlib.suppress(ValueError):
                value = json.loads(text)
                if isinstance(value, dict):
                    results.append(value)
    return results


def _stop(process: subprocess.Popen[str]) -> None:
    """Interrupt the bench (its clean-up runs: workers stopped, throw-away database dropped), then its whole process
    group if it does not end."""
    steps = ((None, signal.SIGINT, 30.0), (process.pid, signal.SIGTERM, 10.0), (process.pid, signal.SIGKILL, 5.0))
    for group, sig, grace in steps:
        with contextlib.suppress(ProcessLookupError):
            if group is None:
                process.send_signal(sig)
            else:
                os.killpg(group, sig)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_once(scenario: Scenario, run: int, quick: bool, timeout: float) -> RunRecord:
    command = scenario.command(quick)
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter, our own CLI
        [sys.executable, "-m", "nfsync.workers", *scenario.argv(quick)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        process.communicate()
        return RunRecord(scenario.slug, command, run, time.monotonic() - started, error=f"timed out after {timeout} s")
    except BaseException:
        _stop(process)
        raise
    record = RunRecord(scenario.slug, command, run, time.monotonic() - started, parse_results(stdout))
    if process.returncode != 0 or not record.results:
        tail = [line for line in stderr.splitlines() if line.strip()][-20:]
        for line in tail:
            print(f"    {line}", file=sys.stderr)
        last = tail[-1].strip()[:300] if tail else "no output"
        record.error = f"exit {process.returncode}: {last}" if process.returncode else f"no JSON result: {last}"
    return record


def run_all(scenarios: Sequence[Scenario], runs: int, quick: bool, timeout: float) -> list[RunRecord]:
    records = []
    total, index = len(scenarios) * runs, 0
    for run in range(1, runs + 1):
        for scenario in scenarios:
            index += 1
            print(f"[{index}/{total}] run {run}/{runs}: {scenario.command(quick)}", file=sys.stderr, flush=True)
            record = run_once(scenario, run, quick, timeout)
            state = "failed: " + record.error if record.error else "ok"
            print(f"    {record.seconds:.1f} s, {state}", file=sys.stderr, flush=True)
            records.append(record)
    return records


# ------------------------------------------------------------------------------------------------ the machine


def _cpu() -> str:
    model = platform.processor() or platform.machine() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    logical = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    return f"{model}; {logical} logical CPUs ({usable} usable by this process)"


def _memory() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


async def _postgres_version(url: str) -> str:
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"unknown ({type(exc).__name__}: {exc})"
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def _rabbitmq_version(url: str) -> str:
    try:
        conn = await asyncio.wait_for(aiormq.connect(url), 5)
    except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as exc:
        return f"unknown ({type(exc).__name__})"
    try:
        properties = conn.server_properties
        product, release = properties.get("product", "RabbitMQ"), properties.get("version", "?")
        return " ".join(v.decode() if isinstance(v, bytes) else str(v) for v in (product, release))
    finally:
        await conn.close()


async def machine_info() -> list[tuple[str, str]]:
    settings = load_settings()
    postgres = await _postgres_version(settings.database_url_for("postgres"))
    rabbitmq = await _rabbitmq_version(settings.amqp_url)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return [
        ("CPU", _cpu()),
        ("Memory", _memory()),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("PostgreSQL", postgres),
        ("RabbitMQ", rabbitmq),
        ("Load average at start (1, 5, 15 min)", load),
    ]


def provenance() -> str:
    """nfsync's version and the git commit the benchmarks ran (read-only git calls)."""
    try:
        text = f"nfsync {version('nfsync')}"
    except PackageNotFoundError:
        text = "nfsync (not installed)"
    git = ["git", "-C", str(REPO), "--no-optional-locks"]
    try:
        commit = subprocess.run(  # noqa: S603 - a fixed git command line
            [*git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(  # noqa: S603 - a fixed git command line
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text}, commit {commit}" + (" with uncommitted changes" if changes else "")


# ------------------------------------------------------------------------------------------------ the command


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m nfsync.workers.lab.bench_report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of every scenario (default 3)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"), help="default: BENCHMARKS.md")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds one benchmark run may take")
    parser.add_argument(
        "--only",
        action="append",
        choices=[s.slug for s in SCENARIOS],
        help="run just this scenario (repeatable); the report then holds only these",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    invocation = shlex.join(["python", "-m", "nfsync.workers.lab.bench_report", *given])
    try:
        machine = asyncio.run(machine_info())
    except NfsyncError as exc:  # bad configuration: the benchmarks would fail the same way
        print(f"bench_report: {exc}", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    scenarios = tuple(s for s in SCENARIOS if not args.only or s.slug in args.only)
    records = run_all(scenarios, args.runs, args.quick, args.timeout)
    report = Report(
        invocation,
        started,
        args.runs,
        args.quick,
        provenance(),
        machine,
        [s.command(args.quick) for s in scenarios],
        records,
    )
    args.output.write_text(render(report))
    failed = sum(r.error is not None for r in records)
    print(f"wrote {args.output}; {len(records) - failed} of {len(records)} runs succeeded", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
