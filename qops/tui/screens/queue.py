"""`QueueScreen`: one queue's tasks, a tab per state, a page at a time, with filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Footer, Input, Static, Tab, Tabs

from qops.errors import QueueNotFoundError
from qops.models import QueueInfo, TaskInfo, TaskState, WorkerInfo
from qops.tui import fmt
from qops.tui.changes import (
    ALL,
    ONE,
    RETRIED,
    Change,
    Kind,
    for_queue_pause,
    for_state,
    for_task,
    nothing_to_do,
)
from qops.tui.screens.base import DataScreen
from qops.tui.source import DataSource
from qops.tui.widgets.live_table import Column, LiveTable, Row

S = TaskState
PAGE_SIZE = 50
STATES = (S.PENDING, S.ACTIVE, S.SCHEDULED, S.RETRY, S.ARCHIVED, S.COMPLETED, S.AGGREGATING)

# Tab labels on narrow terminals, so all seven states fit in 80 columns.
SHORT = {S.PENDING: "pend", S.ACTIVE: "act", S.SCHEDULED: "sched", S.ARCHIVED: "arch"}
SHORT |= {S.COMPLETED: "done", S.AGGREGATING: "aggr"}
PAGE = Binding.Group("Page", compact=True)
TAB = Binding.Group("State", compact=True)

_ID = Column("id", "ID")
_TYPE = Column("type", "Type")
_PAYLOAD = Column("payload", "Payload")
_RETRIES = Column("retries", "Retries", numeric=True)
_ERROR = Column("error", "Last error")


def columns_for(state: TaskState) -> list[Column]:
    """What matters per state comes first; the rest appears on wider terminals."""
    wide = Column("payload", "Payload", min_width=160)
    later = Column("retries", "Retries", numeric=True, min_width=100)
    return {
        S.PENDING: [
            _ID,
            _TYPE,
            Column("age", "Waiting", numeric=True),
            _PAYLOAD,
            later,
            Column("error", "Last error", min_width=140),
        ],
        S.ACTIVE: [
            _ID,
            _TYPE,
            _PAYLOAD,
            Column("age", "Running", numeric=True),
            Column("worker", "Worker", min_width=120),
            later,
        ],
        S.SCHEDULED: [_ID, _TYPE, Column("next", "Runs", numeric=True), _PAYLOAD, later],
        S.RETRY: [_ID, _TYPE, _RETRIES, Column("next", "Next try", numeric=True), _ERROR, wide],
        S.ARCHIVED: [_ID, _TYPE, _RETRIES, Column("age", "Failed", numeric=True), _ERROR, wide],
        S.COMPLETED: [_ID, _TYPE, Column("age", "Completed", numeric=True), _PAYLOAD],
        S.AGGREGATING: [_ID, _TYPE, Column("group", "Group"), _PAYLOAD],
    }[state]


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched page, with the view it was fetched for."""

    state: TaskState
    page: int
    task_type: str | None
    tasks: list[TaskInfo]
    workers: dict[str, WorkerInfo] = field(default_factory=dict)
    """Active tasks' workers, by task id (from the servers' heartbeats)."""


class QueueScreen(DataScreen[Page]):
    """The tasks of one queue, a page at a time.

    ``/`` filters the rows of the page on screen (paging on keeps the filter); a search of
    every page would read the whole state on each refresh. ``t`` asks Redis for one task
    type, over all pages.
    """

    HELP_TITLE = "Queue"
    CHANGES: ClassVar[frozenset[str]] = frozenset(
        {"run", "retry", "archive", "delete", "cancel"}
        | {"run_all", "retry_all", "archive_all", "delete_all", "pause_queue"}
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open task", show=False, id="open-task"),
        Binding("escape,backspace", "back", "Back", id="back"),
        Binding("n", "page(1)", "Next page", group=PAGE, id="next-page"),
        Binding("p", "page(-1)", "Previous page", group=PAGE, id="prev-page"),
        Binding("left_square_bracket,h", "state(-1)", "Previous state", group=TAB, id="prev-state"),
        Binding("right_square_bracket,l", "state(1)", "Next state", group=TAB, id="next-state"),
        Binding("slash", "filter('text')", "Filter page", key_display="/", id="filter-text"),
        Binding("t", "filter('type')", "Type filter", id="filter-type"),
        Binding("r", "run", "Run now", id="run"),
        Binding("r", "retry", "Retry", id="retry"),
        Binding("a", "archive", "Archive", id="archive"),
        Binding("d", "delete", "Delete", id="delete"),
        Binding("c", "cancel", "Cancel task", id="cancel"),
        Binding("R", "run_all", "Run all", key_display="R", id="run-all"),
        Binding("R", "retry_all", "Retry all", key_display="R", id="retry-all"),
        Binding("A", "archive_all", "Archive all", key_display="A", id="archive-all"),
        Binding("D", "delete_all", "Delete all", key_display="D", id="delete-all"),
        Binding("P", "pause_queue", "Pause queue", key_display="P", id="pause-queue"),
        Binding("F", "app.toggle_refresh", "Pause refresh", show=False, id="freeze"),
        Binding("y", "copy_id", "Copy ID", show=False, id="copy-id"),
    ]

    def __init__(self, queue: str, state: TaskState = S.PENDING) -> None:
        super().__init__()
        self.queue = queue
        self.state = state
        self.page = 1
        self.text_filter = ""
        self.task_type: str | None = None
        self.tasks: list[TaskInfo] = []
        self.filter_mode = "text"
        # Built here, not looked up: bindings are checked and polls land while the screen
        # is still being composed or already closing.
        self.table = LiveTable(columns_for(state), id="tasks")
        self.tab = {s: Tab(s.value, id=s.value) for s in STATES}
        self.tabs = Tabs(*self.tab.values(), active=state.value)
        self.summary_line = Static(id="summary")
        self.pager_line = Static(id="pager")
        self.filter_box = Input(id="filter")

    def crumb(self) -> str:
        return f"qops › {self.queue}"

    def compose(self) -> ComposeResult:
        yield self.status_bar()
        yield self.summary_line
        yield self.tabs
        yield self.table
        yield self.pager_line
        yield self.filter_box
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.render_info()

    # -- data -----------------------------------------------------------------------------
    def info(self) -> QueueInfo | None:
        return next((q for q in self.qops.queues if q.queue == self.queue), None)

    def state_count(self) -> int | None:
        info = self.info()
        return None if info is None else int(getattr(info, self.state.value))

    def fetch(self, source: DataSource) -> Page:
        state, page, task_type = self.state, self.page, self.task_type
        tasks = source.list_tasks(
            self.queue, state, page=page, page_size=PAGE_SIZE, task_type=task_type
        )
        workers: dict[str, WorkerInfo] = {}
        if state is S.ACTIVE and tasks:
            for server in source.servers():
                workers |= {w.task_id: w for w in server.active_workers if w.queue == self.queue}
        return Page(state, page, task_type, tasks, workers)

    def show(self, data: Page) -> None:
        if (data.state, data.page, data.task_type) != (self.state, self.page, self.task_type):
            return  # the view changed while this page was on its way; a fresh one follows
        self.tasks = data.tasks
        needle = self.text_filter.lower()
        shown = [t for t in data.tasks if not needle or needle in self.haystack(t)]
        self.table.set_rows([self.row(t, data.workers) for t in shown])
        self.render_info(len(data.tasks), len(shown))
        self.refresh_bindings()

    def show_error(self, error: Exception) -> None:
        if isinstance(error, QueueNotFoundError):
            self.tasks = []  # the summary line says the queue is gone
            self.table.set_rows([])
            self.render_info()
            return
        super().show_error(error)

    def haystack(self, t: TaskInfo) -> str:
        return " ".join((t.id, t.type, fmt.preview(t.payload, 400), t.last_error)).lower()

    def row(self, t: TaskInfo, workers: dict[str, WorkerInfo]) -> Row:
        colors = self.qops.palette()
        now = self.qops.clock()
        wide = self.app.size.width >= 120
        task_type: str | Text = fmt.clip(t.type, 24)
        if t.corrupt:
            task_type = Text("⚠ corrupt", style=f"bold {colors['error']}")
        error = Text(fmt.clip(t.corrupt or t.last_error, 40 if wide else 24))
        error.stylize(colors["error"])
        worker = workers.get(t.id)
        if self.state is S.ACTIVE:
            age: str | Text = (
                Text("⚠ orphaned", style=colors["warning"])
                if t.is_orphaned
                else fmt.duration(now - worker.started.timestamp())
                if worker is not None and worker.started is not None
                else "-"
            )
        elif self.state is S.COMPLETED:
            age = fmt.ago(t.completed_at, now)
        elif self.state is S.PENDING:
            age = fmt.waited(t.pending_since, now)
        else:
            age = fmt.ago(t.last_failed_at, now)
        return t.id, {
            "id": t.id if wide else fmt.short_id(t.id, 10),
            "type": task_type,
            "payload": fmt.preview(t.payload, 44 if wide else 28),
            "retries": fmt.retries(t),
            "error": error,
            "next": fmt.ago(t.next_process_at, now),
            "age": age,
            "group": t.group,
            "worker": f"{worker.host}:{worker.pid}" if worker is not None else "-",
        }

    def render_info(self, fetched: int | None = None, shown: int | None = None) -> None:
        info = self.info()
        names = SHORT if self.app.size.width < 100 else {}
        for state, tab in self.tab.items():
            n = 0 if info is None else int(getattr(info, state.value))
            tab.label = f"{names.get(state, state.value)} {fmt.count(n)}"
        self.summary_line.update(self.summary(info))
        self.pager_line.update(self.pager(fetched, shown))

    def summary(self, info: QueueInfo | None) -> Content:
        if info is None:
            return Content.assemble(("  queue not found (deleted?)", "bold $error"))
        state = ("PAUSED", "bold $warning") if info.paused else ("running", "$success")
        return Content.assemble(
            f" {info.queue} · ",
            state,
            f" · size {fmt.count(info.size)} · latency {fmt.latency(info)}"
            f" · today {fmt.count(info.processed)} processed, {fmt.count(info.failed)} failed"
            f" ({fmt.percent(info.error_rate)}) · {fmt.size(info.memory_usage)}",
        )

    def pager(self, fetched: int | None, shown: int | None) -> Content:
        total = None if self.task_type else self.state_count()
        parts = [f"page {self.page:,}"]
        if total is not None:
            parts[0] += f"/{max(1, -(-total // PAGE_SIZE)):,}"
            parts.append(f"{total:,} {self.state.value}")
        if fetched is not None:
            parts.append(f"{PAGE_SIZE} per page")
        if self.task_type:
            parts.append(f"type = {self.task_type}")
        if self.text_filter:
            parts.append(
                f"filter “{self.text_filter}”: {shown or 0} of {fetched or 0} rows on this page"
            )
        return Content(" " + " · ".join(parts))

    # -- navigation -----------------------------------------------------------------------
    def selected(self) -> TaskInfo | None:
        key = self.table.selected_key
        return next((t for t in self.tasks if t.id == key), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        task = self.selected()
        if task is not None:
            self.qops.open_task(self.queue, task.id)

    def action_back(self) -> None:
        box = self.filter_box
        if box.display:
            box.display = False
            self.table.focus()
        elif self.text_filter or self.task_type:
            self.text_filter, self.task_type = "", None
            self.reload()
        else:
            self.app.pop_screen()

    def reload(self, page: int = 1) -> None:
        self.page = page
        self.tasks = []
        self.table.set_rows([])
        self.render_info()
        self.refresh_bindings()
        self.qops.refresh_now()

    def action_page(self, step: int) -> None:
        total = None if self.task_type else self.state_count()
        last = max(1, -(-total // PAGE_SIZE)) if total is not None else None
        target = self.page + step
        if target < 1 or (last is not None and target > last):
            self.notify("No more pages.", severity="warning", timeout=2)
            return
        if step > 0 and last is None and len(self.tasks) < PAGE_SIZE:
            self.notify("No more pages.", severity="warning", timeout=2)
            return
        self.reload(target)

    def action_state(self, step: int) -> None:
        index = (STATES.index(self.state) + step) % len(STATES)
        self.tabs.active = STATES[index].value

    @on(Tabs.TabActivated)
    def tab_activated(self, event: Tabs.TabActivated) -> None:
        state = S(event.tab.id or S.PENDING)
        if state is self.state:
            return
        self.state = state
        self.table.set_columns(columns_for(state))
        self.reload()

    def action_filter(self, mode: str) -> None:
        self.filter_mode = mode
        box = self.filter_box
        box.placeholder = (
            "filter this page: text in id, type, payload or error; enter applies, esc clears"
            if mode == "text"
            else "exact task type, e.g. email:send (asks Redis); enter applies, esc clears"
        )
        box.value = self.text_filter if mode == "text" else (self.task_type or "")
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        value = event.value.strip()
        if self.filter_mode == "text":
            self.text_filter = value
        else:
            self.task_type = value or None
        self.table.focus()
        self.reload()

    def action_copy_id(self) -> None:
        task = self.selected()
        if task is not None:
            self.app.copy_to_clipboard(task.id)
            self.notify(f"Copied {task.id}", timeout=2)

    # -- changes --------------------------------------------------------------------------
    def allowed(self, action: str) -> bool:
        state, count = self.state, self.state_count() or 0
        task = self.selected()
        if action == "pause_queue":
            return self.info() is not None
        one = {"run": Kind.RUN, "retry": Kind.RUN, "archive": Kind.ARCHIVE}
        one |= {"delete": Kind.DELETE, "cancel": Kind.CANCEL}
        if action in one:
            ok = task is not None and state in ONE[one[action]]
        else:
            kind = Kind(action.removesuffix("_all").replace("retry", "run"))
            ok = count > 0 and state in ALL[kind]
        if action.startswith("run"):
            ok = ok and state not in RETRIED
        elif action.startswith("retry"):
            ok = ok and state in RETRIED
        return ok

    def change_one(self, kind: Kind) -> None:
        task = self.selected()
        if task is not None:
            self.confirm(for_task(kind, task))

    def change_all(self, kind: Kind) -> None:
        queue, state, task_type = self.queue, self.state, self.task_type

        def build(source: DataSource) -> Change | str:
            count = source.count_tasks(queue, state, task_type=task_type)
            if not count:
                return nothing_to_do(queue, state, task_type)
            return for_state(kind, queue, state, count, task_type)

        self.qops.confirm_later(build)

    def action_run(self) -> None:
        self.change_one(Kind.RUN)

    def action_retry(self) -> None:
        self.change_one(Kind.RUN)

    def action_archive(self) -> None:
        self.change_one(Kind.ARCHIVE)

    def action_delete(self) -> None:
        self.change_one(Kind.DELETE)

    def action_cancel(self) -> None:
        self.change_one(Kind.CANCEL)

    def action_run_all(self) -> None:
        self.change_all(Kind.RUN)

    def action_retry_all(self) -> None:
        self.change_all(Kind.RUN)

    def action_archive_all(self) -> None:
        self.change_all(Kind.ARCHIVE)

    def action_delete_all(self) -> None:
        self.change_all(Kind.DELETE)

    def action_pause_queue(self) -> None:
        info = self.info()
        if info is not None:
            self.confirm(for_queue_pause(info.queue, info.paused))
