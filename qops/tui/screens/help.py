"""`HelpScreen`: the keys of the screen it was opened from, and the global ones."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

NOTES = (
    "Refresh: every --refresh seconds (default 2); p or F pauses and resumes it, "
    "+ and - change the interval, ctrl+r refreshes now. Paging keys (n/p) win on the "
    "queue screen, so there F pauses.\n"
    "Changes (run, retry, archive, delete, cancel, pause) always ask first; destructive "
    "ones focus No, and R, A and D (every task of the state) are confirmed by typing the "
    "number of tasks. qops tui --read-only disables them.\n"
    "/ filters the rows of the page shown; t asks Redis for one task type, over all pages.\n"
    "ctrl+p opens the command palette: go to a queue, the servers, a theme."
)


def _key(keys: str, display: str | None) -> str:
    if display:
        return display
    names = {"question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]"}
    names |= {"slash": "/", "escape": "esc", "plus": "+", "minus": "-"}
    return " ".join(names.get(k, k) for k in keys.split(","))


def _table(
    title: str,
    bindings: list[Any],
    extra: tuple[tuple[str, str], ...] = (),
    skip: frozenset[str] = frozenset(),
) -> Table:
    """One row per binding description, first key wins; actions in ``skip`` are listed
    elsewhere (the keys that work everywhere), even when a screen binds them too."""
    table = Table(title=title, title_justify="left", show_header=False, box=None, expand=True)
    table.add_column(style="bold", no_wrap=True, width=14)
    table.add_column(ratio=1)
    seen: set[str] = set()
    for b in bindings:
        if not isinstance(b, Binding) or not b.description or b.description in seen:
            continue
        if b.action.removeprefix("app.") in skip:
            continue
        seen.add(b.description)
        table.add_row(_key(b.key, b.key_display), b.description)
    for key, description in extra:
        table.add_row(key, description)
    return table


class HelpScreen(ModalScreen[None]):
    """Key reference over the screen it was opened from."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "close", "Close", id="help-close"),
        # A modal screen hides the app's keys; these two work from everywhere.
        Binding("1", "app.go('overview')", "Queues (overview)", show=False, id="help-queues"),
        Binding("2", "app.go('servers')", "Servers", show=False, id="help-servers"),
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        title = getattr(self.under, "HELP_TITLE", "This screen")
        everywhere = cast("list[Any]", self.app.BINDINGS)
        global_actions = frozenset(b.action for b in everywhere if isinstance(b, Binding))
        with VerticalScroll(id="help"):
            yield Static(
                Text.assemble(("qops tui: keys", "bold"), ("   esc, ? or q closes this", "dim")),
                id="help-title",
            )
            yield Static(_table(title, cast("list[Any]", self.under.BINDINGS), skip=global_actions))
            yield Static(_table("Everywhere", everywhere, (("ctrl+p", "Command palette"),)))
            yield Static(Text(NOTES), id="help-notes")

    def action_close(self) -> None:
        self.dismiss(None)
