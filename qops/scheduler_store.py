"""The Redis calls of the `Scheduler`: tick claims, enqueue history and published entries.

Only call values are built here (the scheduler runs them through its broker), in Asynq's
layout for entries and history, plus qops's per-tick claim keys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from qops.enqueue_plan import PreparedTask
from qops.periodic import Entry
from qops.storage import keys, wire
from qops.storage.calls import Call, cmd, lua

HISTORY_SIZE = 1000
"""Enqueue events kept per entry, as in Asynq."""


def claim_and_enqueue(
    entry: Entry, tick: float, p: PreparedTask, now: float, claim_ttl: int, scheduler_id: str
) -> Call:
    """Claim ``tick`` of ``entry`` and enqueue ``p`` in one script (replies: see the script)."""
    q, group = p.task.queue, p.task.group
    k = [keys.cron_claim(q, entry.id, int(tick)), keys.task(q, p.id)]
    k += [keys.group(q, group), keys.all_groups(q)] if group else [keys.pending(q)]
    if p.unique_key:
        k.append(p.unique_key)
    argv: list[str | bytes | int] = [
        p.id, p.msg, int(now * 1e9), int(now), keys.wake_channel(q), group or "",
        p.unique_ttl if p.unique_key else 0, claim_ttl, scheduler_id,
    ]  # fmt: skip
    return lua("cron_enqueue", k, argv)


def record_event(entry_id: str, task_id: str, now: float) -> Call:
    """Add one `SchedulerEnqueueEvent` to the entry's history, capped at `HISTORY_SIZE`."""
    event = wire.SchedulerEnqueueEventMessage(task_id=task_id)
    wire.set_time(event.enqueue_time, now)
    return lua(
        "record_scheduler_event",
        [keys.scheduler_history(entry_id)],
        [math.floor(now), wire.encode(event), HISTORY_SIZE],
    )


def publish_entries(
    scheduler_id: str,
    rows: Sequence[tuple[Entry, float, float | None]],
    now: float,
    ttl: int,
) -> list[Call]:
    """Write the scheduler's entries (entry, next tick, previous tick) for ``ttl`` seconds."""
    key = keys.scheduler_entries(scheduler_id)
    msgs = [wire.encode(entry_message(*row)) for row in reversed(rows)]
    return [
        cmd("ZADD", keys.ALL_SCHEDULERS, int(now) + ttl, key),
        lua("write_scheduler_entries", [key], [ttl, *msgs]),
    ]


def clear_entries(scheduler_id: str) -> list[Call]:
    key = keys.scheduler_entries(scheduler_id)
    return [cmd("ZREM", keys.ALL_SCHEDULERS, key), cmd("DEL", key)]


def entry_message(entry: Entry, next_tick: float, prev_tick: float | None) -> Any:
    """The `SchedulerEntry` protobuf; a tick that never was is Go's zero time."""
    msg = wire.SchedulerEntryMessage(
        id=entry.id,
        spec=entry.spec,
        task_type=entry.task.type,
        task_payload=entry.task.payload,
        enqueue_options=list(entry.options),
    )
    for field, t in ((msg.next_enqueue_time, next_tick), (msg.prev_enqueue_time, prev_tick)):
        never = t is None or not math.isfinite(t)
        wire.set_time(field, wire.GO_ZERO_TIME_SECONDS if never else int(t or 0))
    return msg
