"""`qops tui` driven by Pilot against a real Redis: navigation, changes, read-only, outages."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from rich.console import Console
from textual.app import App
from textual.widgets import Static

import qops
from qops.inspector import Inspector
from qops.models import TaskState
from qops.storage import keys
from qops.tui.app import QopsApp
from qops.tui.screens.confirm import ConfirmScreen
from qops.tui.screens.help import HelpScreen
from qops.tui.screens.overview import TOTAL, OverviewScreen
from qops.tui.screens.queue import QueueScreen
from qops.tui.screens.servers import ServersScreen
from qops.tui.screens.task import TaskScreen
from qops.tui.source import FAKE_NOW, FakeSource, RedisSource
from qops.tui.widgets.live_table import LiveTable
from qops.tui.widgets.status import Link, StatusBar
from tests.helpers import async_wait_for
from tests.redis_server import RedisServer, load_fixture
from tests.worker_helpers import serving

LIVE = Path(__file__).parent / "fixtures" / "asynq-v0.26.0-live.json"
# Task ids in the Go fixture (see asynq-v0.26.0-dump.txt).
RETRY = "b562ce78-aa18-488f-8f07-de9410b1da93"
ARCHIVED = "f0e2ff29-550b-4564-8d4b-586c6c3fb8c3"
SCHEDULED = "3bc99eca-7ba7-4848-9e6a-97f34249d190"


def state_of(r: redis.Redis, queue: str, task_id: str) -> str | None:
    value = r.hget(keys.task(queue, task_id), "state")
    return None if value is None else value.decode()


@pytest.fixture
def seeded(redis_url: str, r: redis.Redis) -> str:
    """Go Asynq's live fixture (every state) plus tasks qops enqueues itself."""
    load_fixture(r, LIVE)
    client = qops.Client(redis_url)
    client.enqueue_many([qops.Task("email:send", {"n": i}, queue="emails") for i in range(120)])
    client.enqueue_many([qops.Task("sms:send", {"n": i}, queue="emails") for i in range(5)])
    client.enqueue("report:build", {"day": 1}, queue="emails", process_in=3600)
    client.broker.close()
    return redis_url


class RecordingApp(QopsApp):
    """Keeps every notification: toasts expire, and a slow run must not lose one."""

    CSS_PATH = Path(inspect.getfile(QopsApp)).with_name("qops.tcss")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.notes.append(message)
        super().notify(message, *args, **kwargs)


def make_app(url: str, **options: Any) -> RecordingApp:
    options.setdefault("refresh", 0.5)
    return RecordingApp(RedisSource(Inspector(url)), **options)


@contextlib.asynccontextmanager
async def running(app: QopsApp, size: tuple[int, int] = (120, 40)) -> AsyncIterator[Any]:
    async with app.run_test(size=size) as pilot:
        yield pilot


async def until(pilot: Any, pred: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    async def check() -> Any:
        await pilot.pause()
        return pred()

    return await async_wait_for(check, timeout=timeout, interval=0.02)


def table(app: QopsApp, selector: str) -> LiveTable:
    return app.screen.query_one(selector, LiveTable)


def cell(app: QopsApp, selector: str, row: str, column: str) -> str:
    return str(table(app, selector).get_cell(row, column))


def has_row(app: QopsApp, selector: str, row: str) -> bool:
    try:
        return row in {k.value for k in table(app, selector).rows}
    except Exception:
        return False


def messages(app: QopsApp) -> list[str]:
    assert isinstance(app, RecordingApp)
    return app.notes


async def open_queue(pilot: Any, queue: str, state: TaskState = TaskState.PENDING) -> QueueScreen:
    app: QopsApp = pilot.app
    await until(pilot, lambda: has_row(app, "#queues", queue))
    t = table(app, "#queues")
    t.move_cursor(row=t.get_row_index(queue))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, QueueScreen))
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    while screen.state is not state:
        await pilot.press("right_square_bracket")
    return screen


async def select_task(pilot: Any, task_id: str) -> None:
    app: QopsApp = pilot.app
    await until(pilot, lambda: has_row(app, "#tasks", task_id))
    t = table(app, "#tasks")
    t.move_cursor(row=t.get_row_index(task_id))
    await pilot.pause()


async def confirm_dialog(pilot: Any) -> ConfirmScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen)
    return screen


async def test_overview_shows_every_queue_with_counts_totals_and_paused_marker(
    seeded: str,
) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "live"))
        assert isinstance(app.screen, OverviewScreen)
        names = [k.value for k in table(app, "#queues").rows]
        assert names == ["critical", "cronq", "default", "emails", "live", "paused", TOTAL]
        assert cell(app, "#queues", "default", "pending") == "6"
        assert cell(app, "#queues", "default", "retry") == "1"
        assert cell(app, "#queues", "emails", "pending") == "125"
        assert cell(app, "#queues", "emails", "scheduled") == "1"
        assert cell(app, "#queues", "live", "active") == "1"
        assert "PAUSED" in cell(app, "#queues", "paused", "status")
        assert cell(app, "#queues", "critical", "status") == "ok"
        assert cell(app, "#queues", TOTAL, "pending") == "136"
        assert "1 paused" in cell(app, "#queues", TOTAL, "status")


async def test_sort_key_cycles_the_order(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "live"))
        await pilot.press("s")  # by pending, largest first
        keys_ = [k.value for k in table(app, "#queues").rows]
        assert keys_[:2] == ["emails", "default"]
        assert keys_[-1] == TOTAL
        await pilot.press("S")
        assert [k.value for k in table(app, "#queues").rows][-2] == "emails"


async def test_enter_drills_in_and_escape_goes_back_through_every_screen(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        screen = await open_queue(pilot, "default", TaskState.RETRY)
        await select_task(pilot, RETRY)
        assert cell(app, "#tasks", RETRY, "error") == "task type 'fail' always fails"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TaskScreen))
        await until(pilot, lambda: getattr(app.screen, "shown", None) is not None)
        task_screen = app.screen
        assert isinstance(task_screen, TaskScreen)
        assert task_screen.shown is not None and task_screen.shown.id == RETRY
        assert task_screen.shown.state is TaskState.RETRY
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is task_screen)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen))
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ServersScreen))
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen))


async def test_pages_filters_and_state_tabs(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        screen = await open_queue(pilot, "emails")
        await until(pilot, lambda: len(screen.tasks) == 50)
        first_page = {t.id for t in screen.tasks}
        assert "page 1/3" in str(screen.query_one("#pager").render())
        await pilot.press("n")
        await until(pilot, lambda: screen.page == 2 and len(screen.tasks) == 50)
        assert first_page.isdisjoint(t.id for t in screen.tasks)
        await pilot.press("n", "n")  # page 3 is the last one
        await until(pilot, lambda: screen.page == 3 and len(screen.tasks) == 25)
        assert "No more pages." in messages(app)
        await pilot.press("p")
        await until(pilot, lambda: screen.page == 2)

        await pilot.press("t")
        await pilot.press(*"sms:send", "enter")
        await until(pilot, lambda: screen.page == 1 and len(screen.tasks) == 5)
        assert {t.type for t in screen.tasks} == {"sms:send"}
        await pilot.press("slash", *'"n":3', "enter")
        await until(pilot, lambda: table(app, "#tasks").row_count == 1)
        assert "1 of 5 rows on this page" in str(screen.pager_line.render())
        await pilot.press("escape")  # clears both filters
        await until(pilot, lambda: len(screen.tasks) == 50 and screen.task_type is None)

        await pilot.press("right_square_bracket", "right_square_bracket")
        await until(pilot, lambda: screen.state is TaskState.SCHEDULED and len(screen.tasks) == 1)
        assert screen.tasks[0].type == "report:build"


async def test_retry_a_task_after_confirming(seeded: str, r: redis.Redis) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await open_queue(pilot, "default", TaskState.RETRY)
        await select_task(pilot, RETRY)
        await pilot.press("r")
        dialog = await confirm_dialog(pilot)
        assert dialog.change.title == "Retry this task awaiting retry now?"
        await pilot.press("y")
        await until(pilot, lambda: state_of(r, "default", RETRY) == "pending")
        assert r.zscore(keys.retry("default"), RETRY) is None


async def test_cancelling_the_dialog_changes_nothing(seeded: str, r: redis.Redis) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await open_queue(pilot, "default", TaskState.ARCHIVED)
        await select_task(pilot, ARCHIVED)
        await pilot.press("d")
        dialog = await confirm_dialog(pilot)
        assert dialog.focused is not None and dialog.focused.id == "no"
        await pilot.press("enter")  # the focused button is No
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        await pilot.press("d")
        await confirm_dialog(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: "Cancelled: nothing changed." in messages(app))
        await app.workers.wait_for_complete()
    assert state_of(r, "default", ARCHIVED) == "archived"
    assert r.zscore(keys.archived("default"), ARCHIVED) is not None


async def test_delete_and_archive_one_task(seeded: str, r: redis.Redis) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        screen = await open_queue(pilot, "default", TaskState.ARCHIVED)
        await select_task(pilot, ARCHIVED)
        await pilot.press("d")
        await confirm_dialog(pilot)
        await pilot.press("y")
        await until(pilot, lambda: not r.exists(keys.task("default", ARCHIVED)))
        await until(pilot, lambda: not has_row(app, "#tasks", ARCHIVED))

        await pilot.press("left_square_bracket")  # retry
        await until(pilot, lambda: screen.state is TaskState.RETRY)
        await select_task(pilot, RETRY)
        await pilot.press("a")
        await confirm_dialog(pilot)
        await pilot.press("y")
        await until(pilot, lambda: state_of(r, "default", RETRY) == "archived")


@pytest.mark.parametrize(
    ("state", "key", "check"),
    [
        (TaskState.PENDING, "A", lambda r: r.llen(keys.pending("default")) == 0),
        (TaskState.SCHEDULED, "R", lambda r: r.zcard(keys.scheduled("default")) == 0),
        (TaskState.ARCHIVED, "D", lambda r: r.zcard(keys.archived("default")) == 0),
    ],
)
async def test_bulk_changes_name_the_count_and_apply(
    seeded: str, r: redis.Redis, state: TaskState, key: str, check: Callable[[Any], bool]
) -> None:
    before = {
        TaskState.PENDING: r.llen(keys.pending("default")),
        TaskState.SCHEDULED: r.zcard(keys.scheduled("default")),
        TaskState.ARCHIVED: r.zcard(keys.archived("default")),
    }[state]
    app = make_app(seeded)
    async with running(app) as pilot:
        await open_queue(pilot, "default", state)
        await until(pilot, lambda: table(app, "#tasks").row_count == before)
        await pilot.press(key)
        dialog = await confirm_dialog(pilot)
        assert f"{before} {state.value} task" in dialog.change.title
        # Confirmed only by typing the count: a reflexive y or enter changes nothing.
        assert dialog.focused is dialog.typed and dialog.yes.disabled
        await pilot.press("y", "enter")
        await until(pilot, lambda: "No match" in str(dialog.prompt.render()))
        assert app.screen is dialog and not check(r)
        await pilot.press("backspace", *str(before))
        assert not dialog.yes.disabled
        await pilot.press("enter")
        await until(pilot, lambda: check(r))
        await until(pilot, lambda: table(app, "#tasks").row_count == 0)


async def test_pause_and_resume_a_queue(seeded: str, r: redis.Redis) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "critical"))
        t = table(app, "#queues")
        t.move_cursor(row=t.get_row_index("critical"))
        await pilot.press("P")
        dialog = await confirm_dialog(pilot)
        assert dialog.change.title == "Pause queue 'critical'?"
        await pilot.press("y")
        await until(pilot, lambda: r.exists(keys.paused("critical")))
        await until(pilot, lambda: "PAUSED" in cell(app, "#queues", "critical", "status"))
        await pilot.press("P")
        dialog = await confirm_dialog(pilot)
        assert dialog.change.title == "Resume queue 'critical'?"
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen))
        assert r.exists(keys.paused("critical"))
        await pilot.press("P")
        await confirm_dialog(pilot)
        await pilot.press("y")
        await until(pilot, lambda: not r.exists(keys.paused("critical")))


async def test_read_only_disables_and_refuses_changes(seeded: str, r: redis.Redis) -> None:
    app = make_app(seeded, read_only=True)
    async with running(app) as pilot:
        screen = await open_queue(pilot, "default", TaskState.RETRY)
        await select_task(pilot, RETRY)
        bindings = {b.binding.action: b.enabled for b in app.active_bindings.values()}
        assert bindings["retry"] is False
        assert "READ-ONLY" in str(screen.query_one("#status").render())
        for key in ("r", "a", "d", "R", "D", "P"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen
        assert (
            messages(app).count("Read-only mode: changes are disabled (started with --read-only).")
            == 6
        )
    assert state_of(r, "default", RETRY) == "retry"
    assert not r.exists(keys.paused("default"))


async def test_servers_screen_and_cancel_of_a_running_task(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    started = asyncio.Event()

    @h.task("slow")
    async def slow(task: qops.Task) -> None:
        started.set()
        await asyncio.sleep(60)

    info = qops.Client(redis_url).enqueue("slow", {"n": 1}, queue="critical", max_retry=3)
    worker = qops.Worker(
        h, redis_url=redis_url, queues={"critical": 6, "default": 3}, heartbeat_interval=0.5
    )
    app = make_app(redis_url)
    async with serving(worker), running(app) as pilot:
        await asyncio.wait_for(started.wait(), 10)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ServersScreen))
        await until(pilot, lambda: table(app, "#servers").row_count == 1, timeout=15)
        server = next(iter(table(app, "#servers").rows)).value
        assert server is not None
        assert cell(app, "#servers", server, "queues") == "critical=6,default=3"
        await until(pilot, lambda: cell(app, "#servers", server, "busy") == "1/10")
        await until(pilot, lambda: has_row(app, "#workers", f"critical\x00{info.id}"))
        host_pid = cell(app, "#workers", f"critical\x00{info.id}", "server")
        assert host_pid == f"{cell(app, '#servers', server, 'host')}:{os.getpid()}"

        await pilot.press("1")  # the queue's active tab names the worker too
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen))
        await open_queue(pilot, "critical", TaskState.ACTIVE)
        await until(pilot, lambda: has_row(app, "#tasks", info.id))
        await until(pilot, lambda: cell(app, "#tasks", info.id, "worker") == host_pid)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ServersScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TaskScreen))
        await until(pilot, lambda: getattr(app.screen, "shown", None) is not None)
        await pilot.press("c")
        dialog = await confirm_dialog(pilot)
        assert dialog.focused is not None and dialog.focused.id == "no"
        await pilot.press("y")
        await until(pilot, lambda: state_of(r, "critical", info.id) == "retry", timeout=15)
    assert r.hget(keys.task("critical", info.id), "msg") is not None


async def test_redis_down_shows_a_banner_and_recovers(r: redis.Redis) -> None:
    server = RedisServer().start()
    try:
        qops.Client(server.url).enqueue("ping", {}, queue="alpha")
        app = make_app(server.url)
        async with running(app) as pilot:
            banner = app.screen.query_one("#banner")
            await until(pilot, lambda: has_row(app, "#queues", "alpha"))
            assert not banner.display
            server.stop()
            await until(pilot, lambda: banner.display)
            assert "Cannot reach Redis" in str(banner.render())
            assert "Redis unreachable" in str(app.screen.query_one("#status").render())
            assert has_row(app, "#queues", "alpha")  # the last data stays on screen
            server.start()  # same port
            qops.Client(server.url).enqueue("ping", {}, queue="beta")
            await until(pilot, lambda: not banner.display, timeout=30)
            await until(pilot, lambda: has_row(app, "#queues", "beta"))
            assert "Redis is back." in messages(app)
    finally:
        server.cleanup()


async def test_p_pauses_refreshing_and_resumes(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "live"))
        await pilot.press("p")
        assert app.link.paused
        status = app.screen.query_one("#status")
        await until(pilot, lambda: "refresh paused" in str(status.render()))
        qops.Client(seeded).enqueue("x", {}, queue="zeta")
        await pilot.press("p")
        await until(pilot, lambda: has_row(app, "#queues", "zeta"))
        assert not app.link.paused


async def test_command_palette_goes_to_a_queue_and_the_servers(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "emails"))
        await pilot.press("ctrl+p")
        await pilot.press(*"Open queue emails", "enter")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen))
        assert isinstance(app.screen, QueueScreen) and app.screen.queue == "emails"
        await pilot.press("ctrl+p")
        await pilot.press(*"Go to servers", "enter")
        await until(pilot, lambda: isinstance(app.screen, ServersScreen))


async def test_narrow_terminals_hide_low_priority_columns(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app, size=(80, 24)) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "live"))
        shown = table(app, "#queues").shown_columns
        assert "pending" in shown and "latency" in shown and "error_rate" in shown
        assert "memory" not in shown and "completed" not in shown
        assert app.screen.has_class("-narrow")
        await pilot.resize_terminal(150, 40)
        await until(pilot, lambda: "aggregating" in table(app, "#queues").shown_columns)
        assert {"memory", "completed", "processed"} <= set(table(app, "#queues").shown_columns)
        assert app.screen.has_class("-wide")


async def test_a_queue_deleted_while_shown_says_so_once(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        screen = await open_queue(pilot, "critical")
        await until(pilot, lambda: len(screen.tasks) == 1)
        with Inspector(seeded) as inspector:
            inspector.delete_queue("critical", force=True)
        summary = screen.query_one("#summary")
        await until(pilot, lambda: "queue not found" in str(summary.render()))
        assert table(app, "#tasks").row_count == 0
        assert not [m for m in messages(app) if "not found" in m]


async def test_refresh_interval_keys(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "live"))
        await pilot.press("plus", "plus")
        assert app.refresh_interval == 2.0
        await pilot.press("minus")
        assert app.refresh_interval == 1.0
        assert "every 1s" in str(app.screen.query_one("#status").render())


async def test_an_empty_redis_says_how_to_get_a_queue(redis_url: str) -> None:
    app = make_app(redis_url)
    async with running(app, size=(80, 24)) as pilot:
        hint = app.screen.query_one("#empty-hint")
        await until(pilot, lambda: hint.display)
        text = str(hint.render())
        assert "No queues yet" in text and "qops enqueue" in text and "qops demo" in text
        assert hint.region.height >= 8  # on screen at 80x24, not cut to one line
        assert not table(app, "#queues").display
        qops.Client(redis_url).enqueue("x", {}, queue="first")
        await until(pilot, lambda: has_row(app, "#queues", "first"))
        assert table(app, "#queues").display and not hint.display


async def test_run_a_scheduled_task_now(seeded: str, r: redis.Redis) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await open_queue(pilot, "default", TaskState.SCHEDULED)
        await select_task(pilot, SCHEDULED)
        await pilot.press("r")
        dialog = await confirm_dialog(pilot)
        assert dialog.change.title == "Run this scheduled task now?"
        assert dialog.focused is not None and dialog.focused.id == "yes"
        await pilot.press("enter")
        await until(pilot, lambda: state_of(r, "default", SCHEDULED) == "pending")
        assert r.zscore(keys.scheduled("default"), SCHEDULED) is None


async def test_a_status_bar_can_be_shown_before_it_is_mounted_and_after_it_is_gone() -> None:
    now = FAKE_NOW
    link = Link("redis://example:6379/0", 2.0, updated_at=now - 3)
    async with App[None]().run_test() as pilot:  # no status tick to write over the bar
        bar = StatusBar("qops › test")
        bar.show(link, now)  # not composed: nothing to query, yet it must not fail
        await pilot.app.screen.mount(bar)
        await pilot.pause()
        assert "updated 3s ago" in str(bar.query_one("#status").render())
        await bar.remove()
        link.error, link.failures = "connection refused", 1
        bar.show(link, now)  # gone from the screen: still no error
        assert "Redis unreachable" in str(bar._status.render())


async def test_rapid_screen_switches_while_refreshes_fire(seeded: str) -> None:
    """Screens are pushed, popped and switched faster than they compose, while polls land
    and the status ticks: nothing may meet a screen half built or already gone (run_test
    re-raises anything the app raised)."""
    app = make_app(seeded, refresh=0.05)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "default"))
        stop = asyncio.Event()
        ticks = 0

        async def tick() -> None:  # the status timer and refresh_now, far more often
            nonlocal ticks
            while not stop.is_set():
                app.show_status()
                app.refresh_now()
                ticks += 1
                await asyncio.sleep(0.002)

        # Each step is queued on the app, as a key press would be, but not waited for.
        steps: list[Callable[[], object]] = [
            lambda: app.call_later(app.open_queue, "default"),
            lambda: app.call_later(app.open_task, "default", RETRY),
            lambda: app.call_later(app.go, "servers"),
            lambda: app.call_later(app.open_task, "default", RETRY),
            lambda: app.call_later(app.go, "overview"),
            lambda: app.call_later(app.action_help),
            lambda: app.call_later(app.go, "servers"),
            lambda: app.call_later(app.go, "overview"),
            lambda: app.call_later(app.open_queue, "emails"),
            lambda: app.call_later(app.go, "overview"),
        ]
        # Seven pauses against ten steps: each step meets screens at many stages of life.
        pauses = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
        ticking = asyncio.create_task(tick())
        try:
            for i in range(len(steps) * len(pauses)):
                steps[i % len(steps)]()
                await asyncio.sleep(pauses[i % len(pauses)])
        finally:
            stop.set()
            await ticking
        assert ticks > 20
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen))
        assert len(app.screen_stack) == 1
        status = app.screen.query_one("#status")
        await until(pilot, lambda: "updated" in str(status.render()))


async def test_1_and_2_go_to_the_overview_and_the_servers_from_every_screen(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:

        async def at_root(kind: type) -> None:
            await until(pilot, lambda: isinstance(app.screen, kind))
            assert len(app.screen_stack) == 1

        await open_queue(pilot, "default", TaskState.RETRY)
        await pilot.press("1")  # from a queue
        await at_root(OverviewScreen)
        await open_queue(pilot, "default", TaskState.RETRY)
        await select_task(pilot, RETRY)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TaskScreen))
        await pilot.press("2")  # from a task
        await at_root(ServersScreen)
        await pilot.press("1")  # back to the overview, not to the task left open
        await at_root(OverviewScreen)
        await open_queue(pilot, "emails")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("2")  # from help
        await at_root(ServersScreen)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("1")
        await at_root(OverviewScreen)


def rendered(renderable: Any, width: int = 120) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def test_pending_tasks_show_how_long_they_have_waited(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        screen = await open_queue(pilot, "emails")
        await until(pilot, lambda: len(screen.tasks) == 50)
        task = screen.tasks[0]
        assert task.pending_since is not None
        assert re.fullmatch(r"\d+s", cell(app, "#tasks", task.id, "age"))
        await select_task(pilot, task.id)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "shown", None) is not None)
        assert isinstance(app.screen, TaskScreen) and app.screen.shown is not None
        meta = rendered(app.screen.meta(app.screen.shown))
        assert re.search(r"Next run +now \(pending\)", meta)
        assert re.search(r"Pending since +\d+s ago  \(20\d\d-", meta)
        assert "0s ago" not in meta.split("Pending since")[0]


async def test_latency_is_a_dash_when_nothing_is_pending(seeded: str) -> None:
    with Inspector(seeded) as inspector:
        infos = {q.queue: q for q in inspector.queue_infos()}
    idle = next(name for name, q in infos.items() if q.pending == 0)
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", idle))
        assert cell(app, "#queues", idle, "latency") == "-"
        assert cell(app, "#queues", "emails", "latency") != "-"
        screen = await open_queue(pilot, idle)
        await until(pilot, lambda: "latency -" in str(screen.summary_line.render()))


async def test_help_lists_each_key_once_and_says_how_to_close(seeded: str) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        await until(pilot, lambda: has_row(app, "#queues", "live"))
        for opener in ("question_mark", "f1"):
            await pilot.press(opener)
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            text = "".join(
                rendered(w.content) for w in app.screen.query(Static) if w.content is not None
            )
            assert "esc, ? or q closes" in text
            assert len(re.findall(r"^\s*2\s+Servers", text, re.M)) == 1
            assert len(re.findall(r"^\s*1\s+Queues", text, re.M)) == 1
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, OverviewScreen))


async def test_a_bulk_change_with_nothing_left_to_change_says_so(
    seeded: str, r: redis.Redis
) -> None:
    app = make_app(seeded)
    async with running(app) as pilot:
        screen = await open_queue(pilot, "default", TaskState.ARCHIVED)
        await select_task(pilot, ARCHIVED)
        await pilot.press("F")  # freeze: the screen still counts the archived task
        with Inspector(seeded) as inspector:
            inspector.delete_all("default", TaskState.ARCHIVED)
        await pilot.press("D")
        message = "No archived tasks in 'default' now: nothing to do."
        await until(pilot, lambda: message in messages(app))
        assert app.screen is screen


async def test_a_typed_count_may_carry_thousands_separators() -> None:
    fake = FakeSource()
    app = RecordingApp(fake, refresh=2.0, clock=lambda: fake.now)
    async with running(app, size=(80, 24)) as pilot:
        screen = await open_queue(pilot, "webhooks", TaskState.ARCHIVED)
        await until(pilot, lambda: len(screen.tasks) == 50)
        await pilot.press("D")
        dialog = await confirm_dialog(pilot)
        await pilot.press(*"4,510", "enter")  # one off: refused
        await until(pilot, lambda: "No match" in str(dialog.prompt.render()))
        assert not any(call[0] == "delete_all" for call in fake.calls)
        await pilot.press("backspace", "backspace", *"11", "enter")
        await until(pilot, lambda: ("delete_all", "webhooks", TaskState.ARCHIVED, "") in fake.calls)
        await until(pilot, lambda: app.screen is screen)
