"""The changes an operator can make from the dashboard, described before they are made.

A `Change` names what will happen and to how many tasks (the confirmation dialog shows it),
and applies itself to a `DataSource`. Which change is allowed in which task state lives
here too, so the key bindings and the dialogs agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from qops.models import TaskInfo, TaskState
from qops.tui.source import DataSource

S = TaskState


class Kind(StrEnum):
    RUN = "run"
    ARCHIVE = "archive"
    DELETE = "delete"
    CANCEL = "cancel"


# Task states each kind of change accepts, for one task and for a whole state.
ONE: dict[Kind, frozenset[TaskState]] = {
    Kind.RUN: frozenset({S.SCHEDULED, S.RETRY, S.ARCHIVED, S.COMPLETED, S.AGGREGATING}),
    Kind.ARCHIVE: frozenset({S.PENDING, S.SCHEDULED, S.RETRY, S.AGGREGATING}),
    Kind.DELETE: frozenset(set(S) - {S.ACTIVE}),
    Kind.CANCEL: frozenset({S.ACTIVE}),
}
ALL: dict[Kind, frozenset[TaskState]] = {
    Kind.RUN: frozenset({S.SCHEDULED, S.RETRY, S.ARCHIVED, S.AGGREGATING}),
    Kind.ARCHIVE: frozenset({S.PENDING, S.SCHEDULED, S.RETRY, S.AGGREGATING}),
    Kind.DELETE: frozenset(set(S) - {S.ACTIVE}),
}
# What "run" means to the operator: failed tasks are retried, the others run now.
RETRIED = frozenset({S.RETRY, S.ARCHIVED})
DESTRUCTIVE = frozenset({Kind.ARCHIVE, Kind.DELETE, Kind.CANCEL})


def verb(kind: Kind, state: TaskState) -> str:
    """The button label: ``Run now``, ``Retry now`` (retry), ``Retry`` (archived), ``Delete``."""
    if kind is Kind.RUN:
        if state is S.ARCHIVED:
            return "Retry"
        return "Retry now" if state is S.RETRY else "Run now"
    return kind.value.capitalize()


def tasks(n: int, state: TaskState) -> str:
    """``1 archived task``, ``45 archived tasks``, ``2 tasks awaiting retry``."""
    noun = "task" if n == 1 else "tasks"
    if state is S.RETRY:
        return f"{n:,} {noun} awaiting retry"
    return f"{n:,} {state.value} {noun}"


def _this(state: TaskState) -> str:
    return "this task awaiting retry" if state is S.RETRY else f"this {state.value} task"


def question(kind: Kind, state: TaskState, what: str) -> str:
    """``Retry 3 archived tasks?``, ``Run this scheduled task now?``: the verb fits the state."""
    if kind is Kind.RUN:
        if state is S.ARCHIVED:
            return f"Retry {what}?"
        return f"Retry {what} now?" if state is S.RETRY else f"Run {what} now?"
    return f"{kind.value.capitalize()} {what}?"


@dataclass(frozen=True, slots=True)
class Change:
    """One confirmed-before-applied change.

    Attributes:
        title: the question, e.g. ``Delete 45 archived tasks in 'default'?``.
        detail: what changes, where, and whether it can be undone.
        action: the label of the confirming button.
        destructive: when true the dialog focuses "No".
        apply: makes the change; returns the message to show afterwards.
        typed: when set, the operator confirms by typing it (bulk changes type the count).
    """

    title: str
    detail: str
    action: str
    destructive: bool
    apply: Callable[[DataSource], str]
    typed: str = ""


_OUTCOME = {
    Kind.RUN: "moved to pending",
    Kind.ARCHIVE: "archived",
    Kind.DELETE: "deleted",
    Kind.CANCEL: "asked to cancel",
}
_EFFECT = {
    Kind.RUN: "moves to pending and runs as soon as a worker is free.",
    Kind.ARCHIVE: "moves to archived; it can be retried from there.",
    Kind.DELETE: "is deleted from Redis. This cannot be undone.",
    Kind.CANCEL: "gets a cancel signal; its worker stops it and it may be retried.",
}


def for_task(kind: Kind, task: TaskInfo) -> Change:
    """A change to one task (``kind`` must accept ``task.state``)."""
    label = verb(kind, task.state)

    def apply(source: DataSource) -> str:
        if kind is Kind.CANCEL:
            source.cancel_task(task.id)
        else:
            {
                Kind.RUN: source.run_task,
                Kind.ARCHIVE: source.archive_task,
                Kind.DELETE: source.delete_task,
            }[kind](task.queue, task.id)
        return f"Task {task.id} {_OUTCOME[kind]}."

    return Change(
        title=question(kind, task.state, _this(task.state)),
        detail=f"Task {task.id} ({task.type}) in queue {task.queue!r} {_EFFECT[kind]}",
        action=label,
        destructive=kind in DESTRUCTIVE,
        apply=apply,
    )


def for_state(
    kind: Kind, queue: str, state: TaskState, count: int, task_type: str | None = None
) -> Change:
    """A change to every task of ``state`` in ``queue`` (of ``task_type`` when given).

    It touches many tasks at once, so it is confirmed by typing ``count``, as the title says.
    """
    label = verb(kind, state)
    which = f" of type {task_type!r}" if task_type else ""

    def apply(source: DataSource) -> str:
        fn = {
            Kind.RUN: source.run_all,
            Kind.ARCHIVE: source.archive_all,
            Kind.DELETE: source.delete_all,
        }[kind]
        done = fn(queue, state, task_type=task_type)
        return f"{tasks(done, state)}{which} in {queue!r} {_OUTCOME[kind]}."

    every = "Every task awaiting retry" if state is S.RETRY else f"Every {state.value} task"
    return Change(
        title=question(kind, state, f"{tasks(count, state)}{which} in {queue!r}"),
        detail=f"{every}{which} in queue {queue!r} ({count:,}) {_EFFECT[kind]}",
        action=f"{label} {count:,}",
        destructive=kind in DESTRUCTIVE,
        apply=apply,
        typed=str(count),
    )


def nothing_to_do(queue: str, state: TaskState, task_type: str | None = None) -> str:
    """What a bulk change says when a fresh count finds no task to change."""
    which = f" of type {task_type!r}" if task_type else ""
    return f"No {tasks(0, state).removeprefix('0 ')}{which} in {queue!r} now: nothing to do."


def _paused(source: DataSource, queue: str, paused: bool) -> str:
    if paused:
        source.pause(queue)
        return f"Queue {queue!r} paused."
    source.unpause(queue)
    return f"Queue {queue!r} resumed."


def for_queue_pause(queue: str, paused: bool) -> Change:
    """Pause ``queue`` (when it runs) or resume it (when ``paused``)."""
    if paused:
        return Change(
            title=f"Resume queue {queue!r}?",
            detail=f"Workers start taking tasks from {queue!r} again.",
            action="Resume",
            destructive=False,
            apply=lambda source: _paused(source, queue, False),
        )
    return Change(
        title=f"Pause queue {queue!r}?",
        detail=(
            f"Workers stop taking new tasks from {queue!r}; running tasks finish and "
            "producers can still enqueue. Resume with the same key."
        ),
        action="Pause",
        destructive=False,
        apply=lambda source: _paused(source, queue, True),
    )
