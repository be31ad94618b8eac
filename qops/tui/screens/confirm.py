"""`ConfirmScreen`: the yes/no dialog every change goes through."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from qops.tui.changes import Change


class ConfirmScreen(ModalScreen[bool]):
    """Asks before ``change`` is applied; "No" has the focus when it is destructive."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
        Binding("left,right,h,l", "app.focus_next", "Switch", show=False),
    ]

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change

    def compose(self) -> ComposeResult:
        c = self.change
        with Vertical(id="dialog", classes="-destructive" if c.destructive else ""):
            yield Static(Content(c.title), id="dialog-title")
            yield Static(Content(c.detail), id="dialog-detail")
            with Horizontal(id="dialog-buttons"):
                yield Button("No", id="no", compact=True)
                yield Button(
                    c.action,
                    id="yes",
                    variant="error" if c.destructive else "primary",
                    compact=True,
                )

    def on_mount(self) -> None:
        self.query_one("#no" if self.change.destructive else "#yes", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
