"""How ``qops`` shows its usage: one-line usage errors, and option values in ``--help``.

A usage error (unknown option, bad choice, missing option) is one line on stderr,
``qops: error: <message> (see 'qops <command> --help')``, like every other error. In ``--help``
a flag shows no value after its name, and a long list of choices wraps at its ``|``.
"""

from __future__ import annotations

from typing import Any

import typer

HELP_OPTION_NAMES = ["-h", "--help"]
CHOICES_WIDTH = 24
"""Characters of a list of choices shown per line in ``--help``."""


def usage_error_line(exc: typer.TyperException) -> str:
    """The one line a usage error prints: its message and where the help is."""
    message = " ".join(exc.format_message().split()).removesuffix(".")
    # Typer validates values with pydantic, whose messages start with its own label.
    message = message.replace(": Value error, ", ": ")
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        message = message[0].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "qops"
    return f"qops: error: {message} (see '{path} --help')"


def is_help_shown(exc: typer.TyperException) -> bool:
    """True for the error a group raises when run without a subcommand.

    Its help is printed while the error is built (on stdout); nothing more is to be said.
    Matched by name, as Typer itself does: the class lives in Typer's private copy of Click.
    """
    return type(exc).__name__ == "NoArgsIsHelpError"


def tidy_help(cmd: Any, parent: Any = None) -> None:
    """Set the value shown after each option in ``--help`` for ``cmd`` and its subcommands.

    Typer shows ``<bool>`` after flags, which reads as if they took a value, and folds long
    choice lists mid-word; an explicit metavar fixes both (nothing, or the choices cut at
    ``|``). ``cmd`` is the Click command Typer built (its Click is private, hence ``Any``).
    """
    ctx = typer.Context(cmd, parent=parent, info_name=cmd.name, help_option_names=HELP_OPTION_NAMES)
    help_option = cmd.get_help_option(ctx)
    for param in [*cmd.params, *([help_option] if help_option is not None else [])]:
        if param.param_type_name != "option" or param.metavar is not None:
            continue
        if param.is_flag and not param.count:
            param.metavar = ""
            continue
        shown = param.display_type_rich(ctx)
        if shown and "|" in shown and len(shown) > CHOICES_WIDTH:
            param.metavar = wrap_choices(shown, CHOICES_WIDTH)
    for sub in getattr(cmd, "commands", {}).values():
        tidy_help(sub, ctx)


def wrap_choices(text: str, width: int) -> str:
    """``text`` (``<a|b|c>``) on lines of at most ``width`` characters, each ending at a ``|``."""
    parts = text.split("|")
    lines: list[str] = []
    line = ""
    for i, part in enumerate(parts):
        piece = part if i == len(parts) - 1 else part + "|"
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = ""
        line += piece
    lines.append(line)
    return "\n".join(lines)
