"""Deleting a whole queue, leaving nothing of it behind.

Asynq's RemoveQueue leaves completed tasks, groups, aggregation sets, the pause flag,
counters and the unique locks of the deleted tasks in Redis; here every one of them goes.
"""

from __future__ import annotations

import time

from qops.errors import QueueNotEmptyError
from qops.inspection import reading, stats, writing
from qops.inspection.decoding import text, utc_day
from qops.inspection.reading import Source
from qops.models import TaskState
from qops.storage import keys
from qops.storage.broker import Broker
from qops.storage.calls import cmd, lua

_STAGED = "staged"


def held(broker: Broker, queue: str) -> dict[str, int]:
    """Tasks the queue still holds, by state, plus those staged in aggregation sets."""
    now = time.time()
    reply, sets = broker.run(
        [stats.stats_call(queue, utc_day(now)), cmd("ZCARD", keys.all_aggregation_sets(queue))]
    )
    info = stats.queue_info(queue, reply, now)
    counts = {s.value: int(getattr(info, s.value)) for s in TaskState}
    counts[_STAGED] = int(sets)
    return {name: n for name, n in counts.items() if n}


def describe(counts: dict[str, int]) -> str:
    """``counts`` in words: "6 pending, 1 completed tasks and 2 sets of tasks being aggregated"."""
    states = [f"{n} {name}" for name, n in counts.items() if name != _STAGED]
    parts = [", ".join(states) + " tasks"] if states else []
    if counts.get(_STAGED):
        parts.append(f"{counts[_STAGED]} sets of tasks being aggregated")
    return " and ".join(parts)


def delete_queue(broker: Broker, queue: str, *, force: bool) -> None:
    """See `Inspector.delete_queue`; the queue is known to exist."""
    paused_here = False
    try:
        # Tasks may arrive while the queue is emptied; the drop then refuses and the counts
        # are taken again.
        for _ in range(10):
            counts = held(broker, queue)
            if counts.get("active"):
                raise QueueNotEmptyError(
                    queue,
                    f"{counts['active']} of its tasks are active; cancel them or let them finish",
                )
            if not force and counts:
                raise QueueNotEmptyError(
                    queue, f"it holds {describe(counts)}; use force to delete them too"
                )
            if force:
                # Paused, no worker (qops or Go) takes a task while the rest is deleted.
                paused_here = paused_here or bool(
                    broker.call(cmd("SET", keys.paused(queue), int(time.time()), "NX"))
                )
                purge(broker, queue)
            if drop(broker, queue):
                paused_here = False
                broker.call(cmd("SREM", keys.ALL_QUEUES, queue))
                return
            if not force:
                raise QueueNotEmptyError(queue, "it holds tasks; use force to delete them too")
        raise QueueNotEmptyError(queue, "tasks kept arriving while it was emptied")
    finally:
        if paused_here:
            broker.call(cmd("DEL", keys.paused(queue)))


def purge(broker: Broker, queue: str) -> None:
    """Delete every task that is not active, in chunks, with the unique locks they hold."""
    for state in writing.FROM["delete"]:
        for src in reading.sources(broker, queue, state, None):
            writing.bulk(broker, "delete", src, b"")
    for set_key in broker.call(cmd("ZRANGE", keys.all_aggregation_sets(queue), 0, -1)):
        src = Source(queue, TaskState.AGGREGATING, text(set_key), False)
        writing.bulk(broker, "delete", src, b"")
    broker.call(cmd("DEL", keys.all_aggregation_sets(queue)))


def drop(broker: Broker, queue: str) -> bool:
    """Delete the queue's keys if it holds no task (checked atomically); False if it does."""
    q = queue
    names = [
        keys.pending(q),
        keys.active(q),
        keys.scheduled(q),
        keys.retry(q),
        keys.archived(q),
        keys.completed(q),
        keys.all_groups(q),
        keys.all_aggregation_sets(q),
        keys.lease(q),
        keys.paused(q),
        *stats.counter_keys(q, utc_day(time.time())),
    ]
    return int(broker.call(lua("inspect_drop_queue", names, [keys.group_prefix(q)]))) == 1
