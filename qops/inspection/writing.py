"""Changing tasks: one task at a time, or every task of a container in chunks.

Bulk actions run ``inspect_bulk.lua`` on at most `CHUNK` tasks per call and repeat it, so
Redis never blocks long even for a million tasks; the whole action is therefore not atomic,
but each chunk is. Archiving follows Asynq's rules (90 days, the newest 9 999 kept).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from qops.errors import TaskNotFoundError, TaskStateError
from qops.inspection.arguments import STATE_VALUES
from qops.inspection.decoding import text
from qops.inspection.reading import Source
from qops.models import TaskState
from qops.storage import keys
from qops.storage.broker import Broker
from qops.storage.calls import Call, lua

_S = TaskState
FROM = {
    "run": (_S.SCHEDULED, _S.RETRY, _S.ARCHIVED, _S.COMPLETED, _S.AGGREGATING),
    "archive": (_S.PENDING, _S.SCHEDULED, _S.RETRY, _S.COMPLETED, _S.AGGREGATING),
    "delete": (_S.PENDING, _S.SCHEDULED, _S.RETRY, _S.ARCHIVED, _S.COMPLETED, _S.AGGREGATING),
}
"""The states each action takes tasks from (the same rule as in ``inspect_task_op.lua``)."""
_WHY_NOT = {
    ("run", "active"): "it is running now",
    ("run", "pending"): "it is already pending",
    ("archive", "active"): "it is running now; cancel it first",
    ("archive", "archived"): "it is already archived",
    ("delete", "active"): "it is running now; cancel it first",
}

CHUNK = 1000
ARCHIVE_DAYS = 90
ARCHIVE_KEEP = 9999
"""Asynq trims its archive to the ranks after the 10 000th newest, which keeps 9 999."""


def archive_cutoff(now: float) -> int:
    """Now minus 90 calendar days, as Asynq computes it (``AddDate(0, 0, -90)``)."""
    day = datetime.fromtimestamp(now, UTC)
    return int((day - timedelta(days=ARCHIVE_DAYS)).timestamp())


def task_call(action: str, queue: str, task_id: str) -> Call:
    now = time.time()
    return lua(
        "inspect_task_op",
        [
            keys.task(queue, task_id),
            keys.pending(queue),
            keys.scheduled(queue),
            keys.retry(queue),
            keys.archived(queue),
            keys.completed(queue),
            keys.all_groups(queue),
        ],
        [
            action,
            task_id,
            keys.task_prefix(queue),
            keys.group_prefix(queue),
            int(now),
            time.time_ns(),
            archive_cutoff(now),
            ARCHIVE_KEEP,
            keys.wake_channel(queue),
        ],
    )


def task_reply(raw: list[Any], action: str, queue: str, task_id: str) -> None:
    """Raise what the reply of `task_call` reports, if anything."""
    code, state = int(raw[0]), text(raw[1])
    if code == 0:
        raise TaskNotFoundError(queue, task_id)
    if code < 0:
        if state in STATE_VALUES:
            why = _WHY_NOT.get((action, state), f"it is {state}")
        else:
            why = f"its stored state {state!r} is not a task state"
        raise TaskStateError(f"cannot {action} task {task_id!r} in queue {queue!r}: {why}")


def check_bulk(action: str, state: TaskState) -> None:
    if state not in FROM[action]:
        allowed = ", ".join(s.value for s in FROM[action])
        raise TaskStateError(f"cannot {action} {state.value} tasks: {action} takes {allowed} tasks")


def bulk(broker: Broker, action: str, src: Source, prefix: bytes, chunk: int = CHUNK) -> int:
    """Apply ``action`` to every task of ``src`` (of one type if ``prefix``); the count done.

    Tasks added while it runs may be left out: it stops once it has read as many positions
    as the container held at the start, so a busy producer cannot keep it going forever.
    """
    q = src.queue
    done = kept = seen = 0
    anchor = ""
    budget: int | None = None
    while True:
        now = time.time()
        raw = broker.call(
            lua(
                "inspect_bulk",
                [src.key, keys.pending(q), keys.archived(q), keys.all_groups(q)],
                [
                    action,
                    "list" if src.is_list else "zset",
                    keys.task_prefix(q),
                    kept,
                    anchor,
                    chunk,
                    prefix,
                    int(now),
                    time.time_ns(),
                    archive_cutoff(now),
                    ARCHIVE_KEEP,
                    src.group,
                    keys.wake_channel(q),
                ],
            )
        )
        changed, kept_now, read, last_kept, size = (
            int(raw[0]),
            int(raw[1]),
            int(raw[2]),
            text(raw[3]),
            int(raw[4]),
        )
        if budget is None:
            budget = size
        done += changed
        kept += kept_now
        seen += read
        anchor = last_kept or anchor
        if read < chunk or seen >= budget:
            return done
