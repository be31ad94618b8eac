"""`DataScreen`: what every refreshed screen shares (status bar, read-only guard, changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from textual import events
from textual.binding import Binding
from textual.screen import Screen

from qops.tui.changes import Change
from qops.tui.source import DataSource
from qops.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from qops.tui.app import QopsApp

T = TypeVar("T")


class DataScreen(Screen[None], Generic[T]):
    """A screen the app refreshes: `fetch` runs in a worker thread, `show` on the UI.

    Subclasses list the actions that change Redis in ``CHANGES``: in read-only mode those
    bindings are shown disabled, and pressing them explains why nothing happens.
    """

    CHANGES: ClassVar[frozenset[str]] = frozenset()
    _last_error: str | None = None

    @property
    def qops(self) -> QopsApp:
        return cast("QopsApp", self.app)

    def crumb(self) -> str:
        raise NotImplementedError

    def status_bar(self) -> StatusBar:
        return StatusBar(self.crumb())

    def fetch(self, source: DataSource) -> T:
        """Read what the screen shows (blocking; called from a worker thread)."""
        raise NotImplementedError

    def show(self, data: T) -> None:
        """Display the result of `fetch` and the app's latest queue infos."""
        raise NotImplementedError

    def show_error(self, error: Exception) -> None:
        """`fetch` raised something other than a lost connection; said once, not per poll."""
        message = str(error)
        if message != self._last_error:
            self._last_error = message
            self.notify(message, title="Refresh failed", severity="error")

    def fetched(self, data: T) -> None:
        """A poll succeeded: a later error is news again."""
        self._last_error = None
        self.show(data)

    @property
    def current(self) -> bool:
        """Mounted (so composed) and on top: only then may a poll's data be shown."""
        return self.is_mounted and self.is_active

    def on_screen_resume(self) -> None:
        # `App.go` pops several screens at once; those passed over must not poll.
        if self.is_active:
            self.qops.show_status()
            self.qops.refresh_now()

    def allowed(self, action: str) -> bool:
        """Whether ``action`` applies to what is selected now (read-only aside)."""
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.CHANGES:
            if not self.allowed(action):
                return False
            return None if self.qops.read_only else True
        return True

    def on_key(self, event: events.Key) -> None:
        if not self.qops.read_only:
            return
        for binding in cast("list[Any]", self.BINDINGS):
            if (
                isinstance(binding, Binding)
                and binding.action in self.CHANGES
                and event.key in binding.key.split(",")
            ):
                event.stop()
                self.qops.refuse_read_only()
                return

    def confirm(self, change: Change) -> None:
        self.qops.confirm(change)
