"""`ConfirmScreen`: the dialog every change goes through."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from qops.tui.changes import Change


def _digits(text: str) -> str:
    # "4,511" and "4 511" are the same count as "4511".
    return "".join(text.split()).replace(",", "").replace("_", "")


class ConfirmScreen(ModalScreen[bool]):
    """Asks before ``change`` is applied.

    A single change is a yes/no question, with "No" focused when it is destructive. A bulk
    change (`Change.typed`) is confirmed only by typing its count, as k9s does for its
    "sanitize": a reflexive ``y`` or ``enter`` cannot empty a queue.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
        Binding("left,right,h,l", "app.focus_next", "Switch", show=False),
    ]

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change
        self.yes = Button(
            change.action,
            id="yes",
            variant="error" if change.destructive else "primary",
            compact=True,
            disabled=bool(change.typed),
        )
        self.no = Button("No", id="no", compact=True)
        self.typed = Input(id="dialog-input", compact=True, select_on_focus=False)
        self.prompt = Static(id="dialog-prompt")

    def compose(self) -> ComposeResult:
        c = self.change
        with Vertical(id="dialog", classes="-destructive" if c.destructive else ""):
            yield Static(Content(c.title), id="dialog-title")
            yield Static(Content(c.detail), id="dialog-detail")
            if c.typed:
                yield self.prompt
                yield self.typed
            with Horizontal(id="dialog-buttons"):
                yield self.no
                yield self.yes

    def on_mount(self) -> None:
        if self.change.typed:
            self.show_prompt()
            self.typed.focus()
        else:
            (self.no if self.change.destructive else self.yes).focus()

    def show_prompt(self, again: bool = False) -> None:
        typed = self.change.typed
        self.prompt.update(
            Content.assemble(
                ("No match. " if again else "", "bold $error"),
                "Type ",
                (typed, "bold"),
                " and press enter to confirm; esc cancels.",
            )
        )

    def matches(self) -> bool:
        return _digits(self.typed.value) == self.change.typed

    @on(Input.Changed, "#dialog-input")
    def typed_changed(self) -> None:
        self.yes.disabled = not self.matches()

    @on(Input.Submitted, "#dialog-input")
    def typed_submitted(self) -> None:
        if self.matches():
            self.dismiss(True)
        else:
            self.show_prompt(again=True)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        if yes and self.change.typed and not self.matches():
            self.show_prompt(again=True)
            return
        self.dismiss(yes)
