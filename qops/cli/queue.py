"""``qops queue``: list, inspect, pause, unpause and remove queues."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from qops.cli.common import SETTINGS, command, stdout_is_terminal
from qops.cli.each import run_each
from qops.cli.output import Column, OutputOpt, duration, emit, emit_record, iso, size
from qops.cli.params import QueueArgs
from qops.errors import QueueNotFoundError
from qops.models import DailyStats, QueueInfo

if TYPE_CHECKING:
    from qops.inspector import Inspector

queue_app = typer.Typer(help="List, inspect, pause and remove queues.", no_args_is_help=True)


def rate(failed: int, processed: int) -> str:
    return f"{failed / processed:.1%}" if processed else "-"


def state_word(q: QueueInfo) -> str:
    """The queue's state as every command prints it."""
    return "paused" if q.paused else "running"


# An empty queue has no latency: "-" for people, 0 seconds for scripts.
def latency_human(q: QueueInfo) -> str:
    return duration(q.latency) if q.latency else "-"


def latency_plain(q: QueueInfo) -> str:
    return f"{q.latency:.3f}"


def error_rate_plain(q: QueueInfo) -> str:
    return f"{q.error_rate:.4f}"


def _n(attr: str, header: str | None = None, *, wide: bool = False) -> Column[QueueInfo]:
    return Column(
        header or attr.upper(), lambda q: str(getattr(q, attr)), justify="right", wide=wide
    )


QUEUE_COLUMNS: list[Column[QueueInfo]] = [
    Column("QUEUE", lambda q: q.queue),
    Column("STATE", state_word, style=lambda q: "yellow" if q.paused else "green"),
    _n("size"),
    _n("pending"),
    _n("active"),
    _n("scheduled"),
    _n("retry"),
    _n("archived"),
    _n("completed", wide=True),
    _n("aggregating", "AGGR", wide=True),
    _n("processed", "PROCESSED", wide=True),
    _n("failed", "FAILED", wide=True),
    Column(
        "ERR%",
        lambda q: rate(q.failed, q.processed),
        plain=error_rate_plain,
        justify="right",
        wide=True,
    ),
    Column("LATENCY", latency_human, plain=latency_plain, justify="right", wide=True),
    Column(
        "MEMORY",
        lambda q: size(q.memory_usage),
        plain=lambda q: str(q.memory_usage),
        justify="right",
        wide=True,
    ),
]


def known_queues(inspector: Inspector, names: Sequence[str]) -> list[str]:
    """``names`` without duplicates; the first one that does not exist raises."""
    existing = set(inspector.queues())
    for name in names:
        if name not in existing:
            raise QueueNotFoundError(name)
    return list(dict.fromkeys(names))


@queue_app.command("ls")
@command
def ls_cmd(output: OutputOpt = None) -> None:
    """List queues with task counts per state and today's processed/failed counts."""
    infos = SETTINGS.inspector().queue_infos()
    emit(infos, QUEUE_COLUMNS, output, to_json=QueueInfo.to_json, empty="no queues")


def _pairs(q: QueueInfo, pretty: bool) -> list[tuple[str, str]]:
    """Key/value lines; ``pretty`` humanizes times, sizes and rates (raw values otherwise)."""
    return [
        ("queue", q.queue),
        ("state", state_word(q)),
        ("size", str(q.size)),
        ("groups", str(q.groups)),
        ("latency", latency_human(q) if pretty else latency_plain(q)),
        ("memory", size(q.memory_usage) if pretty else str(q.memory_usage)),
        ("pending", str(q.pending)),
        ("active", str(q.active)),
        ("scheduled", str(q.scheduled)),
        ("retry", str(q.retry)),
        ("archived", str(q.archived)),
        ("completed", str(q.completed)),
        ("aggregating", str(q.aggregating)),
        ("processed today", str(q.processed)),
        ("failed today", str(q.failed)),
        ("error rate today", rate(q.failed, q.processed) if pretty else error_rate_plain(q)),
        ("processed total", str(q.processed_total)),
        ("failed total", str(q.failed_total)),
        ("as of", iso(q.timestamp)),
    ]


@queue_app.command("inspect")
@command
def inspect_cmd(queues: QueueArgs, output: OutputOpt = None) -> None:
    """Show a queue's size, counts per state and today's statistics."""
    inspector = SETTINGS.inspector()
    infos = inspector.queue_infos(known_queues(inspector, queues))
    if output is None and not SETTINGS.json and len(infos) == 1:
        emit_record(_pairs(infos[0], stdout_is_terminal()), infos[0].to_json(), output)
        return
    emit(infos, QUEUE_COLUMNS, output, to_json=QueueInfo.to_json)


HISTORY_COLUMNS: list[Column[DailyStats]] = [
    Column("QUEUE", lambda d: d.queue),
    Column("DATE", lambda d: d.date),
    Column("PROCESSED", lambda d: str(d.processed), justify="right"),
    Column("FAILED", lambda d: str(d.failed), justify="right"),
    Column(
        "ERR%",
        lambda d: rate(d.failed, d.processed),
        plain=lambda d: f"{d.failed / d.processed if d.processed else 0:.4f}",
        justify="right",
    ),
]


@queue_app.command("history")
@command
def history_cmd(
    queues: QueueArgs,
    days: Annotated[int, typer.Option("--days", "-d", min=1, help="UTC days, today first.")] = 7,
    output: OutputOpt = None,
) -> None:
    """Processed and failed counts per UTC day."""
    inspector = SETTINGS.inspector()
    rows = [d for q in known_queues(inspector, queues) for d in inspector.history(q, days)]
    emit(rows, HISTORY_COLUMNS, output, to_json=DailyStats.to_json)


@queue_app.command("pause")
@command
def pause_cmd(queues: QueueArgs) -> None:
    """Stop workers from taking new tasks from the queues (running tasks finish)."""
    run_each(queues, SETTINGS.inspector().pause, lambda q: f"paused queue {q!r}")


@queue_app.command("unpause")
@command
def unpause_cmd(queues: QueueArgs) -> None:
    """Let workers take tasks from the queues again."""
    run_each(queues, SETTINGS.inspector().unpause, lambda q: f"unpaused queue {q!r}")


# The asynq CLI's name for it.
queue_app.command("resume", hidden=True)(unpause_cmd)


@queue_app.command("rm")
@command
def rm_cmd(
    queues: QueueArgs,
    force: Annotated[
        bool,
        typer.Option(
            "--force", "-f", help="Also delete a queue that still holds tasks (not active ones)."
        ),
    ] = False,
) -> None:
    """Remove queues; without --force only empty ones."""
    inspector = SETTINGS.inspector()
    run_each(
        queues,
        lambda q: inspector.delete_queue(q, force=force),
        lambda q: f"removed queue {q!r}",
    )
