"""`ServersScreen`: live worker servers and the task each of their workers runs."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Footer, Static

from qops.models import ServerInfo, iso
from qops.tui import fmt
from qops.tui.screens.base import DataScreen
from qops.tui.source import DataSource
from qops.tui.widgets.live_table import Column, LiveTable, Row

SERVER_COLUMNS = (
    Column("host", "Host"),
    Column("pid", "PID", numeric=True),
    Column("busy", "Busy", numeric=True),
    Column("queues", "Queues (weights)"),
    Column("started", "Up", numeric=True),
    Column("status", "Status"),
    Column("since", "Started", min_width=140),
    Column("id", "Server ID", min_width=160),
)
WORKER_COLUMNS = (
    Column("server", "Server"),
    Column("task", "Task ID"),
    Column("type", "Type"),
    Column("queue", "Queue"),
    Column("running", "Running", numeric=True),
    Column("deadline", "Deadline", numeric=True, min_width=100),
    Column("payload", "Payload", min_width=150),
)


def weights(server: ServerInfo) -> str:
    """``critical=6,default=3``, heaviest first, with ``(strict)`` for strict priority."""
    ordered = sorted(server.queues.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ",".join(f"{q}={w}" for q, w in ordered)
    return text + (" (strict)" if server.strict_priority else "")


class ServersScreen(DataScreen[list[ServerInfo]]):
    """Servers on top, their active workers below; enter on a worker opens its task."""

    HELP_TITLE = "Servers"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open task", show=False, id="open-worker-task"),
        Binding("tab", "app.focus_next", "Next table", id="next-table"),
        Binding("1", "app.go('overview')", "Queues", id="go-queues"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.servers: list[ServerInfo] = []
        self.server_table = LiveTable(SERVER_COLUMNS, id="servers")
        self.worker_table = LiveTable(WORKER_COLUMNS, id="workers")
        self.servers_title = Static(id="servers-title", classes="section")
        self.workers_title = Static(id="workers-title", classes="section")

    def crumb(self) -> str:
        return "qops › servers"

    def compose(self) -> ComposeResult:
        yield self.status_bar()
        yield self.servers_title
        yield self.server_table
        yield self.workers_title
        yield self.worker_table
        yield Footer()

    def on_mount(self) -> None:
        self.worker_table.focus()

    def fetch(self, source: DataSource) -> list[ServerInfo]:
        return source.servers()

    def show(self, data: list[ServerInfo]) -> None:
        self.servers = sorted(data, key=lambda s: (s.host, s.pid, s.id))
        now = self.qops.clock()
        wide = self.app.size.width >= 120
        colors = self.qops.palette()
        rows: list[Row] = []
        workers: list[Row] = []
        for s in self.servers:
            busy = len(s.active_workers)
            rows.append(
                (
                    s.id,
                    {
                        "host": Text(s.host, style="bold"),
                        "pid": str(s.pid),
                        "busy": Text(
                            f"{busy}/{s.concurrency}",
                            style=colors["warning"] if busy >= s.concurrency else "",
                        ),
                        "queues": weights(s),
                        "started": fmt.duration(now - s.started.timestamp()) if s.started else "-",
                        "status": Text(
                            s.status,
                            style=colors["success"] if s.status == "active" else colors["warning"],
                        ),
                        "since": iso(s.started) or "-",
                        "id": s.id,
                    },
                )
            )
            for w in sorted(s.active_workers, key=lambda w: (w.started is None, w.started)):
                workers.append(
                    (
                        f"{w.queue}\x00{w.task_id}",
                        {
                            "server": f"{w.host}:{w.pid}",
                            "task": w.task_id if wide else fmt.short_id(w.task_id, 13),
                            "type": w.task_type,
                            "queue": w.queue,
                            "running": fmt.duration(now - w.started.timestamp())
                            if w.started
                            else "-",
                            "deadline": fmt.ago(w.deadline, now),
                            "payload": fmt.preview(w.task_payload, 40),
                        },
                    )
                )
        self.server_table.set_rows(rows)
        self.worker_table.set_rows(workers)
        total = sum(s.concurrency for s in self.servers)
        self.servers_title.update(
            Content(f" Servers: {len(rows)} · {len(workers)} of {total} workers busy")
        )
        self.workers_title.update(
            Content(" Active workers (enter opens the task)" if workers else " No active workers")
        )

    @on(DataTable.RowSelected, "#workers")
    def worker_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        key = self.worker_table.selected_key
        if key is not None:
            queue, task_id = key.split("\x00", 1)
            self.qops.open_task(queue, task_id)
