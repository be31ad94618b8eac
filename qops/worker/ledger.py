"""`Ledger`: the tasks this worker owns in Redis, their leases, and writing their outcomes back.

A task is owned from the dequeue until its outcome (done, completed, retry, archived or
requeued) is written. Outcomes are batched: whatever finished while the previous write was in
flight goes out together, one script per queue in one round trip, so a busy worker writes
hundreds of outcomes per round trip and an idle one writes each at once. Leases of every owned
task are extended together, one command per queue. A task whose lease lapsed before it could
be extended is dropped without a write: another server's recoverer may own it by then.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from qops.errors import ConnectionFailedError
from qops.storage import keys
from qops.storage.accounting import counter_keys, limit_args
from qops.storage.broker import AsyncBroker, RedisError
from qops.storage.calls import Arg, Call, cmd, lua
from qops.wording import plural
from qops.worker.jobs import Job
from qops.worker.observer import WorkerObserver
from qops.worker.waiting import wait_at_most

log = logging.getLogger("qops.worker")

# Records per script call: keeps one call's run time, and its argument list, small.
CHUNK = 500

DONE, COMPLETED, RETRY, ARCHIVE = "d", "c", "r", "a"


class Outcome:
    __slots__ = ("job", "msg", "op", "score")

    def __init__(self, job: Job, op: str, score: int = 0, msg: bytes = b"") -> None:
        self.job = job
        self.op = op
        self.score = score
        self.msg = msg


class Batch:
    """Writes taken from the ledger, the calls that make them, and how to read the replies."""

    __slots__ = ("calls", "outcomes", "plan", "requeues", "results")

    def __init__(
        self, results: list[tuple[Job, bytes]], outcomes: list[Outcome], requeues: list[Job]
    ) -> None:
        self.results = results
        self.outcomes = outcomes
        self.requeues = requeues
        self.calls: list[Call] = []
        self.plan: list[tuple[str, list[Job]]] = []


class Ledger:
    def __init__(
        self,
        broker: AsyncBroker,
        lease_duration: float,
        on_lapse: Callable[[list[Job]], None],
        observer: WorkerObserver | None = None,
    ) -> None:
        self.broker = broker
        self.lease_duration = lease_duration
        self._on_lapse = on_lapse
        self.observer = observer
        self.owned: dict[str, Job] = {}
        self._outcomes: list[Outcome] = []
        self._requeues: list[Job] = []
        self._results: list[tuple[Job, bytes]] = []
        self._pending = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._static: dict[str, list[Arg]] = {}

    # -- recording, called by the processor ------------------------------------------------

    def own(self, job: Job) -> None:
        self.owned[job.id] = job

    def owns(self, job: Job) -> bool:
        return self.owned.get(job.id) is job

    def outcome(self, outcome: Outcome) -> None:
        if self.owns(outcome.job):
            self._outcomes.append(outcome)
            self._pending.set()

    def requeue(self, job: Job) -> None:
        if self.owns(job):
            self._requeues.append(job)
            self._pending.set()

    def result(self, job: Job, data: bytes) -> None:
        """Queue a result write; safe from handler threads."""
        if threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self.result, job, data)
        elif self.owns(job):
            self._results.append((job, data))
            self._pending.set()

    @property
    def busy(self) -> bool:
        return bool(self._outcomes or self._requeues or self._results)

    # -- writing ------------------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Write outcomes as they come until ``stopping`` is set, then write what is left."""
        backoff = 0.0
        while True:
            if not self.busy:
                if stopping.is_set():
                    return
                self._pending.clear()
                waiter = asyncio.ensure_future(self._pending.wait())
                stopper = asyncio.ensure_future(stopping.wait())
                await asyncio.wait((waiter, stopper), return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                continue
            try:
                await self.flush()
                backoff = 0.0
            except (ConnectionFailedError, RedisError) as exc:
                backoff = min(5.0, max(0.2, backoff * 2))
                log.error("cannot record task outcomes (retrying in %.1fs): %s", backoff, exc)
                self.expire(time.time())
                if stopping.is_set() and not self.owned:
                    return
                await asyncio.sleep(backoff)

    async def flush(self) -> None:
        """Write every queued result, outcome and requeue in one round trip."""
        batch = self.take()
        if batch is None:
            return
        try:
            replies = await self.broker.run(batch.calls, raise_on_error=False)
        except (ConnectionFailedError, RedisError):
            self.give_back(batch)
            raise
        self.settle(batch, replies)

    def take(self) -> Batch | None:
        """Everything queued for writing, as calls; the caller runs them and calls `settle`.

        The fetcher sends these ahead of its dequeue, so a busy worker records outcomes and
        takes new tasks in the same round trip.
        """
        if not self.busy:
            return None
        now = time.time()
        self.expire(now)
        batch = Batch(self._results, self._outcomes, self._requeues)
        self._results, self._outcomes, self._requeues = [], [], []
        batch.calls = [
            lua("write_result", [keys.task(job.queue, job.id)], [data])
            for job, data in batch.results
        ]
        by_queue: dict[str, list[Outcome]] = {}
        for o in batch.outcomes:
            by_queue.setdefault(o.job.queue, []).append(o)
        for q, items in by_queue.items():
            for s in range(0, len(items), CHUNK):
                chunk = items[s : s + CHUNK]
                batch.calls.append(self._ack_call(q, chunk, now))
                batch.plan.append(("ack", [o.job for o in chunk]))
        for q, jobs in _by_queue(batch.requeues).items():
            batch.calls.append(
                lua(
                    "requeue",
                    [keys.active(q), keys.lease(q), keys.pending(q)]
                    + [keys.task(q, j.id) for j in jobs],
                    [keys.wake_channel(q), time.time_ns(), *(j.id for j in jobs)],
                )
            )
            batch.plan.append(("requeue", jobs))
        return batch if batch.calls else None

    def give_back(self, batch: Batch) -> None:
        """The batch was not written (Redis unreachable): queue it again, ahead of newer work."""
        self._results[:0] = batch.results
        self._outcomes[:0] = batch.outcomes
        self._requeues[:0] = batch.requeues
        self._pending.set()

    def settle(self, batch: Batch, replies: Sequence[Any]) -> None:
        """Release the tasks of a written batch; ``replies`` in the order of its calls."""
        for (job, _), reply in zip(batch.results, replies, strict=False):
            if isinstance(reply, Exception):
                log.error("cannot write the result of task %s: %s", job.id, reply)
        for (kind, jobs), reply in zip(batch.plan, replies[len(batch.results) :], strict=True):
            self._settle(kind, jobs, reply)

    def _settle(self, kind: str, jobs: Sequence[Job], reply: Any) -> None:
        for job in jobs:
            self.owned.pop(job.id, None)
        if isinstance(reply, RedisError):
            # A script error repeats on every try; the recoverer takes these tasks over once
            # their leases lapse, since they are no longer extended.
            log.error("cannot record the outcome of %s: %s", plural(len(jobs), "task"), reply)
        elif kind == "ack":
            for job, written in zip(jobs, reply, strict=True):
                if not written:
                    log.warning(
                        "task %s was no longer active in queue %s; its outcome was not "
                        "recorded (its lease had lapsed)",
                        job.id,
                        job.queue,
                    )

    def _ack_call(self, queue: str, chunk: Sequence[Outcome], now: float) -> Call:
        static = self._static.get(queue)
        if static is None:
            static = self._static[queue] = [
                keys.active(queue),
                keys.lease(queue),
                keys.completed(queue),
                keys.retry(queue),
                keys.archived(queue),
            ]
        key_list: list[Arg] = [*static, *counter_keys(queue, now)]
        key_list.extend([keys.task(queue, o.job.id) for o in chunk])
        argv: list[Arg] = [int(now), *limit_args(now)]
        locks: list[Arg] = []
        for o in chunk:
            argv += [o.op, o.job.id, o.score if o.score else "", o.msg]
            unique = o.job.msg.unique_key
            if unique and o.op in (DONE, COMPLETED):
                key_list.append(unique)
                locks.append(len(key_list))
            else:
                locks.append(0)
        argv += locks
        return lua("ack", key_list, argv)

    # -- leases -------------------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Drop owned jobs whose lease lapsed and tell the processor to stop them."""
        lapsed = [j for j in self.owned.values() if j.lease_until <= now]
        if not lapsed:
            return
        gone = {j.id for j in lapsed}
        for job in lapsed:
            del self.owned[job.id]
        self._outcomes = [o for o in self._outcomes if o.job.id not in gone]
        self._requeues = [j for j in self._requeues if j.id not in gone]
        self._results = [(j, d) for j, d in self._results if j.id not in gone]
        log.warning(
            "lease lapsed for %s (%s); they are left to the recoverer",
            plural(len(lapsed), "task"),
            ", ".join(sorted(gone)[:5]),
        )
        if self.observer is not None:
            for q, jobs in _by_queue(lapsed).items():
                self.observer.leases_lapsed(q, len(jobs))
        self._on_lapse(lapsed)

    async def watch(self, stopping: asyncio.Event, interval: float) -> None:
        """Drop lapsed leases on time, also while Redis calls hang (they cannot renew them)."""
        while not stopping.is_set():
            self.expire(time.time())
            await wait_at_most(stopping, interval)

    async def extend(self) -> None:
        """Extend the lease of every owned task by one lease duration from now."""
        now = time.time()
        self.expire(now)
        expiry = int(now + self.lease_duration)
        by_queue = _by_queue(self.owned.values())
        calls = []
        for q, jobs in by_queue.items():
            args: list[Arg] = ["ZADD", keys.lease(q), "XX"]
            for job in jobs:
                args += [expiry, job.id]
            calls.append(cmd(*args))
        if not calls:
            return
        try:
            await self.broker.run(calls)
        except (ConnectionFailedError, RedisError):
            if self.observer is not None:
                self.observer.lease_extension_failed(sum(len(j) for j in by_queue.values()))
            raise
        for q, jobs in by_queue.items():
            for job in jobs:
                job.lease_until = max(job.lease_until, expiry)
            if self.observer is not None:
                self.observer.leases_extended(q, len(jobs))


def _by_queue(jobs: Iterable[Job]) -> dict[str, list[Job]]:
    grouped: dict[str, list[Job]] = {}
    for job in jobs:
        grouped.setdefault(job.queue, []).append(job)
    return grouped
