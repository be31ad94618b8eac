"""The ``qops`` command: the root app, its global options, and where each command group lives."""

from __future__ import annotations

import typer

from qops import __version__
from qops.cli.common import (
    EXIT_CODES_HELP,
    SETTINGS,
    DebugOpt,
    JsonOpt,
    NoColorOpt,
    ProfileOpt,
    QuietOpt,
    RedisUrlOpt,
    apply_globals,
    command,
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
from qops.cli.worker_cmd import worker as worker_cmd

app = typer.Typer(
    name="qops",
    help="Operate a Redis task queue (Asynq-compatible) from a terminal.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
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
    app(prog_name="qops")
