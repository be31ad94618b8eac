"""`QopsApp`: the ``qops tui`` dashboard and its refresh loop."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import AwaitMount

from qops.errors import ConnectionFailedError, QopsError
from qops.models import QueueInfo
from qops.tui.changes import Change
from qops.tui.health import Health
from qops.tui.screens.base import DataScreen
from qops.tui.screens.confirm import ConfirmScreen
from qops.tui.screens.help import HelpScreen
from qops.tui.screens.overview import OverviewScreen
from qops.tui.screens.queue import QueueScreen
from qops.tui.screens.servers import ServersScreen
from qops.tui.screens.task import TaskScreen
from qops.tui.source import DataSource
from qops.tui.widgets.status import Link, StatusBar

MAX_BACKOFF = 15.0
HISTORY_SECONDS = 300.0
INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class QopsApp(App[None]):
    """Live dashboard over a `DataSource`.

    One poll runs at a time in a worker thread: the queue infos (one round trip, feeding the
    throughput history and the trouble markers), then whatever the visible screen shows.
    The next poll is scheduled when the last one ends, so a slow Redis never piles polls
    up; a lost connection backs off up to `MAX_BACKOFF` seconds and recovers by itself.

    Args:
        source: where the data comes from.
        refresh: seconds between polls.
        read_only: disable every change.
        clock: unix time source (fixed in screenshots).
    """

    CSS_PATH = "qops.tcss"
    TITLE = "qops"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (140, "-wide")]  # noqa: RUF012
    MODES: ClassVar[dict[str, str | Callable[..., Screen[Any]]]] = {
        "overview": OverviewScreen,
        "servers": ServersScreen,
    }
    DEFAULT_MODE = "overview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit-ctrl-c"),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
        Binding("p,F", "toggle_refresh", "Pause refresh", id="toggle-refresh"),
        Binding("ctrl+r", "refresh_now", "Refresh now", show=False, id="refresh-now"),
        Binding("plus", "interval(1)", "Slower refresh", show=False, id="slower"),
        Binding("minus", "interval(-1)", "Faster refresh", show=False, id="faster"),
        Binding("1", "go('overview')", "Queues (overview)", show=False, id="mode-overview"),
        Binding("2", "go('servers')", "Servers", show=False, id="mode-servers"),
    ]

    def __init__(
        self,
        source: DataSource,
        *,
        refresh: float = 2.0,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.source = source
        self.refresh_interval = refresh
        self.read_only = read_only
        self.clock = clock
        self.link = Link(source.label, refresh, read_only=read_only)
        self.health_capacity = max(30, min(600, int(HISTORY_SECONDS / refresh)))
        self.health = Health(self.health_capacity)
        self.queues: list[QueueInfo] = []
        self._polling = False
        self._again = False
        self._timer: Timer | None = None
        self._ticker: Timer | None = None

    # -- refresh loop ---------------------------------------------------------------------
    # Timers and poll results arrive whenever they like: while a screen is still being
    # composed, after it was popped, or while the app winds down with no screen at all.
    # So none of them assumes a screen or a widget exists: they find the screens shown now
    # (`_shown`), screens check they are still the one on top (`DataScreen.current`), and
    # the status bar holds its own widgets.
    def on_mount(self) -> None:
        self._ticker = self.set_interval(1.0, self.show_status)

    def _shown(self) -> list[Screen[Any]]:
        """The screens on view, top last: none before the first one and after the last."""
        try:
            stack = self.screen_stack
        except KeyError:  # the mode's stack is not set up yet
            return []
        return [s for s in stack if s.is_current]

    def refresh_now(self) -> None:
        """Poll at once (or right after the poll in flight)."""
        if self._polling:
            self._again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        shown = self._shown()
        if not shown:
            return  # winding down; a screen that shows up polls on its resume
        self._polling, self._again = True, False
        top = shown[-1]
        self._poll(top if isinstance(top, DataScreen) else None)

    @work(thread=True, group="poll", exit_on_error=False)
    def _poll(self, screen: DataScreen[Any] | None) -> None:
        try:
            queues = self.source.queue_infos()
        except Exception as exc:  # any failure keeps the dashboard up, and is shown
            self._from_thread(self._poll_failed, exc)
            return
        data: Any = None
        error: Exception | None = None
        if screen is not None:
            try:
                data = screen.fetch(self.source)
            except ConnectionFailedError as exc:
                self._from_thread(self._poll_failed, exc)
                return
            except Exception as exc:  # shown on the screen; polling goes on
                error = exc
        self._from_thread(self._polled, screen, queues, data, error)

    def _from_thread(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app closed while the poll was out
            self.call_from_thread(fn, *args)

    def _polled(
        self, screen: DataScreen[Any] | None, queues: list[QueueInfo], data: Any, error: Any
    ) -> None:
        recovered = bool(self.link.error)
        self.link.error, self.link.failures, self.link.retry_at = "", 0, None
        self.link.updated_at = self.clock()
        self.queues = queues
        self.health.record(queues)
        if recovered:
            self.notify("Redis is back.", title="Reconnected", timeout=3)
        try:
            if screen is not None and screen.current:
                if error is not None:
                    screen.show_error(error)
                else:
                    screen.fetched(data)
        finally:  # whatever a screen does with the data, polling goes on
            self._poll_done(self.refresh_interval)

    def _poll_failed(self, exc: Exception) -> None:
        link = self.link
        link.failures += 1
        link.error = (
            exc.reason if isinstance(exc, ConnectionFailedError) else f"{type(exc).__name__}: {exc}"
        )
        delay = min(self.refresh_interval * 2 ** (link.failures - 1), MAX_BACKOFF)
        link.retry_at = self.clock() + delay
        self._poll_done(delay)

    def _poll_done(self, delay: float) -> None:
        self._polling = False
        self.show_status()
        if self._again:
            self.refresh_now()
        elif not self.link.paused or self.link.error:
            self._timer = self.set_timer(delay, self.refresh_now)

    def show_status(self) -> None:
        """Bring the status line of every screen on view up to date."""
        now = self.clock()
        for screen in self._shown():
            for bar in screen.query(StatusBar):
                bar.show(self.link, now)

    # -- navigation -----------------------------------------------------------------------
    def open_queue(self, queue: str) -> None:
        self.push_screen(QueueScreen(queue))

    def open_task(self, queue: str, task_id: str) -> None:
        self.push_screen(TaskScreen(queue, task_id))

    async def go(self, mode: str) -> None:
        """Show the root screen of ``mode`` (``overview`` or ``servers``), from anywhere.

        Screens opened on top of it (a queue, a task, help) are closed, so ``1`` always
        means the queues overview and ``2`` the servers list.
        """
        if self.current_mode != mode:
            await self.switch_mode(mode)
        # A screen taken down while it is still being built breaks its widgets' own mount
        # handlers (Textual's Tabs among them): a fast "enter 1" lets it finish first.
        await AwaitMount(self.screen, self.screen_stack[1:])
        for _ in self.screen_stack[1:]:
            self.pop_screen()

    async def action_go(self, mode: str) -> None:
        await self.go(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_refresh_now(self) -> None:
        self.refresh_now()

    def action_toggle_refresh(self) -> None:
        self.link.paused = not self.link.paused
        if self.link.paused:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
        else:
            self.refresh_now()
        self.show_status()

    def action_interval(self, step: int) -> None:
        nearest = min(INTERVALS, key=lambda s: abs(s - self.refresh_interval))
        index = max(0, min(len(INTERVALS) - 1, INTERVALS.index(nearest) + step))
        self.refresh_interval = self.link.refresh = INTERVALS[index]
        self.notify(f"Refreshing every {self.refresh_interval:g}s.", timeout=2)
        self.refresh_now()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Go to queues", "The overview of every queue", self._go("overview"))
        yield SystemCommand("Go to servers", "Servers and their workers", self._go("servers"))
        for q in self.queues:
            yield SystemCommand(
                f"Open queue {q.queue}",
                f"{q.size:,} tasks, {q.pending:,} pending",
                lambda name=q.queue: self._open_from_palette(name),
            )
        yield SystemCommand("Refresh now", "Poll Redis at once", self.refresh_now)
        yield SystemCommand(
            "Pause or resume refreshing", "Freeze the screen (p)", self.action_toggle_refresh
        )

    def _go(self, mode: str) -> Callable[[], object]:
        return lambda: self.go(mode)

    async def _open_from_palette(self, queue: str) -> None:
        await self.go("overview")
        self.open_queue(queue)

    # -- changes --------------------------------------------------------------------------
    def refuse_read_only(self) -> None:
        self.notify(
            "Read-only mode: changes are disabled (started with --read-only).",
            title="Refused",
            severity="warning",
        )

    def confirm(self, change: Change) -> None:
        """Ask, then apply ``change`` in a worker thread; refuse in read-only mode."""
        if self.read_only:
            self.refuse_read_only()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply(change)
            else:
                self.notify("Cancelled: nothing changed.", timeout=3)

        self.push_screen(ConfirmScreen(change), answered)

    def confirm_later(self, build: Callable[[DataSource], Change | str]) -> None:
        """`confirm` a change whose description needs Redis (e.g. a fresh count); ``build``
        returns a message instead when there turns out to be nothing to change."""
        if self.read_only:
            self.refuse_read_only()
            return
        self._build(build)

    @work(thread=True, group="change", exit_on_error=False)
    def _build(self, build: Callable[[DataSource], Change | str]) -> None:
        try:
            change = build(self.source)
        except QopsError as exc:
            self._from_thread(self._report, str(exc), "error")
            return
        if isinstance(change, str):
            self._from_thread(self._report, change, "warning")
        else:
            self._from_thread(self.confirm, change)

    @work(thread=True, group="change", exit_on_error=False)
    def _apply(self, change: Change) -> None:
        try:
            message, severity = change.apply(self.source), "information"
        except QopsError as exc:
            message, severity = str(exc), "error"
        self._from_thread(self._report, message, severity)

    def _report(self, message: str, severity: str) -> None:
        title = {"information": "Done", "warning": "Nothing changed"}.get(severity, "Failed")
        self.notify(message, title=title, severity=severity)  # type: ignore[arg-type]
        self.refresh_now()

    def palette(self) -> dict[str, str]:
        """Theme colours for Rich cells (tables cannot use CSS variables)."""
        v = self.theme_variables
        return {k: v.get(k, "") for k in ("error", "warning", "success", "accent", "secondary")}

    def on_unmount(self) -> None:
        for timer in (self._ticker, self._timer):
            if timer is not None:
                timer.stop()
        self.source.close()
