"""``qops task``: list, show, run, archive, delete and cancel tasks, one by one or in bulk."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from qops.cli.common import (
    EXIT_CONFIRM,
    EXIT_FAILED,
    SETTINGS,
    command,
    fail,
    stdin_is_terminal,
    stdout_is_terminal,
)
from qops.cli.each import run_each
from qops.cli.output import (
    Column,
    OutputOpt,
    ago,
    bytes_preview,
    bytes_text,
    duration,
    emit,
    emit_record,
    iso,
    since,
)
from qops.cli.params import (
    DryRunOpt,
    GroupOpt,
    MaybeQueueOpt,
    QueueOpt,
    StateOpt,
    TaskIdArgs,
    TypeOpt,
    YesOpt,
)
from qops.models import TaskInfo, TaskState
from qops.wording import plural

if TYPE_CHECKING:
    from qops.inspector import Inspector

task_app = typer.Typer(
    help="List, show, run, archive, delete and cancel tasks.", no_args_is_help=True
)


def _when(t_attr: str, header: str, *, wide: bool = False) -> Column[TaskInfo]:
    return Column(
        header,
        lambda t: since(getattr(t, t_attr)),
        plain=lambda t: iso(getattr(t, t_attr)),
        wide=wide,
    )


ID = Column[TaskInfo]("ID", lambda t: t.id, keep=True)
TYPE = Column[TaskInfo]("TYPE", lambda t: t.type)
PAYLOAD = Column[TaskInfo](
    "PAYLOAD",
    lambda t: bytes_preview(t.payload),
    plain=lambda t: bytes_text(t.payload),
    max_width=40,
)
WIDE_PAYLOAD = dataclasses.replace(PAYLOAD, wide=True)
RETRIED = Column[TaskInfo]("RETRIED", lambda t: f"{t.retried}/{t.max_retry}", justify="right")
WIDE_RETRIED = dataclasses.replace(RETRIED, wide=True)
ERROR = Column[TaskInfo]("LAST ERROR", lambda t: t.last_error, max_width=40)
GROUP = Column[TaskInfo]("GROUP", lambda t: t.group)
ORPHANED = Column[TaskInfo]("ORPHANED", lambda t: "yes" if t.is_orphaned else "")
RESULT = Column[TaskInfo](
    "RESULT",
    lambda t: bytes_preview(t.result),
    plain=lambda t: bytes_text(t.result),
    max_width=30,
    wide=True,
)

# The wide columns are left out when the table would not fit the terminal, so ids stay whole.
COLUMNS: dict[TaskState, list[Column[TaskInfo]]] = {
    TaskState.ACTIVE: [ID, TYPE, ORPHANED, PAYLOAD],
    TaskState.PENDING: [ID, TYPE, PAYLOAD],
    TaskState.AGGREGATING: [ID, TYPE, GROUP, PAYLOAD],
    TaskState.SCHEDULED: [ID, TYPE, _when("next_process_at", "RUNS"), PAYLOAD],
    TaskState.RETRY: [
        ID, TYPE, _when("next_process_at", "NEXT RETRY"), RETRIED, ERROR,
        _when("last_failed_at", "LAST FAILED", wide=True), WIDE_PAYLOAD,
    ],
    TaskState.ARCHIVED: [
        ID, TYPE, _when("last_failed_at", "LAST FAILED"), ERROR, WIDE_RETRIED, WIDE_PAYLOAD,
    ],
    TaskState.COMPLETED: [ID, TYPE, _when("completed_at", "COMPLETED"), PAYLOAD, RESULT],
}  # fmt: skip


@task_app.command("ls")
@command
def ls_cmd(
    queue: QueueOpt,
    state: StateOpt,
    task_type: TypeOpt = None,
    group: GroupOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Tasks per page.")] = 30,
    page: Annotated[int, typer.Option("--page", min=1, help="Page number, from 1.")] = 1,
    output: OutputOpt = None,
) -> None:
    """List one page of the tasks of a queue in a state.

    Example: `qops task ls -q default -s retry --type email:send --limit 50 --page 2`.
    """
    on_page = f" on page {page}" if page > 1 else ""
    tasks = SETTINGS.inspector().list_tasks(
        queue, state, page=page, page_size=limit, group=group, task_type=task_type
    )
    emit(
        tasks,
        COLUMNS[state],
        output,
        to_json=TaskInfo.to_json,
        empty=f"no {state.value} tasks in queue {queue!r}{on_page}",
    )


def payload_text(data: bytes | None, pretty: bool) -> str:
    """Payload or result: for people indented JSON, text, or base64 for binary bytes; for
    scripts the text, or ``base64:...`` as in every plain listing."""
    if not pretty:
        return bytes_text(data)
    if data is None:
        return "-"
    text = bytes_text(data)
    if text.startswith("base64:"):
        return f"{len(data)} bytes, base64: {text[7:]}"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def task_pairs(t: TaskInfo, pretty: bool) -> list[tuple[str, str]]:
    """Key/value lines; ``pretty`` humanizes them, otherwise times are ISO 8601, durations
    seconds, and unset values empty."""
    unset = "-" if pretty else ""

    def when(moment: datetime | None) -> str:
        if moment is None:
            return unset
        return f"{iso(moment)} ({ago(moment)})" if pretty else iso(moment)

    def seconds(n: int) -> str:
        if not n:
            return unset
        return duration(n) if pretty else str(n)

    state = t.state.value
    if t.is_orphaned and pretty:
        state += " (orphaned: its worker is gone)"
    pairs = [
        ("id", t.id),
        ("queue", t.queue),
        ("type", t.type),
        ("state", state),
        ("retried", str(t.retried)),
        ("max retry", str(t.max_retry)),
        ("last error", t.last_error or unset),
        ("last failed", when(t.last_failed_at)),
        ("next run", when(t.next_process_at)),
        ("timeout", seconds(t.timeout)),
        ("deadline", when(t.deadline)),
        ("group", t.group or unset),
        ("unique key", t.unique_key or unset),
        ("retention", seconds(t.retention)),
        ("completed", when(t.completed_at)),
        ("headers", ", ".join(f"{k}={v}" for k, v in t.headers.items()) or unset),
        ("payload", payload_text(t.payload, pretty)),
        ("result", payload_text(t.result, pretty)),
    ]
    if t.is_orphaned and not pretty:
        pairs.insert(4, ("orphaned", "yes"))
    if t.corrupt:
        pairs.append(("corrupt", t.corrupt))
    return pairs


@task_app.command("show")
@command
def show_cmd(task_id: Annotated[str, typer.Argument(metavar="ID")], queue: QueueOpt) -> None:
    """Show one task: payload, state, retries, last error, times and result."""
    info = SETTINGS.inspector().get_task(queue, task_id)
    emit_record(task_pairs(info, stdout_is_terminal()), info.to_json(), None)


task_app.command("inspect", help="Same as show.")(show_cmd)


@task_app.command("run")
@command
def run_cmd(task_ids: TaskIdArgs, queue: QueueOpt) -> None:
    """Move scheduled, retry, archived, completed or aggregating tasks to pending now."""
    insp = SETTINGS.inspector()
    run_each(task_ids, lambda i: insp.run_task(queue, i), lambda i: f"task {i} is pending")


@task_app.command("archive")
@command
def archive_cmd(task_ids: TaskIdArgs, queue: QueueOpt) -> None:
    """Archive pending, scheduled, retry or aggregating tasks."""
    insp = SETTINGS.inspector()
    run_each(task_ids, lambda i: insp.archive_task(queue, i), lambda i: f"archived task {i}")


@task_app.command("delete")
@command
def delete_cmd(task_ids: TaskIdArgs, queue: QueueOpt) -> None:
    """Delete tasks (not active ones: cancel those)."""
    insp = SETTINGS.inspector()
    run_each(task_ids, lambda i: insp.delete_task(queue, i), lambda i: f"deleted task {i}")


@task_app.command("cancel")
@command
def cancel_cmd(task_ids: TaskIdArgs, queue: MaybeQueueOpt = None) -> None:
    """Ask the workers running these active tasks to cancel them.

    With -q, each task must exist in that queue (exit 3 otherwise).
    """
    insp = SETTINGS.inspector()

    def cancel(task_id: str) -> None:
        if queue is not None:
            insp.get_task(queue, task_id)
        insp.cancel_task(task_id)

    run_each(task_ids, cancel, lambda i: f"asked the workers to cancel task {i}")


# -- bulk ---------------------------------------------------------------------------------


def count_matching(
    insp: Inspector, queue: str, state: TaskState, task_type: str | None, group: str | None
) -> int:
    if group is None:
        return insp.count_tasks(queue, state, task_type=task_type)
    if state is TaskState.AGGREGATING and task_type is None:
        return next((g.size for g in insp.groups(queue) if g.group == group), 0)
    return sum(1 for t in insp.iter_tasks(queue, state, task_type=task_type) if t.group == group)


def _bulk(
    verb: str,
    past: str,
    queue: str,
    state: TaskState,
    task_type: str | None,
    group: str | None,
    yes: bool,
    dry_run: bool,
) -> None:
    insp = SETTINGS.inspector()
    if queue not in insp.queues():
        from qops.errors import QueueNotFoundError

        raise QueueNotFoundError(queue)
    where = f" in queue {queue!r}"
    if task_type:
        where += f" of type {task_type!r}"
    if group:
        where += f" in group {group!r}"

    def what(n: int) -> str:
        return plural(n, f"{state.value} task") + where

    count = count_matching(insp, queue, state, task_type, group)
    doc: dict[str, object] = {
        "queue": queue,
        "state": state.value,
        "action": verb,
        "dry_run": dry_run,
    }
    if dry_run or count == 0:
        SETTINGS.info(f"{'would ' + verb if dry_run else 'nothing to ' + verb}: {what(count)}")
        _print_count(doc, count)
        return
    if not yes:
        if not stdin_is_terminal():
            raise fail(
                f"{verb} {what(count)}: confirmation needed; not on a terminal, so pass --yes",
                EXIT_CONFIRM,
            )
        if not typer.confirm(f"{verb.capitalize()} {what(count)}?", default=False, err=True):
            raise fail("cancelled; nothing changed", EXIT_FAILED)
    action = {"run": insp.run_all, "archive": insp.archive_all, "delete": insp.delete_all}[verb]
    changed = action(queue, state, task_type=task_type, group=group)
    SETTINGS.info(f"{past} {what(changed)}")
    _print_count(doc, changed)


def _print_count(doc: dict[str, object], count: int) -> None:
    if SETTINGS.json:
        SETTINGS.emit_json({**doc, "count": count})
    else:
        typer.echo(count)


@task_app.command("run-all")
@command
def run_all_cmd(
    queue: QueueOpt,
    state: StateOpt,
    task_type: TypeOpt = None,
    group: GroupOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Move every scheduled, retry, archived or aggregating task of a queue to pending.

    Prints the number of tasks changed. Asks first on a terminal; elsewhere needs --yes
    (exit 5 without it).
    """
    _bulk("run", "moved to pending:", queue, state, task_type, group, yes, dry_run)


@task_app.command("archive-all")
@command
def archive_all_cmd(
    queue: QueueOpt,
    state: StateOpt,
    task_type: TypeOpt = None,
    group: GroupOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Archive every pending, scheduled, retry or aggregating task of a queue.

    Prints the number of tasks changed. Asks first on a terminal; elsewhere needs --yes
    (exit 5 without it).
    """
    _bulk("archive", "archived", queue, state, task_type, group, yes, dry_run)


@task_app.command("delete-all")
@command
def delete_all_cmd(
    queue: QueueOpt,
    state: StateOpt,
    task_type: TypeOpt = None,
    group: GroupOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Delete every task of a queue in a state (not active).

    Prints the number of tasks deleted. Asks first on a terminal; elsewhere needs --yes
    (exit 5 without it).
    """
    _bulk("delete", "deleted", queue, state, task_type, group, yes, dry_run)
