"""What `nfsync demo` shows: a live terminal view (rich) while it runs, then a summary table and the commands to run
next; or, with ``--json``, nothing until the summary as one JSON object on stdout.

The summary fits an 80-column terminal: one column per shop, one row per measure, narrow cells wrapping.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from nfsync.workers.lab.demo_hints import Hint, plain

MAX_BARS = 16
TERMINAL = frozenset({"completed", "failed", "cancelled"})
ARROWS = {"crm_to_marketplace": "CRM -> shop", "marketplace_to_crm": "shop -> CRM", "bidirectional": "both ways"}
STATUS_STYLE = {
    "pending": "yellow",
    "processing": "cyan",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
}


@dataclass
class Snapshot:
    """One look at the demo's database: its tasks (oldest first) and the queue depths per platform."""

    tasks: Sequence[Mapping[str, Any]] = field(default_factory=list)
    queues: Sequence[Mapping[str, Any]] = field(default_factory=list)


class View(Protocol):
    live: bool

    def phase(self, title: str) -> None: ...

    def note(self, text: str) -> None: ...

    def refresh(self, snapshot: Snapshot) -> None: ...

    def finish(self, summary: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonView:
    """``--json``: silent while running; the summary as ONE JSON object on stdout."""

    live = False

    def phase(self, title: str) -> None:
        del title

    def note(self, text: str) -> None:
        del text

    def refresh(self, snapshot: Snapshot) -> None:
        del snapshot

    def finish(self, summary: Mapping[str, Any]) -> None:
        print(json.dumps(summary, sort_keys=True, default=plain), flush=True)

    def close(self) -> None:
        return None


class LiveView:
    """A header with the current phase, a progress bar per task (the newest ``MAX_BARS``; finished ones make room),
    the queue depths; notes scroll above it."""

    live = True

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._title = "starting"
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._bars: dict[uuid.UUID, TaskID] = {}
        self._finished: set[uuid.UUID] = set()
        self._hidden: set[uuid.UUID] = set()
        self._queues = queue_table([])
        self._live = Live(self._render(), console=self.console, refresh_per_second=4, redirect_stderr=False)
        self._live.start()

    def _render(self) -> Group:
        header = Text(f"nfsync demo - {self._title}", style="bold")
        if self._hidden:
            header.append(f"   ({len(self._hidden)} earlier tasks finished)", style="dim")
        return Group(header, self._progress, self._queues)

    def phase(self, title: str) -> None:
        self._title = title
        self._live.update(self._render())

    def note(self, text: str) -> None:
        self._live.console.print(text, highlight=False, markup=False)

    def refresh(self, snapshot: Snapshot) -> None:
        for row in snapshot.tasks:
            if row["id"] not in self._hidden:
                self._bar(row)
        self._make_room()
        self._queues = queue_table(snapshot.queues)
        self._live.update(self._render())

    def _bar(self, row: Mapping[str, Any]) -> None:
        status = str(row["status"])
        total = row["total_items"] or None
        done = row["processed_items"] or 0
        if status == "completed" and total is None:
            total = done = 1  # a task with nothing to count is simply done
        shown = f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"
        bar = self._bars.get(row["id"])
        if bar is None:
            arrow = ARROWS.get(str(row["direction"]), "")
            label = f"{row['platform']:<11} {row['task_type']:<14} {arrow}"  # one shop per platform: 80 columns
            bar = self._bars[row["id"]] = self._progress.add_task(label, total=total, completed=done, status=shown)
        self._progress.update(bar, total=total, completed=done, status=shown)
        if status in TERMINAL and row["id"] not in self._finished:
            self._finished.add(row["id"])
            self._progress.stop_task(bar)

    def _make_room(self) -> None:
        """Drop the oldest finished bars while there are more than MAX_BARS."""
        for task_id in [t for t in self._bars if t in self._finished][: max(0, len(self._bars) - MAX_BARS)]:
            self._progress.remove_task(self._bars.pop(task_id))
            self._hidden.add(task_id)

    def finish(self, summary: Mapping[str, Any]) -> None:
        self.close()
        self.console.print(summary_table(summary))
        hints: Sequence[Hint] = summary["hints"]
        lines = summary_lines(summary)
        for hint in hints:
            lines += hint.lines(self.console.width)
        for line in lines:  # as they are: a command wrapped by rich would not paste
            self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def close(self) -> None:
        if self._live.is_started:
            self._live.stop()
            if not self.console.is_terminal:  # rich ends its last frame with a newline on a terminal only
                self.console.line()


def queue_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="queues (sync_tasks)", title_justify="left")
    for name in ("platform", "pending", "processing", "completed 5m", "failed"):
        table.add_column(name, justify="left" if name == "platform" else "right")
    for row in rows:
        table.add_row(
            str(row["platform"]),
            str(row["pending"]),
            str(row["processing"]),
            str(row["completed_5m"]),
            str(row["failed"]),
        )
    return table


ShopCell = Callable[[Mapping[str, Any], Mapping[str, Any]], str]
SUMMARY_ROWS: tuple[tuple[str, ShopCell], ...] = (
    ("shop", lambda shop, _: str(shop["shop"])),
    ("connected by", lambda shop, _: str(shop["connected_by"])),
    ("listings ok/failed", lambda shop, _: f"{shop['items_successful']}/{shop['items_failed']}"),
    ("variants listed", lambda shop, summary: f"{shop['variants_listed']}/{summary['variants']}"),
    ("calls (throttled)", lambda shop, _: f"{shop['calls']} ({shop['throttled']})"),
    ("catalog push", lambda shop, _: f"{shop['catalog_seconds']:.1f} s"),
    ("orders imported", lambda shop, _: f"{shop['orders_imported']}/{shop['orders_placed']}"),
    ("stock latency", lambda shop, _: f"{shop['stock_latency_ms']} ms"),
)
"""The summary's rows: a label, and the cell of one shop."""


def summary_table(summary: Mapping[str, Any]) -> Table:
    """One column per shop, so that the table stays narrow however many measures it shows."""
    table = Table(title="nfsync demo: summary", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", no_wrap=True)
    for shop in summary["shops"]:
        table.add_column(str(shop["platform"]), justify="right", overflow="fold")
    for label, cell in SUMMARY_ROWS:
        table.add_row(label, *(cell(shop, summary) for shop in summary["shops"]))
    return table


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    orders, stock = summary["orders"], summary["stock_change"]
    variants = f"{len(stock['variants'])} variant{'' if len(stock['variants']) == 1 else 's'}"
    return [
        *_unlisted_lines(summary),
        f"orders imported: {orders['imported']} of {orders['placed']} placed (duplicates: {orders['duplicates']})",
        f"stock change of {variants} seen on every shop after {stock['latency_ms']} ms",
        *_combo_lines(summary),
        f"wall time: {summary['wall_seconds']:.1f} s    RabbitMQ vhost: {summary['amqp_vhost']}",
    ]


def _unlisted_lines(summary: Mapping[str, Any]) -> list[str]:
    """The product the demo left incomplete on purpose, where it was refused and why (no call was made for it)."""
    refused = [(shop["platform"], item) for shop in summary["shops"] for item in shop.get("failed_items", [])]
    if not refused:
        return []
    platforms = ", ".join(dict.fromkeys(platform for platform, _ in refused))
    reasons = dict.fromkeys(f"{item['entity_id']}: {item['reason']}" for _, item in refused)
    return [f"not listed on {platforms}, before any call:", *(f"    {reason}" for reason in reasons)]


def make_view(json_output: bool) -> View:
    if json_output:
        return JsonView()
    return LiveView(Console(file=sys.stdout))


def _combo_lines(summary: Mapping[str, Any]) -> list[str]:
    """The combos' stock after their shared component changed, as every shop shows it (one line per combo)."""
    combo = summary.get("combo_stock") or {}
    if not combo.get("combos"):
        return []
    head = f"component {combo['component']} changed; on every shop after {combo['latency_ms']} ms:"
    made = [
        f"    combo {sku}: {units} (limited by {combo['limited_by'][sku]})" for sku, units in combo["combos"].items()
    ]
    return [head, *made]
