"""The ``qops`` command: the root app, its global options, and where each command group lives."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
import typer.main

from qops import __version__
from qops.cli.common import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    SETTINGS,
    DebugOpt,
    JsonOpt,
    NoColorOpt,
    ProfileOpt,
    QuietOpt,
    RedisUrlOpt,
    apply_globals,
    command,
    guard_stdout,
)
from qops.cli.config_cmd import config_app
from qops.cli.cron_cmd import cron_app, scheduler
from qops.cli.demo_cmd import demo
from qops.cli.enqueue import enqueue
from qops.cli.metrics_cmd import metrics_app
from qops.cli.queue import queue_app
from qops.cli.server import server_app
from qops.cli.stats import stats_cmd
from qops.cli.task import task_app
from qops.cli.transfer import export_cmd, import_cmd
from qops.cli.tui_cmd import tui
from qops.cli.usage import HELP_OPTION_NAMES, is_help_shown, tidy_help, usage_error_line
from qops.cli.worker_cmd import worker as worker_cmd

app = typer.Typer(
    name="qops",
    help="Operate a Redis task queue (Asynq-compatible) from a terminal.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    redis_url: RedisUrlOpt = None,
    profile: ProfileOpt = None,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Global options go before or after the subcommand."""
    apply_globals(redis_url, profile, json_, quiet, no_color, debug)


@app.command()
@command
def version() -> None:
    """Print the qops version."""
    if SETTINGS.json:
        SETTINGS.emit_json({"version": __version__})
    else:
        typer.echo(__version__)


app.command("enqueue")(enqueue)
app.add_typer(queue_app, name="queue")
app.add_typer(task_app, name="task")
app.command("export")(export_cmd)
app.command("import")(import_cmd)
app.command("stats")(stats_cmd)
app.add_typer(server_app, name="server")
app.add_typer(config_app, name="config")
app.command("demo")(demo)
app.add_typer(metrics_app, name="metrics")
app.command("worker")(worker_cmd)
app.command("scheduler")(scheduler)
app.add_typer(cron_app, name="cron")
app.command("tui")(tui)


def run() -> None:
    """The ``qops`` executable: run the command, exit with the code README's table gives."""
    guard_stdout()
    cmd = typer.main.get_command(app)
    tidy_help(cmd)
    try:
        result = cmd.main(prog_name="qops", standalone_mode=False)
    except typer.Abort:
        code = EXIT_INTERRUPTED  # a prompt got Ctrl+C or the end of its input
    except typer.TyperException as exc:
        code = exc.exit_code
        if not is_help_shown(exc):
            line = usage_error_line(exc) if code == EXIT_USAGE else f"qops: error: {exc}"
            SETTINGS.err().print(line, markup=False, soft_wrap=True)
    else:
        code = result if isinstance(result, int) else EXIT_OK
    sys.stdout.flush()
    sys.exit(code)
