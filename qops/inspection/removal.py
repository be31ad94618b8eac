"""Deleting a whole queue, leaving nothing of it behind.

Asynq's RemoveQueue leaves completed tasks, groups, aggregation sets, the pause flag,
counters and the unique locks of the deleted tasks in Redis; here every one of them goes.
"""

from __future__ import annotations

import time

from qops.inspection import reading, stats, writing
from qops.inspection.decoding import text, utc_day
from qops.inspection.reading import Source
from qops.models import TaskState
from qops.storage import keys
from qops.storage.broker import Broker
from qops.storage.calls import cmd, lua


def held(broker: Broker, queue: str) -> dict[str, int]:
    """What the queue still holds, by state (plus aggregation sets); empty when nothing."""
    now = time.time()
    reply, sets = broker.run(
        [stats.stats_call(queue, utc_day(now)), cmd("ZCARD", keys.all_aggregation_sets(queue))]
    )
    info = stats.queue_info(queue, reply, now)
    counts = {s.value: int(getattr(info, s.value)) for s in TaskState}
    counts["in aggregation sets"] = int(sets)
    return {name: n for name, n in counts.items() if n}


def describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items()) + " tasks"


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
