"""`Recoverer`: takes back the tasks of workers that died, and stale aggregation sets.

A running task is owned through its lease: the worker running it renews the lease (score in
``asynq:{q}:lease``, 30 s ahead) every few seconds. A lease left behind in the past means the
worker crashed or lost Redis, and the task would otherwise stay active forever.

Crash-recovery timing with the defaults (lease 30 s renewed every 5 s, ``interval`` 5 s,
``skew`` 5 s, ``delay`` 0): the last renewal before a crash happened at most 5 s earlier, so
the lease ends 25–30 s after the crash; the task is due ``skew`` later and the next pass, at
most ``interval`` after that, puts it back at the head of its queue and wakes idle workers,
which start it at once. A killed worker's tasks run again 30–40 s after the crash, 40 s in the
worst case (Asynq sends them to retry after up to about 2 minutes, and they then wait out the
retry backoff). Worst case in general: lease + skew + interval + delay.

``skew`` is the clock difference tolerated between hosts: with leases renewed every 5 s a live
lease is always at least 25 s ahead of its owner's clock, so another host's clock may run up to
``25 + skew`` seconds ahead before it could take a task that is still running.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from typing import Any, TypeAlias

from qops.errors import CorruptTaskError, LeaseExpiredError
from qops.storage import keys, wire
from qops.storage.accounting import counter_keys, limit_args
from qops.storage.broker import AsyncBroker
from qops.storage.calls import Call, lua
from qops.task import Duration, Task
from qops.wording import plural
from qops.worker.backoff import RetryDelay
from qops.worker.observer import WorkerObserver
from qops.worker.options import count, duration
from qops.worker.periodic import Clock, Periodic

DEFAULT_INTERVAL = 5.0
DEFAULT_SKEW = 5.0
DEFAULT_DELAY = 0.0
BATCH = 100

RecoverDelay: TypeAlias = "Duration | RetryDelay"
"""Seconds (or a timedelta) before a recovered task runs again, or a function
``(retried, LeaseExpiredError, task) -> seconds``; 0 makes it pending at once."""

# Replies of recover.lua (0: nothing done).
_RETRY, _ARCHIVED, _PENDING, _STALE = 1, 2, 3, -1
_RECOVERED = {_RETRY: "retry", _ARCHIVED: "archived", _PENDING: "pending"}


@dataclasses.dataclass
class Recovery:
    """What one recoverer pass did, summed over the served queues."""

    retried: int = 0
    """Tasks put into retry (a recovery delay above 0)."""
    pending: int = 0
    """Tasks made pending at once (recovery delay 0, the default)."""
    archived: int = 0
    """Tasks archived because their retries were used up."""
    stale: int = 0
    """Lease entries removed that pointed at no active task."""
    reclaimed_sets: int = 0
    """Aggregation sets past their deadline whose tasks went back into their group."""

    @property
    def recovered(self) -> int:
        return self.retried + self.pending + self.archived


class Recoverer(Periodic):
    """Makes active tasks whose lease expired pending again, or archives them when out of retries.

    Such a task counts as failed: its retry count grows, its error becomes "task lease
    expired", and the processed and failed counters move as for any failure, so a task that
    keeps killing its worker is archived once its retries are used up. By default it goes
    straight back to the head of pending (and idle workers are woken); with a ``delay`` it
    waits in retry instead. Each task is handled by one atomic script that first checks the lease is
    still expired, so a lease renewed in the meantime is left alone. Lease entries without an
    active task behind them are removed. Each pass also returns the tasks of aggregation sets
    whose 2-minute deadline passed to their groups.

    Args:
        broker: Redis access.
        queues: The queues to serve.
        interval: Seconds between passes.
        skew: Seconds a lease must be past before it counts as expired; the clock
            difference tolerated between hosts.
        delay: Seconds before a recovered task runs again, or a function
            ``(retried, LeaseExpiredError, task) -> seconds`` (such as
            `qops.worker.backoff.default_retry_delay`, Asynq's behaviour). 0, the default,
            makes the task pending at once; above 0 it waits in retry.
        batch_size: Expired leases read per script call; calls repeat until none are left.
        clock: Unix time source.
        observer: Told how many tasks each pass recovered, per queue and outcome.
    """

    name = "recoverer"

    def __init__(
        self,
        broker: AsyncBroker,
        queues: Sequence[str],
        *,
        interval: Duration = DEFAULT_INTERVAL,
        skew: Duration = DEFAULT_SKEW,
        delay: RecoverDelay = DEFAULT_DELAY,
        batch_size: int = BATCH,
        clock: Clock = time.time,
        observer: WorkerObserver | None = None,
    ) -> None:
        super().__init__(broker, queues, interval=interval, clock=clock)
        self.skew = duration(skew, "recoverer skew")
        self.delay: RetryDelay | float = (
            delay if callable(delay) else duration(delay, "recovery delay")
        )
        self.batch_size = count(batch_size, "recoverer batch size", minimum=1)
        self.observer = observer

    async def run_once(self) -> Recovery:
        """Recover every task of the served queues whose lease expired by now.

        Returns:
            What was done, summed over the queues.
        """
        now = self.clock()
        cutoff = now - self.skew
        found = {q: Recovery() for q in self.queues}
        reclaimed = await self.broker.run(
            [
                lua(
                    "reclaim_aggregation_sets",
                    [keys.all_aggregation_sets(q), keys.all_groups(q)],
                    [int(now), keys.group_prefix(q)],
                )
                for q in self.queues
            ]
        )
        for q, n in zip(self.queues, reclaimed, strict=True):
            found[q].reclaimed_sets = n
        todo = list(self.queues)
        while todo:
            listed = await self.broker.run([self._list_call(q, cutoff) for q in todo])
            again = []
            for q, flat in zip(todo, listed, strict=True):
                if not flat:
                    continue
                entries = list(zip(flat[::2], flat[1::2], strict=True))
                progressed = await self._recover(q, entries, now, cutoff, found[q])
                if progressed and len(entries) >= self.batch_size:
                    again.append(q)
            todo = again
        for q, done in found.items():
            self._report(q, done)
        return Recovery(
            *(sum(getattr(d, f.name) for d in found.values()) for f in dataclasses.fields(Recovery))
        )

    def _list_call(self, queue: str, cutoff: float) -> Call:
        return lua(
            "list_lease_expired",
            [keys.lease(queue)],
            [cutoff, keys.task_prefix(queue), self.batch_size],
        )

    async def _recover(
        self,
        queue: str,
        entries: list[tuple[bytes, bytes]],
        now: float,
        cutoff: float,
        done: Recovery,
    ) -> bool:
        """Recover ``entries`` of ``queue`` into ``done``; False when every call failed."""
        plans = [self._plan(queue, i.decode(), m, now) for i, m in entries]
        calls = [self._recover_call(queue, p, now, cutoff) for p in plans]
        replies = await self.broker.run(calls, raise_on_error=False)
        failures = [r for r in replies if isinstance(r, Exception)]
        if failures:
            self.complain(failures[0])
        for plan, r in zip(plans, replies, strict=True):
            if r == _RETRY:
                done.retried += 1
            elif r == _ARCHIVED:
                done.archived += 1
            elif r == _PENDING:
                done.pending += 1
            elif r == _STALE:
                done.stale += 1
            if r in _RECOVERED and self.log.isEnabledFor(logging.INFO):
                self._log_task(queue, plan, _RECOVERED[r])
        return len(failures) < len(replies)

    def _log_task(self, queue: str, plan: _Plan, outcome: str) -> None:
        when = f" in {plan.delay:.0f}s" if outcome == "retry" else ""
        self.log.info(
            "recovered %s %s queue=%s -> %s%s (its worker stopped renewing the lease; "
            "retry %d of %d)",
            plan.task_type,
            plan.task_id,
            queue,
            outcome,
            when,
            plan.retried,
            plan.max_retry,
            extra={
                "event": "recovered",
                "task_id": plan.task_id,
                "task_type": plan.task_type,
                "queue": queue,
                "retried": plan.retried,
                "max_retry": plan.max_retry,
                "outcome": outcome,
                "delay": plan.delay,
                "error": str(LeaseExpiredError()),
            },
        )

    def _report(self, queue: str, done: Recovery) -> None:
        if self.observer is not None:
            for outcome, n in (
                ("pending", done.pending),
                ("retry", done.retried),
                ("archived", done.archived),
            ):
                if n:
                    self.observer.tasks_recovered(queue, outcome, n)
        if done.recovered:
            self.log.warning(
                "recovered %s of queue %r whose worker stopped renewing the lease: "
                "%d to retry, %d pending again, %d archived (retries used up)",
                plural(done.recovered, "task"),
                queue,
                done.retried,
                done.pending,
                done.archived,
            )
        if done.stale:
            self.log.info(
                "removed %d lease entr%s of queue %r that pointed at no active task",
                done.stale,
                "y" if done.stale == 1 else "ies",
                queue,
            )
        if done.reclaimed_sets:
            self.log.warning(
                "%s of queue %r passed their deadline; their tasks are back in their groups",
                plural(done.reclaimed_sets, "aggregation set"),
                queue,
            )

    def _plan(self, queue: str, task_id: str, raw: bytes, now: float) -> _Plan:
        """What to do with the lease-expired task ``task_id`` of ``queue``."""
        if raw:
            try:
                m = wire.decode_task(raw, keys.task(queue, task_id))
            except CorruptTaskError as exc:
                # Nothing can run it; archived, it stays visible instead of active forever.
                self.log.error("archiving %s: %s", keys.task(queue, task_id), exc.reason)
            else:
                return self._outcome(task_id, m, now)
        return _Plan(task_id, "archive", raw)

    def _recover_call(self, queue: str, plan: _Plan, now: float, cutoff: float) -> Call:
        return lua(
            "recover",
            [
                keys.task(queue, plan.task_id),
                keys.active(queue),
                keys.lease(queue),
                keys.retry(queue),
                keys.archived(queue),
                keys.pending(queue),
                *counter_keys(queue, now),
            ],
            [
                plan.task_id,
                cutoff,
                plan.mode,
                plan.msg,
                int(now + plan.delay),
                int(now),
                int(now * 1_000_000_000),
                *limit_args(now),
                keys.wake_channel(queue),
            ],
        )

    def _outcome(self, task_id: str, m: Any, now: float) -> _Plan:
        """The plan for a recovered task ``m``: failed with "task lease expired"."""
        error = LeaseExpiredError()
        exhausted = m.retried >= m.retry
        delay = 0.0 if exhausted else self._delay(m, error)
        m.error_msg = str(error)
        m.last_failed_at = int(now)
        if exhausted:
            mode = "archive"
        else:
            m.retried += 1
            mode = "pending" if delay <= 0 else "retry"
        return _Plan(task_id, mode, wire.encode(m), delay, m.type, m.retried, m.retry)

    def _delay(self, m: Any, error: LeaseExpiredError) -> float:
        if not callable(self.delay):
            return self.delay
        task = Task._from_message(m)
        try:
            delay = float(self.delay(m.retried, error, task))
            if not math.isfinite(delay) or delay < 0:
                raise ValueError(f"recovery delay must be 0 or more seconds, got {delay!r}")
        except Exception as exc:
            self.log.error(
                "recovery delay function failed for task %s: %s; it runs again at once", m.id, exc
            )
            delay = 0.0
        return delay


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """One recovered task: the mode and message sent to recover.lua, and what to log."""

    task_id: str
    mode: str
    msg: bytes
    delay: float = 0.0
    task_type: str = ""
    retried: int = 0
    max_retry: int = 0
