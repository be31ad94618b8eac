"""`TaskScreen`: everything stored about one task, payload and result pretty-printed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar

from rich.console import RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Footer, Static

from qops.errors import TaskNotFoundError
from qops.models import TaskInfo, TaskState, iso
from qops.tui import fmt
from qops.tui.changes import ONE, RETRIED, Kind, for_task
from qops.tui.screens.base import DataScreen
from qops.tui.source import DataSource

S = TaskState

# Past this many bytes a payload is shown cut, so a huge blob cannot stall the screen.
SHOW_LIMIT = 64 * 1024


def render_bytes(data: bytes | None) -> tuple[str, RenderableType]:
    """A description (``JSON, 120 bytes``) and a renderable: highlighted JSON, text or hex."""
    if data is None:
        return "none", Text("(none)", style="dim")
    if not data:
        return "empty", Text("(empty)", style="dim")
    size = f"{len(data):,} bytes"
    if fmt.is_binary(data):
        return f"binary, {size}, hex", Text(fmt.hexdump(data))
    text = data[:SHOW_LIMIT].decode("utf-8", errors="replace")
    cut = f"\n… cut at {SHOW_LIMIT:,} bytes" if len(data) > SHOW_LIMIT else ""
    try:
        value = json.loads(text)
    except ValueError:
        return f"text, {size}", Text(text + cut)
    return f"JSON, {size}", JSON.from_data(value, indent=2)


class TaskScreen(DataScreen[TaskInfo | None]):
    """One task. It may vanish while shown (it finished or was deleted); the screen says so."""

    HELP_TITLE = "Task"
    CHANGES: ClassVar[frozenset[str]] = frozenset({"run", "retry", "archive", "delete", "cancel"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="back"),
        Binding("r", "run", "Run now", id="run"),
        Binding("r", "retry", "Retry", id="retry"),
        Binding("a", "archive", "Archive", id="archive"),
        Binding("d", "delete", "Delete", id="delete"),
        Binding("c", "cancel", "Cancel task", id="cancel"),
        Binding("y", "copy_id", "Copy ID", id="copy-id"),
    ]

    def __init__(self, queue: str, task_id: str) -> None:
        super().__init__()
        self.queue = queue
        self.task_id = task_id
        self.shown: TaskInfo | None = None
        self.meta_view = Static(Content(" loading…"), id="meta")
        self.parts = {
            name: (Static(classes="section", id=f"{name}-title"), Static(id=name))
            for name in ("error", "payload", "result")
        }

    def crumb(self) -> str:
        return f"qops › {self.queue} › {self.task_id}"

    def compose(self) -> ComposeResult:
        yield self.status_bar()
        with VerticalScroll(id="task-body"):
            yield self.meta_view
            for title, body in self.parts.values():
                yield title
                yield body
        yield Footer()

    def fetch(self, source: DataSource) -> TaskInfo | None:
        try:
            return source.get_task(self.queue, self.task_id)
        except TaskNotFoundError:
            return None

    def show(self, data: TaskInfo | None) -> None:
        changed = data != self.shown
        self.shown = data
        self.refresh_bindings()
        if not changed and data is not None:
            self.meta_view.update(self.meta(data))  # relative times move
            return
        for title, body in self.parts.values():
            title.display = body.display = data is not None
        if data is None:
            self.meta_view.update(
                Content.assemble(
                    (f" Task {self.task_id} is no longer in queue {self.queue!r}", "bold"),
                    ": it finished, or was deleted. esc goes back.",
                )
            )
            return
        self.meta_view.update(self.meta(data))
        error = data.corrupt or data.last_error
        title, body = self.parts["error"]
        title.update(Content(" Last error"))
        body.update(
            Text(fmt.printable(error), style=self.qops.palette()["error"])
            if error
            else Text("(none)", "dim")
        )
        for name, data_bytes in (("payload", data.payload), ("result", data.result)):
            kind, view = render_bytes(data_bytes)
            title, body = self.parts[name]
            title.update(Content(f" {name.capitalize()} · {kind}"))
            body.update(view)

    def when(self, t: datetime | None) -> str:
        if t is None:
            return "-"
        return f"{fmt.ago(t, self.qops.clock())}  ({iso(t)})"

    def timing(self, t: TaskInfo) -> list[tuple[str, str | Text]]:
        """When it runs: a pending task runs as soon as a worker takes it, so its age is news."""
        if t.state is not S.PENDING:
            return [("Next run", self.when(t.next_process_at))]
        return [("Next run", "now (pending)"), ("Pending since", self.when(t.pending_since))]

    def meta(self, t: TaskInfo) -> Table:
        colors = self.qops.palette()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        state = Text(t.state.value, style=f"bold {colors['accent']}")
        if t.is_orphaned:
            state.append("  ⚠ orphaned: its worker is gone; recovery will retry it", "bold")
        if t.corrupt:
            state.append("  ⚠ corrupt message", style=f"bold {colors['error']}")
        rows: list[tuple[str, str | Text]] = [
            ("ID", fmt.printable(t.id)),
            ("Queue", t.queue),
            ("Type", fmt.printable(t.type)),
            ("State", state),
            ("Retried", f"{t.retried} of {t.max_retry}"),
            *self.timing(t),
            ("Last failed", self.when(t.last_failed_at)),
            ("Timeout", fmt.duration(t.timeout) if t.timeout else "-"),
            ("Deadline", self.when(t.deadline)),
            ("Completed", self.when(t.completed_at)),
            ("Retention", fmt.duration(t.retention) if t.retention else "-"),
            ("Group", fmt.printable(t.group) or "-"),
            ("Unique key", fmt.printable(t.unique_key) or "-"),
            (
                "Headers",
                fmt.printable(", ".join(f"{k}={v}" for k, v in sorted(t.headers.items()))) or "-",
            ),
        ]
        for name, value in rows:
            grid.add_row(name, value if isinstance(value, Text) else Text(value))
        return grid

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(self.task_id)
        self.notify(f"Copied {self.task_id}", timeout=2)

    def allowed(self, action: str) -> bool:
        t = self.shown
        if t is None:
            return False
        kind = Kind.RUN if action == "retry" else Kind(action)
        ok = t.state in ONE[kind]
        if action == "run":
            return ok and t.state not in RETRIED
        if action == "retry":
            return ok and t.state in RETRIED
        return ok

    def change(self, kind: Kind) -> None:
        if self.shown is not None:
            self.confirm(for_task(kind, self.shown))

    def action_run(self) -> None:
        self.change(Kind.RUN)

    def action_retry(self) -> None:
        self.change(Kind.RUN)

    def action_archive(self) -> None:
        self.change(Kind.ARCHIVE)

    def action_delete(self) -> None:
        self.change(Kind.DELETE)

    def action_cancel(self) -> None:
        self.change(Kind.CANCEL)
