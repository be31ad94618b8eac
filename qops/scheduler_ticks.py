"""The scheduler's bookkeeping, without I/O: which ticks are due, and what became of them."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from qops.enqueue_plan import PreparedTask
from qops.errors import InvalidTaskError
from qops.models import SchedulerEntry
from qops.periodic import Entry

log = logging.getLogger("qops.scheduler")

# The cron_enqueue script's replies.
OUTCOMES = {1: "enqueued", 2: "claimed", -1: "duplicate", 0: "conflict"}


@dataclass(frozen=True, slots=True)
class Firing:
    """What became of one tick of one entry in `qops.Scheduler.run_due`."""

    entry_id: str
    tick: datetime
    outcome: str
    """``enqueued``; ``claimed`` (another scheduler enqueued it); ``duplicate`` (the unique
    lock was held); ``conflict`` (the task id was taken); ``missed`` (older than the
    grace); ``failed`` (see the log)."""
    task_id: str = ""


class EntryState:
    """An entry with its next and previous tick in one scheduler."""

    __slots__ = ("entry", "next", "prev", "retry_at")

    def __init__(self, entry: Entry, next_tick: float) -> None:
        self.entry = entry
        self.next = next_tick
        self.prev: float | None = None
        self.retry_at = 0.0

    def model(self) -> SchedulerEntry:
        e = self.entry
        return SchedulerEntry(
            id=e.id,
            spec=e.spec,
            task_type=e.task.type,
            task_payload=e.task.payload,
            options=list(e.options),
            next_enqueue_at=utc(self.next) if math.isfinite(self.next) else None,
            prev_enqueue_at=None if self.prev is None else utc(self.prev),
        )


Planned = tuple[EntryState, float, PreparedTask]


def due(
    states: Sequence[EntryState], now: float, grace: float
) -> tuple[list[Planned], list[Firing]]:
    """The ticks to enqueue at ``now``, with the tasks for them; and those given up.

    Every tick not older than ``grace`` is planned, so a late scheduler catches up; older
    ones are missed. A tick whose task cannot be built (its deadline passed) fails.
    """
    plan: list[Planned] = []
    given_up: list[Firing] = []
    for st in states:
        if st.retry_at > now:
            continue
        schedule, tick = st.entry.schedule, st.next
        while tick <= now:
            if now - tick > grace:
                given_up.append(Firing(st.entry.id, utc(tick), "missed"))
                log.warning(
                    "entry %s: tick %s missed (older than %ss)", st.entry.id, iso(tick), grace
                )
                tick = st.next = schedule.next_after(now - grace)
                continue
            try:
                plan.append((st, tick, PreparedTask(st.entry.task_for(tick), now)))
            except InvalidTaskError as exc:
                given_up.append(Firing(st.entry.id, utc(tick), "failed"))
                log.error("entry %s: tick %s not enqueued: %s", st.entry.id, iso(tick), exc)
                st.next = schedule.next_after(tick)
            tick = schedule.next_after(tick)
    return plan, given_up


def settle(
    plan: Sequence[Planned], replies: Sequence[Any]
) -> tuple[list[Firing], list[tuple[str, str]]]:
    """Move each planned entry past its tick, given the replies of the claim-and-enqueue calls.

    Returns the firings and, for each task enqueued, its entry id and task id.
    """
    fired: list[Firing] = []
    enqueued: list[tuple[str, str]] = []
    for (st, tick, p), reply in zip(plan, replies, strict=True):
        outcome = OUTCOMES.get(reply, "failed") if isinstance(reply, int) else "failed"
        fired.append(Firing(st.entry.id, utc(tick), outcome, p.id))
        st.next = max(st.next, st.entry.schedule.next_after(tick))
        st.prev = tick if st.prev is None else max(st.prev, tick)
        if outcome == "enqueued":
            log.info("entry %s: enqueued %s for %s as %s in %s",
                     st.entry.id, p.task.type, iso(tick), p.id, p.task.queue)  # fmt: skip
            enqueued.append((st.entry.id, p.id))
        elif outcome == "failed":
            log.error("entry %s: tick %s not enqueued: %s", st.entry.id, iso(tick), reply)
        else:
            log.debug("entry %s: tick %s %s", st.entry.id, iso(tick), outcome)
    return fired, enqueued


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def iso(t: float) -> str:
    return utc(t).isoformat().replace("+00:00", "Z")
