"""``qops tui``: the live dashboard. Textual is imported only once the command runs."""

from __future__ import annotations

from typing import Annotated

import typer

from qops.cli.common import (
    EXIT_USAGE,
    SETTINGS,
    command,
    fail,
    stdin_is_terminal,
    stdout_is_terminal,
)


@command
def tui(
    refresh: Annotated[
        float,
        typer.Option("--refresh", min=0.5, help="Seconds between refreshes (at least 0.5)."),
    ] = 2.0,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", help="Disable every change: run, retry, archive, delete, cancel, pause."
        ),
    ] = False,
    no_mouse: Annotated[
        bool,
        typer.Option("--no-mouse", help="Leave the mouse to the terminal (native text selection)."),
    ] = False,
    theme: Annotated[
        str | None,
        typer.Option("--theme", envvar="QOPS_THEME", help="Textual theme, e.g. nord, ansi-dark."),
    ] = None,
) -> None:
    """Live dashboard of queues, tasks and servers; press ? in it for the keys."""
    if not (stdin_is_terminal() and stdout_is_terminal()):
        raise fail("qops tui needs a terminal on stdin and stdout", EXIT_USAGE)
    from qops.tui.app import QopsApp
    from qops.tui.source import RedisSource

    app = QopsApp(RedisSource(SETTINGS.inspector()), refresh=refresh, read_only=read_only)
    if theme is not None:
        if theme not in app.available_themes:
            names = ", ".join(sorted(app.available_themes))
            raise fail(f"--theme: unknown theme {theme!r}; choose one of {names}", EXIT_USAGE)
        app.theme = theme
    app.run(mouse=not no_mouse)
