"""`OverviewScreen`: every queue with its counts and trouble markers, and live throughput."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from qops.models import QueueInfo
from qops.tui import fmt, health
from qops.tui.changes import for_queue_pause
from qops.tui.screens.base import DataScreen
from qops.tui.source import DataSource
from qops.tui.widgets.live_table import Column, LiveTable, Row
from qops.tui.widgets.throughput import Throughput

TOTAL = "\x00total"

COLUMNS = (
    Column("queue", "Queue"),
    Column("status", "Status"),
    Column("pending", "Pending", numeric=True),
    Column("active", "Active", numeric=True),
    Column("scheduled", "Sched", numeric=True),
    Column("retry", "Retry", numeric=True),
    Column("archived", "Arch", numeric=True),
    Column("completed", "Done", numeric=True, min_width=100),
    Column("aggregating", "Aggr", numeric=True, min_width=140),
    Column("processed", "Proc/day", numeric=True, min_width=100),
    Column("failed", "Fail/day", numeric=True, min_width=100),
    Column("error_rate", "Err%", numeric=True),
    Column("latency", "Latency", numeric=True),
    Column("memory", "Memory", numeric=True, min_width=120),
)

# (label, key); numbers sort largest first.
SORTS: tuple[tuple[str, Callable[[QueueInfo], object]], ...] = (
    ("name", lambda q: q.queue),
    ("pending", lambda q: q.pending),
    ("active", lambda q: q.active),
    ("retry", lambda q: q.retry),
    ("archived", lambda q: q.archived),
    ("failed today", lambda q: q.failed),
    ("error rate", lambda q: q.error_rate),
    ("latency", lambda q: q.latency),
    ("memory", lambda q: q.memory_usage),
    ("size", lambda q: q.size),
)


class OverviewScreen(DataScreen[dict[str, str]]):
    """The home screen: one row per queue, a totals row, and the throughput sparklines."""

    HELP_TITLE = "Queues (overview)"
    CHANGES: ClassVar[frozenset[str]] = frozenset({"pause_queue"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False, id="open-queue"),
        Binding("s", "sort", "Sort", id="sort"),
        Binding("S", "reverse", "Reverse sort", show=False, id="reverse-sort"),
        Binding("P", "pause_queue", "Pause queue", key_display="P", id="pause-queue"),
        Binding("2", "app.go('servers')", "Servers", id="go-servers"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_index = 0
        self.descending = False
        self.redis: dict[str, str] = {}
        # Built here, not looked up: bindings are checked while the screen is composed.
        self.table = LiveTable(COLUMNS, id="queues")
        self.summary_line = Static(id="summary")
        self.empty_hint = Static(id="empty-hint")
        self.throughput = Throughput(self.qops.health_capacity, self.qops.refresh_interval)

    def crumb(self) -> str:
        return "qops › queues"

    def compose(self) -> ComposeResult:
        yield self.status_bar()
        yield self.summary_line
        yield self.empty_hint
        yield self.table
        yield self.throughput
        yield Footer()

    def fetch(self, source: DataSource) -> dict[str, str]:
        return source.redis_info()

    def show(self, data: dict[str, str]) -> None:
        self.redis = data
        self.render_queues()

    def on_mount(self) -> None:
        self.render_queues()

    def render_queues(self) -> None:
        queues = self.sorted_queues()
        rows = [self.row(q) for q in queues]
        if queues:
            rows.append(self.total_row(queues))
        self.table.set_rows(rows)
        h = self.qops.health
        self.throughput.show(list(h.processed), list(h.failed))
        self.summary_line.update(self.summary(queues))
        # Until the first poll answers, an empty table only means "not read yet".
        empty = not queues and self.qops.link.updated_at is not None
        self.empty_hint.display = empty
        self.table.display = not empty
        if empty:
            self.empty_hint.update(self.hint())

    def hint(self) -> Content:
        """What to do on a Redis without queues: the dashboard fills in by itself."""
        return Content.assemble(
            ("No queues yet", "bold"),
            f" on {self.qops.source.label}. A queue appears with its first task, e.g.\n\n",
            ('  qops enqueue email:send -p \'{"to": "ada@example.com"}\'', "bold"),
            "\n      a task for queue default (-q names another queue)\n",
            ("  qops demo", "bold"),
            "\n      sample tasks of every kind, and a worker that runs them\n\n",
            "Give them the same --redis-url or --profile as this dashboard;\n"
            "it shows the queues at its next refresh.",
        )

    def summary(self, queues: list[QueueInfo]) -> Content:
        parts = [self.qops.source.label]
        if "redis_version" in self.redis:
            parts.append(f"Redis {self.redis['redis_version']}")
        memory = self.redis.get("used_memory")
        if memory is not None and memory.isdigit():
            parts.append(f"{fmt.size(int(memory))} used")
        if queues:
            parts.append(f"{len(queues)} queue" + ("" if len(queues) == 1 else "s"))
        elif self.qops.link.updated_at is not None:
            parts.append("no queues yet")
        label = SORTS[self.sort_index][0]
        parts.append(f"sort: {label} {'▼' if self.descending else '▲'}")
        return Content(" " + " · ".join(parts))

    def sorted_queues(self) -> list[QueueInfo]:
        queues = list(self.qops.queues)
        _, key = SORTS[self.sort_index]
        queues.sort(key=lambda q: q.queue)
        queues.sort(key=key, reverse=self.descending)  # type: ignore[arg-type]
        return queues

    def row(self, q: QueueInfo) -> Row:
        colors = self.qops.palette()
        problems = self.qops.health.problems(q)
        status = Text(" ".join(problems) if problems else "ok")
        status.stylize(f"bold {colors['error']}" if problems else colors["success"])
        level = health.error_level(q.error_rate)
        level_color = {"warn": colors["warning"], "bad": f"bold {colors['error']}"}
        rate = Text(fmt.percent(q.error_rate), style=level_color.get(level, ""))
        slow = q.latency >= health.LATENCY_WARN
        latency = Text(fmt.latency(q), style=colors["warning"] if slow else "")
        cells: dict[str, str | Text] = {
            "queue": Text(q.queue, style="bold"),
            "status": status,
            "error_rate": rate,
            "latency": latency,
            "memory": fmt.size(q.memory_usage),
        }
        for name in ("pending", "active", "scheduled", "retry", "archived", "completed"):
            cells[name] = fmt.count(int(getattr(q, name)))
        cells |= {
            "aggregating": fmt.count(q.aggregating),
            "processed": fmt.count(q.processed),
            "failed": fmt.count(q.failed),
        }
        return q.queue, cells

    def total_row(self, queues: list[QueueInfo]) -> Row:
        def total(name: str) -> Text:
            return Text(fmt.count(sum(int(getattr(q, name)) for q in queues)), style="bold")

        processed = sum(q.processed for q in queues)
        failed = sum(q.failed for q in queues)
        cells: dict[str, str | Text] = {
            name: total(name)
            for name in (
                "pending",
                "active",
                "scheduled",
                "retry",
                "archived",
                "completed",
                "aggregating",
                "processed",
                "failed",
            )
        }
        paused = sum(q.paused for q in queues)
        cells |= {
            "queue": Text("TOTAL", style="bold"),
            "status": Text(f"{paused} paused" if paused else "", style="bold"),
            "error_rate": Text(fmt.percent(failed / processed if processed else 0.0), "bold"),
            "latency": Text(fmt.latency(max(queues, key=lambda q: q.latency)), style="bold"),
            "memory": Text(fmt.size(sum(q.memory_usage for q in queues)), style="bold"),
        }
        return TOTAL, cells

    def selected_queue(self) -> QueueInfo | None:
        key = self.table.selected_key
        return next((q for q in self.qops.queues if q.queue == key), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        q = self.selected_queue()
        if q is not None:
            self.qops.open_queue(q.queue)

    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.descending = self.sort_index != 0
        self.render_queues()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.render_queues()

    def allowed(self, action: str) -> bool:
        return self.selected_queue() is not None

    def action_pause_queue(self) -> None:
        q = self.selected_queue()
        if q is None:
            self.notify("Select a queue row first.", severity="warning")
            return
        self.confirm(for_queue_pause(q.queue, q.paused))
