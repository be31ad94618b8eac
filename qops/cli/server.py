"""``qops server ls``: worker servers and the tasks their workers are running."""

from __future__ import annotations

from typing import Annotated

import typer

from qops.cli.common import SETTINGS, command, stdout_is_terminal
from qops.cli.output import (
    Column,
    Format,
    OutputOpt,
    bytes_preview,
    bytes_text,
    chosen_format,
    emit,
    iso,
    print_table,
    since,
)
from qops.models import ServerInfo, WorkerInfo

server_app = typer.Typer(help="Worker servers and their active workers.", no_args_is_help=True)


def weights(s: ServerInfo) -> str:
    text = ",".join(f"{q}={w}" for q, w in sorted(s.queues.items(), key=lambda kv: -kv[1]))
    return text + (" (strict)" if s.strict_priority else "")


SERVER_COLUMNS: list[Column[ServerInfo]] = [
    Column("HOST", lambda s: s.host),
    Column("PID", lambda s: str(s.pid), justify="right"),
    Column("STATUS", lambda s: s.status),
    Column("BUSY", lambda s: f"{len(s.active_workers)}/{s.concurrency}", justify="right"),
    Column("QUEUES", weights, max_width=40),
    Column("STARTED", lambda s: since(s.started), plain=lambda s: iso(s.started)),
    Column("ID", lambda s: s.id),
]

WORKER_COLUMNS: list[Column[WorkerInfo]] = [
    Column("HOST", lambda w: w.host),
    Column("PID", lambda w: str(w.pid), justify="right"),
    Column("TASK ID", lambda w: w.task_id),
    Column("TYPE", lambda w: w.task_type),
    Column("QUEUE", lambda w: w.queue),
    Column("STARTED", lambda w: since(w.started), plain=lambda w: iso(w.started)),
    Column("DEADLINE", lambda w: since(w.deadline), plain=lambda w: iso(w.deadline)),
    Column(
        "PAYLOAD",
        lambda w: bytes_preview(w.task_payload),
        plain=lambda w: bytes_text(w.task_payload),
        max_width=40,
    ),
]


@server_app.command("ls")
@command
def ls_cmd(
    workers: Annotated[
        bool, typer.Option("--workers", "-w", help="One row per running task instead.")
    ] = False,
    output: OutputOpt = None,
) -> None:
    """List live servers; on a terminal, their running tasks follow.

    --json prints the servers with their active workers nested.
    """
    servers = SETTINGS.inspector().servers()
    if workers:
        rows = [w for s in servers for w in s.active_workers]
        emit(rows, WORKER_COLUMNS, output, to_json=WorkerInfo.to_json, empty="no running tasks")
        return
    emit(servers, SERVER_COLUMNS, output, to_json=ServerInfo.to_json, empty="no servers")
    running = [w for s in servers for w in s.active_workers]
    if running and chosen_format(output) is Format.TABLE and stdout_is_terminal():
        print_table(running, WORKER_COLUMNS, title="Running tasks")
