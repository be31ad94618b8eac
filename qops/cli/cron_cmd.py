"""``qops scheduler`` runs the periodic tasks of a schedule file; ``qops cron`` lists them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from qops.cli.common import SETTINGS, command
from qops.cli.output import Column, OutputOpt, ago, bytes_preview, bytes_text, emit, iso
from qops.models import SchedulerEnqueueEvent, SchedulerEntry

cron_app = typer.Typer(
    help="Periodic task entries of the running schedulers, and their enqueue history.",
    no_args_is_help=True,
)

ENTRY_COLUMNS: list[Column[SchedulerEntry]] = [
    Column("ID", lambda e: e.id),
    Column("SPEC", lambda e: e.spec),
    Column("TYPE", lambda e: e.task_type),
    Column(
        "PAYLOAD",
        lambda e: bytes_preview(e.task_payload),
        plain=lambda e: bytes_text(e.task_payload),
        max_width=30,
    ),
    Column("OPTIONS", lambda e: ", ".join(e.options) or "-", plain=lambda e: ", ".join(e.options)),
    Column("NEXT", lambda e: ago(e.next_enqueue_at), plain=lambda e: iso(e.next_enqueue_at)),
    Column("PREV", lambda e: ago(e.prev_enqueue_at), plain=lambda e: iso(e.prev_enqueue_at)),
]

EVENT_COLUMNS: list[Column[SchedulerEnqueueEvent]] = [
    Column(
        "ENQUEUED",
        lambda e: f"{iso(e.enqueued_at)} ({ago(e.enqueued_at)})",
        plain=lambda e: iso(e.enqueued_at),
    ),
    Column("TASK ID", lambda e: e.task_id),
]


def merged(entries: list[SchedulerEntry]) -> list[SchedulerEntry]:
    """One row per entry id: schedulers running the same file publish the same entries.

    The latest next and previous times win: a scheduler that is a tick behind, or stopped
    and not yet expired, would otherwise show a run that already happened.
    """
    by_id: dict[str, SchedulerEntry] = {}
    for e in entries:
        seen = by_id.get(e.id)
        by_id[e.id] = (
            e
            if seen is None
            else dataclasses.replace(
                e,
                next_enqueue_at=_latest(seen.next_enqueue_at, e.next_enqueue_at),
                prev_enqueue_at=_latest(seen.prev_enqueue_at, e.prev_enqueue_at),
            )
        )
    return list(by_id.values())


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a is not None and b is not None else a or b


@cron_app.command("ls")
@command
def ls_cmd(output: OutputOpt = None) -> None:
    """List the periodic entries of the running schedulers, next to run first.

    Entries published by several schedulers (the same schedule file run twice) are shown
    once. Asynq's schedulers are listed too.
    """
    entries = merged(SETTINGS.inspector().scheduler_entries())
    emit(
        entries,
        ENTRY_COLUMNS,
        output,
        to_json=SchedulerEntry.to_json,
        empty="no periodic entries: no scheduler is running",
    )


@cron_app.command("history")
@command
def history_cmd(
    entry: Annotated[str, typer.Argument(metavar="ENTRY", help="Entry id (see qops cron ls).")],
    page: Annotated[int, typer.Option("--page", min=1, help="Page number, from 1.")] = 1,
    size: Annotated[int, typer.Option("--size", "-n", min=1, help="Events per page.")] = 30,
    output: OutputOpt = None,
) -> None:
    """List the tasks an entry enqueued, newest first (the last 1000 are kept)."""
    events = SETTINGS.inspector().scheduler_history(entry, page=page, page_size=size)
    on_page = f" on page {page}" if page > 1 else ""
    emit(
        events,
        EVENT_COLUMNS,
        output,
        to_json=SchedulerEnqueueEvent.to_json,
        empty=f"no enqueue history for entry {entry!r}{on_page}",
    )


@command
def scheduler(
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="Schedule file: [[task]] tables in TOML."),
    ],
    check: Annotated[
        bool, typer.Option("--check", help="Only validate the file and list its entries.")
    ] = False,
    output: OutputOpt = None,
) -> None:
    """Enqueue the periodic tasks of a schedule file until SIGTERM or Ctrl-C.

    SIGHUP reloads the file: entries that did not change keep their next run, and an invalid
    file is logged and ignored. Several schedulers may run the same file; each tick is
    enqueued once. A file with errors is refused with its line and reason (exit 2).
    """
    if check:
        from qops.schedule_file import load_schedule

        now = datetime.now(UTC).timestamp()
        rows = [
            SchedulerEntry(e.id, e.spec, e.task.type, e.task.payload, list(e.options),
                           datetime.fromtimestamp(e.schedule.next_after(now), UTC), None)
            for e in load_schedule(config)
        ]  # fmt: skip
        emit(rows, ENTRY_COLUMNS, output, to_json=SchedulerEntry.to_json)
        SETTINGS.info(f"{config}: {_count(len(rows))}, no errors")
        return
    from qops.scheduler import Scheduler

    sched = Scheduler.from_file(config, SETTINGS.redis_url, profile=SETTINGS.profile)
    _log_to_stderr()
    SETTINGS.info(
        f"scheduler {sched.id}: {_count(len(sched.entries()))} from {config}; "
        "SIGHUP reloads the file, Ctrl-C stops"
    )
    sched.run()


def _count(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _log_to_stderr() -> None:
    import logging
    import sys

    from qops.worker.entry import LOG_FORMAT

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger("qops")
    root.handlers[:] = [handler]
    # Each enqueue and reload is worth a line; --quiet keeps warnings and errors.
    root.setLevel(logging.WARNING if SETTINGS.quiet else logging.INFO)
    root.propagate = False
