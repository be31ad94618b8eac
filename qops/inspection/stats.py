"""Queue statistics: the per-queue stats script call and its reply as a `QueueInfo`."""

from __future__ import annotations

from datetime import datetime, timedelta
from math import isfinite
from typing import Any

from qops.inspection.decoding import moment, number, text
from qops.models import DailyStats, QueueInfo
from qops.storage import keys
from qops.storage.calls import Call, lua

# Past this many groups the aggregating count is extrapolated from a random sample of this
# many, so the overview never costs O(groups) (Asynq's GetQueueInfo does, issue #1160).
GROUPS_COUNTED = 500
# Asynq's memoryUsage sampling: 20 task hashes per container, tasks of 5 groups.
MEMORY_SAMPLE = 20
MEMORY_GROUPS = 5


def stats_call(queue: str, day: datetime) -> Call:
    return lua(
        "inspect_stats",
        [
            keys.pending(queue),
            keys.active(queue),
            keys.scheduled(queue),
            keys.retry(queue),
            keys.archived(queue),
            keys.completed(queue),
            keys.processed_day(queue, day),
            keys.failed_day(queue, day),
            keys.processed_total(queue),
            keys.failed_total(queue),
            keys.paused(queue),
            keys.all_groups(queue),
        ],
        [
            keys.task_prefix(queue),
            keys.group_prefix(queue),
            GROUPS_COUNTED,
            MEMORY_SAMPLE,
            MEMORY_GROUPS,
        ],
    )


def counter(value: Any) -> int:
    """A stored counter; anything that is not a whole number reads as 0."""
    try:
        return max(0, int(text(value) or 0))
    except ValueError:
        return 0


def queue_info(queue: str, reply: list[Any], now: float) -> QueueInfo:
    (pending, active, scheduled, retry, archived, completed) = (int(n) for n in reply[:6])
    aggregating = int(reply[13])
    since_ns = number(text(reply[11]) or None)
    latency = 0.0
    if pending and since_ns is not None and since_ns > 0:
        latency = max(0.0, now - since_ns / 1e9)
    stamp = moment(now)
    assert stamp is not None
    return QueueInfo(
        queue=queue,
        size=pending + active + scheduled + retry + archived + completed + aggregating,
        pending=pending,
        active=active,
        scheduled=scheduled,
        retry=retry,
        archived=archived,
        completed=completed,
        aggregating=aggregating,
        groups=int(reply[12]),
        processed=counter(reply[6]),
        failed=counter(reply[7]),
        processed_total=counter(reply[8]),
        failed_total=counter(reply[9]),
        paused=bool(reply[10]),
        latency=latency,
        memory_usage=int(reply[14]),
        timestamp=stamp,
        overdue=overdue(reply[15:17], now),
    )


def overdue(scores: list[Any], now: float) -> float:
    """Seconds the earliest of the due-time ``scores`` is past ``now``; 0 when none is due."""
    due = [n for n in (number(text(s) or None) for s in scores) if n is not None and isfinite(n)]
    return max(0.0, now - min(due)) if due else 0.0


def history_keys(queue: str, today: datetime, days: int) -> tuple[list[datetime], list[str]]:
    """The UTC days from today back, and their processed/failed keys, interleaved."""
    dates = [today - timedelta(days=i) for i in range(days)]
    names: list[str] = []
    for d in dates:
        names += [keys.processed_day(queue, d), keys.failed_day(queue, d)]
    return dates, names


def history(queue: str, dates: list[datetime], values: list[Any]) -> list[DailyStats]:
    return [
        DailyStats(
            queue=queue,
            date=f"{d:%Y-%m-%d}",
            processed=counter(values[2 * i]),
            failed=counter(values[2 * i + 1]),
        )
        for i, d in enumerate(dates)
    ]


def counter_keys(queue: str, today: datetime) -> list[str]:
    """Every key a queue's counters may live in: totals and the daily keys still alive.

    Daily keys expire 90 days after their first increment; a few days either side cover
    clock skew between the writers and this machine.
    """
    days = [today + timedelta(days=i) for i in range(-93, 3)]
    names = [keys.processed_total(queue), keys.failed_total(queue)]
    for d in days:
        names += [keys.processed_day(queue, d), keys.failed_day(queue, d)]
    return names
