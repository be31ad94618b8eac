"""Options and arguments several commands share, so they are spelled the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

from qops.cli.complete import queue_names
from qops.models import TaskState

QueueOpt = Annotated[
    str, typer.Option("--queue", "-q", help="Queue name.", autocompletion=queue_names)
]
MaybeQueueOpt = Annotated[
    str | None, typer.Option("--queue", "-q", help="Queue name.", autocompletion=queue_names)
]
QueueArgs = Annotated[
    list[str], typer.Argument(metavar="QUEUE...", help="Queue names.", autocompletion=queue_names)
]
StateOpt = Annotated[TaskState, typer.Option("--state", "-s", help="Task state.")]
TypeOpt = Annotated[str | None, typer.Option("--type", "-t", help="Only tasks of this type.")]
GroupOpt = Annotated[str | None, typer.Option("--group", "-g", help="Only tasks of this group.")]
TaskIdArgs = Annotated[list[str], typer.Argument(metavar="ID...", help="Task ids.")]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed off a terminal).")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Only print how many tasks would change.")
]
