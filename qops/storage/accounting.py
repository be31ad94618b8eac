"""Asynq's processed and failed counters, and its limits on them and on the archive.

ack.lua and recover.lua take the counter keys and the limit arguments in the same order,
built here. The limits are storage facts, so anything that archives can use them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from qops.storage import keys
from qops.storage.calls import Arg

INT64_MAX = 9223372036854775807
"""Where the all-time counters wrap to 1, as in Asynq."""
STATS_TTL = 90 * 24 * 3600
"""Seconds a daily counter lives after its first increment."""
ARCHIVE_MAX_AGE = 90 * 24 * 3600
"""Seconds an archived task is kept (Asynq's 90 days, counted in UTC)."""
ARCHIVE_MAX_SIZE = 10_000
"""The archive is trimmed to the ranks below this one from the newest: 9 999 tasks."""


def counter_keys(queue: str, now: float) -> list[Arg]:
    """The UTC day's and the all-time processed and failed counters, then the task key prefix.

    The prefix lets the scripts delete the hashes of the tasks they trim off the archive.
    """
    day = datetime.fromtimestamp(now, UTC)
    return [
        keys.processed_day(queue, day),
        keys.failed_day(queue, day),
        keys.processed_total(queue),
        keys.failed_total(queue),
        keys.task_prefix(queue),
    ]


def limit_args(now: float) -> list[Arg]:
    """When a new daily counter expires, the wrap point, the archive's age cutoff and its cap."""
    whole = int(now)
    return [whole + STATS_TTL, INT64_MAX, whole - ARCHIVE_MAX_AGE, ARCHIVE_MAX_SIZE]
