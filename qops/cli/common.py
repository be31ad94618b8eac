"""What every ``qops`` command shares: global options, output, and errors mapped to exit codes.

Global options (``--redis-url``, ``--profile``, ``--json``, ``--quiet``, ``--no-color``,
``--debug``) are accepted before the subcommand (on the root callback) and after it (each
command decorated with `command` gets them added to its signature).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import shutil
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import typer
from rich.console import Console
from typer.exceptions import TyperException

from qops.errors import InvalidInputError, QopsError

if TYPE_CHECKING:
    from qops.inspector import Inspector

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_CONFIRM = 5
EXIT_INTERRUPTED = 130

# Typer's rich help keeps single line breaks, so this prints as a table.
EXIT_CODES_HELP = "\n".join(
    [
        "Exit codes:",
        "  0  success (an empty listing included)",
        "  1  operation failed",
        "  2  usage or input error",
        "  3  queue or task not found",
        "  4  Redis unreachable or authentication refused",
        "  5  confirmation needed but not on a terminal (pass --yes)",
        "130  interrupted",
        "141  stdout closed early (| head): stopped quietly, as by SIGPIPE",
    ]
)


@dataclass
class Settings:
    """Global options, merged from the root callback and the subcommand."""

    redis_url: str | None = None
    profile: str | None = None
    json: bool = False
    quiet: bool = False
    no_color: bool = False
    debug: bool = False
    _inspector: Inspector | None = field(default=None, repr=False)

    @property
    def color(self) -> bool:
        return not self.no_color and "NO_COLOR" not in os.environ

    def out(self) -> Console:
        """Console for data on stdout (tables); never used for ``--json``."""
        return Console(no_color=not self.color, highlight=False, soft_wrap=False)

    def err(self) -> Console:
        # soft_wrap: an error stays one line however narrow the terminal or pipe is.
        return Console(stderr=True, no_color=not self.color, highlight=False, soft_wrap=True)

    def inspector(self) -> Inspector:
        if self._inspector is None:
            from qops.inspector import Inspector

            self._inspector = Inspector(self.redis_url, profile=self.profile)
        return self._inspector

    def info(self, message: str) -> None:
        """A human message on stderr, silenced by ``--quiet``."""
        if not self.quiet:
            self.err().print(message, markup=False)

    def emit_json(self, data: Any) -> None:
        typer.echo(json.dumps(data, ensure_ascii=False, sort_keys=False))


SETTINGS = Settings()

GLOBAL_PANEL = "Global options"

RedisUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        "-u",
        envvar="QOPS_REDIS_URL",
        show_envvar=True,
        help="Redis URL (redis://, rediss://, unix://). Default: profile, then embedded Redis.",
        rich_help_panel=GLOBAL_PANEL,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="QOPS_PROFILE",
        help="Config profile to use.",
        rich_help_panel=GLOBAL_PANEL,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON on stdout.", rich_help_panel=GLOBAL_PANEL)
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", help="No messages on stderr.", rich_help_panel=GLOBAL_PANEL)
]
NoColorOpt = Annotated[
    bool,
    typer.Option("--no-color", help="No colour (also NO_COLOR).", rich_help_panel=GLOBAL_PANEL),
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="Show tracebacks on errors (the exit code stays the same).",
        rich_help_panel=GLOBAL_PANEL,
    ),
]

_GLOBAL_PARAMS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
    for name, ann, default in (
        ("redis_url", RedisUrlOpt, None),
        ("profile", ProfileOpt, None),
        ("json_", JsonOpt, False),
        ("quiet", QuietOpt, False),
        ("no_color", NoColorOpt, False),
        ("debug", DebugOpt, False),
    )
]


def apply_globals(
    redis_url: str | None,
    profile: str | None,
    json_: bool,
    quiet: bool,
    no_color: bool,
    debug: bool,
) -> None:
    s = SETTINGS
    s.redis_url = redis_url or s.redis_url
    s.profile = profile or s.profile
    s.json = json_ or s.json
    s.quiet = quiet or s.quiet
    s.no_color = no_color or s.no_color
    s.debug = debug or s.debug


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print one error line on stderr; ``raise fail(...)`` exits with ``code``."""
    SETTINGS.err().print(f"qops: error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code)


def exit_code(exc: QopsError) -> int:
    """What ``qops`` exits with when it stops on ``exc``."""
    return EXIT_USAGE if isinstance(exc, InvalidInputError) else exc.exit_code


def show_traceback() -> None:
    """With ``--debug``, the traceback of the exception being handled, on stderr."""
    if SETTINGS.debug:
        traceback.print_exc()


def output_closed() -> NoReturn:
    """Stop as a process killed by SIGPIPE does: the reader of stdout is gone (``| head``).

    Nothing is printed and nothing left in a buffer is flushed; shells report status 141.
    """
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(128 + 13)


class _GuardedStream:
    """A text stream whose writes end qops quietly once the reader has gone."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            output_closed()

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            output_closed()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Make a closed stdout end qops quietly, wherever the write happens (Rich, help, exit).

    Only stdout: a broken Redis socket must stay a connection error (exit 4), which is why
    SIGPIPE itself keeps Python's handling.
    """
    if not isinstance(sys.stdout, _GuardedStream):
        sys.stdout = cast(IO[str], _GuardedStream(sys.stdout))


F = TypeVar("F", bound=Callable[..., Any])


def command(fn: F) -> F:
    """Give ``fn`` the global options and turn qops errors into one line and an exit code.

    With ``--debug`` the traceback comes first; the exit code is the same.
    """
    sig = inspect.signature(fn, eval_str=True)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        apply_globals(*(kwargs.pop(p.name) for p in _GLOBAL_PARAMS))
        try:
            return fn(*args, **kwargs)
        except QopsError as exc:
            show_traceback()
            raise fail(str(exc), exit_code(exc)) from None
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except BrokenPipeError:
            output_closed()
        except Exception as exc:
            show_traceback()
            hint = "" if SETTINGS.debug else " (--debug shows the traceback)"
            raise fail(f"{type(exc).__name__}: {exc}{hint}") from None
        finally:
            if SETTINGS._inspector is not None:
                SETTINGS._inspector.close()
                SETTINGS._inspector = None

    wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[*sig.parameters.values(), *_GLOBAL_PARAMS]
    )
    return wrapper  # type: ignore[return-value]


def program() -> str:
    """This qops as the user can type it: ``qops`` when PATH finds it, else its path."""
    path = os.path.abspath(sys.argv[0])
    if os.path.basename(path) != "qops":
        return "qops"
    found = shutil.which("qops")
    try:
        if found is not None and os.path.samefile(found, path):
            return "qops"
    except OSError:
        return "qops"
    relative = os.path.relpath(path)
    if relative.startswith(os.pardir):
        return path
    return relative if os.sep in relative else os.path.join(os.curdir, relative)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()
