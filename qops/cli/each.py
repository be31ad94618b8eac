"""Apply one action to each of several names, reporting failures without stopping early."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import typer

from qops.cli.common import SETTINGS, exit_code, show_traceback
from qops.errors import ConnectionFailedError, QopsError


def run_each(
    names: Sequence[str], action: Callable[[str], None], done: Callable[[str], str]
) -> None:
    """Run ``action`` on every name; exit with the first failure's code once all were tried.

    A lost connection stops at once: every later name would fail the same way.
    """
    code = 0
    for name in names:
        try:
            action(name)
        except ConnectionFailedError:
            raise
        except QopsError as exc:
            show_traceback()
            SETTINGS.err().print(f"qops: error: {exc}", markup=False)
            code = code or exit_code(exc)
            continue
        SETTINGS.info(done(name))
    if code:
        raise typer.Exit(code)
