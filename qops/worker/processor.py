"""`Processor`: takes tasks from the queues into free slots and runs their handlers.

Fetching: with ``k`` free slots, one dequeue script moves up to ``k`` tasks from the first
queue of the priority order, then from the next queues while slots stay free. When every queue
came back short, the fetcher waits for a wake-up: a message on a served queue's wake channel
(qops producers publish one per enqueue), a slot freeing, or the fallback poll interval (for
producers that do not publish, such as Go Asynq).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from concurrent.futures import Executor
from typing import Any

from qops.errors import ConnectionFailedError, CorruptTaskError
from qops.storage import keys, wire
from qops.storage.broker import AsyncBroker, RedisError
from qops.storage.calls import lua
from qops.worker.backoff import RetryDelay, default_retry_delay
from qops.worker.handlers import Handlers, NoHandlerError, is_skip_retry
from qops.worker.jobs import ABORT_CANCEL, ABORT_LEASE, ABORT_SHUTDOWN, Job
from qops.worker.ledger import ARCHIVE, COMPLETED, DONE, RETRY, Ledger, Outcome
from qops.worker.logs import payload_fields
from qops.worker.observer import (
    FAILED,
    LAPSED,
    REQUEUED,
    SUCCEEDED,
    UNHANDLED,
    WorkerObserver,
)
from qops.worker.queues import QueueOrder
from qops.worker.waiting import wait_at_most

log = logging.getLogger("qops.worker")


class DeadlineExceeded(Exception):
    def __init__(self) -> None:
        super().__init__("context deadline exceeded")


class Canceled(Exception):
    def __init__(self) -> None:
        super().__init__("context canceled")


def error_text(exc: BaseException) -> str:
    if isinstance(exc, DeadlineExceeded | Canceled | NoHandlerError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _waited(started: float, since: bytes) -> float | None:
    """Seconds from ``since`` (pending_since, unix ns) to ``started``; None when unknown."""
    try:
        return max(0.0, started - int(since) / 1e9) if since else None
    except ValueError:
        return None


class Processor:
    def __init__(
        self,
        *,
        broker: AsyncBroker,
        handlers: Handlers,
        order: QueueOrder,
        concurrency: int,
        executor: Executor,
        retry_delay: RetryDelay,
        lease_duration: float,
        poll_interval: float,
        observer: WorkerObserver | None = None,
        log_payloads: bool = False,
    ) -> None:
        self.broker = broker
        self.handlers = handlers
        self.order = order
        self.concurrency = concurrency
        self.executor = executor
        self.retry_delay = retry_delay
        self.lease_duration = lease_duration
        self.poll_interval = poll_interval
        self.observer = observer
        self.log_payloads = log_payloads
        self.ledger = Ledger(broker, lease_duration, self._lapsed, observer)
        self.running: dict[str, Job] = {}
        self.fetching = True
        self._kick = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop = asyncio.get_running_loop()
        self._log_tasks = log.isEnabledFor(logging.INFO)
        self._keys = {
            q: (
                keys.pending(q),
                keys.paused(q),
                keys.active(q),
                keys.lease(q),
                keys.task_prefix(q),
            )
            for q in order.weights
        }

    # -- signals from outside ----------------------------------------------------------------

    def wake(self) -> None:
        """New work may be pending (a wake message)."""
        self._kick.set()

    def cancel(self, task_id: str) -> None:
        """A cancel request: stop the task if it runs here; it then fails like an error."""
        job = self.running.get(task_id)
        if job is not None and job.abort is None:
            self._stop(job, ABORT_CANCEL)

    def stop_fetching(self) -> None:
        self.fetching = False
        self._kick.set()

    def _lapsed(self, jobs: list[Job]) -> None:
        for job in jobs:
            if self.running.get(job.id) is job and job.abort is None:
                self._stop(job, ABORT_LEASE)

    def _stop(self, job: Job, reason: str) -> None:
        job.abort = reason
        job.cancelled = True
        # A job not yet entered sees its abort when it starts (a task cancelled before its
        # first step would skip _execute's cleanup).
        if job.atask is not None and job.entered:
            job.atask.cancel()

    # -- fetching -----------------------------------------------------------------------------

    async def fetch(self) -> None:
        """Fill free slots until `stop_fetching`."""
        backoff = 0.0
        while self.fetching:
            free = self.concurrency - len(self.running)
            self._kick.clear()
            if free <= 0:
                await self._kick.wait()
                continue
            try:
                got = await self._dequeue(free)
                backoff = 0.0
            except (ConnectionFailedError, RedisError) as exc:
                backoff = min(5.0, max(0.5, backoff * 2))
                log.error("cannot fetch tasks (retrying in %.1fs): %s", backoff, exc)
                await self._wait(backoff)
                continue
            if got < free:
                # Every queue came back short: sleep until something may have changed.
                await self._wait(self.poll_interval * random.uniform(0.5, 1.5))

    async def _wait(self, seconds: float) -> None:
        if self._kick.is_set() or not self.fetching:
            return
        await wait_at_most(self._kick, seconds)

    async def _dequeue(self, want: int) -> int:
        got = 0
        # With an observer, each task comes with its pending_since (dequeue latency).
        stride = 2 if self.observer is None else 3
        for q in self.order():
            expiry = int(time.time() + self.lease_duration)
            call = lua("dequeue", self._keys[q], [expiry, want - got, stride - 2])
            # Outcomes waiting to be written ride along, ahead of the dequeue.
            batch = self.ledger.take() if got == 0 else None
            if batch is None:
                reply = await self.broker.call(call)
            else:
                try:
                    replies = await self.broker.run([*batch.calls, call], raise_on_error=False)
                except (ConnectionFailedError, RedisError):
                    self.ledger.give_back(batch)
                    raise
                self.ledger.settle(batch, replies[:-1])
                reply = replies[-1]
                if isinstance(reply, Exception):
                    raise reply
            for i in range(0, len(reply), stride):
                self._start(q, reply[i], reply[i + 1], expiry, reply[i + 2] if stride == 3 else b"")
            got += len(reply) // stride
            if got >= want or not self.fetching:
                break
        return got

    def _start(self, queue: str, raw_id: bytes, raw: bytes, expiry: int, since: bytes) -> None:
        try:
            # Named by its queue only: the task key is built when the message is corrupt,
            # not for every task.
            msg = wire.decode_task(raw, queue)
        except CorruptTaskError as exc:
            self._corrupt(queue, raw_id.decode(errors="replace"), exc.reason, expiry)
            return
        job = Job(msg, queue, expiry, self.ledger.result)
        self.ledger.own(job)
        self.running[job.id] = job
        self._idle.clear()
        job.atask = self._loop.create_task(self._execute(job))
        if self.observer is not None:
            job.kind = self.handlers.pattern_of(msg.type) or UNHANDLED
            self.observer.task_started(queue, job.kind, _waited(job.started, since))

    def _corrupt(self, queue: str, task_id: str, reason: str, expiry: int) -> None:
        # A message nobody can decode never runs: archive it as is, keeping its bytes.
        log.error(
            "task %s in queue %s has a corrupt message, archiving it: %s", task_id, queue, reason
        )
        msg = wire.TaskMessage(id=task_id, queue=queue)
        job = Job(msg, queue, expiry, self.ledger.result)
        self.ledger.own(job)
        self.ledger.outcome(Outcome(job, ARCHIVE))
        if self.observer is not None:
            self.observer.task_archived(queue, UNHANDLED)

    # -- running ------------------------------------------------------------------------------

    async def _execute(self, job: Job) -> None:
        # Runs the job to its end and records the outcome; never raises.
        job.entered = True
        error: BaseException | None = None
        try:
            if job.abort is None:
                error = await self._invoke(job)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if job.abort is None or current is None:
                raise
            current.uncancel()
        except Exception as exc:
            error = exc
        finally:
            job.finished = True
            del self.running[job.id]
            if not self.running:
                self._idle.set()
            self._kick.set()
        if job.abort == ABORT_SHUTDOWN:
            outcome = REQUEUED
        elif job.abort == ABORT_LEASE:
            outcome = LAPSED
        elif job.abort == ABORT_CANCEL or error is not None:
            outcome = FAILED
        else:
            outcome = SUCCEEDED
        seconds = time.time() - job.started
        if self.observer is not None:
            self.observer.task_finished(job.queue, job.kind, outcome, seconds)
        if outcome == REQUEUED:
            self.ledger.requeue(job)
            if self._log_tasks:
                self._event("requeue", job, "put back at the head of its queue (shutdown)")
        elif outcome == LAPSED:
            pass  # no longer ours to write: the recoverer handles it
        elif job.abort == ABORT_CANCEL:
            self._failed(job, Canceled())
        elif error is not None:
            job.cancelled = True
            self._failed(job, error)
        else:
            self._succeeded(job, seconds)

    def _event(
        self, event: str, job: Job, text: str, *, payload: bool = False, **fields: Any
    ) -> None:
        """Log one task event line: ``<event> <type> <id> queue=<q> <text>``, fields in extra."""
        msg = job.msg
        extra = {
            "event": event,
            "task_id": job.id,
            "task_type": msg.type,
            "queue": job.queue,
            "retried": msg.retried,
            "max_retry": msg.retry,
            **fields,
        }
        if payload and self.log_payloads:
            extra.update(payload_fields(msg.payload))
        log.info("%s %s %s queue=%s %s", event, msg.type, job.id, job.queue, text, extra=extra)

    async def _invoke(self, job: Job) -> BaseException | None:
        task = job.task
        if self._log_tasks:
            self._event("start", job, f"retried={task.retried}", payload=True)
        chain = self.handlers.resolve(task.type, self.executor)
        if chain is None:
            return NoHandlerError(task.type)
        remaining = job.deadline - time.time()
        if remaining <= 0:
            return DeadlineExceeded()
        timer = asyncio.timeout(remaining)
        try:
            async with timer:
                await chain(task)
        except TimeoutError as exc:
            return DeadlineExceeded() if timer.expired() else exc
        # A handler that swallowed the cancellation still ran out of time.
        return DeadlineExceeded() if timer.expired() else None

    def _succeeded(self, job: Job, seconds: float) -> None:
        msg = job.msg
        if msg.retention > 0:
            now = int(time.time())
            msg.completed_at = now
            self.ledger.outcome(Outcome(job, COMPLETED, now + msg.retention, wire.encode(msg)))
        else:
            self.ledger.outcome(Outcome(job, DONE))
        if self._log_tasks:
            self._event("done", job, f"in {seconds:.3f}s", duration=round(seconds, 6))

    def _failed(self, job: Job, error: BaseException) -> None:
        msg = job.msg
        now = time.time()
        msg.error_msg = error_text(error)
        msg.last_failed_at = int(now)
        if msg.retried >= msg.retry or is_skip_retry(error):
            self.ledger.outcome(Outcome(job, ARCHIVE, 0, wire.encode(msg)))
            if self.observer is not None:
                self.observer.task_archived(job.queue, job.kind)
            if self._log_tasks:
                self._event("archive", job, msg.error_msg, payload=True, error=msg.error_msg)
            return
        try:
            delay = float(self.retry_delay(msg.retried, error, job.task))
        except Exception:
            log.exception("retry_delay failed for task %s; using the default", job.id)
            delay = default_retry_delay(msg.retried, error, job.task)
        delay = max(0.0, delay)
        msg.retried += 1
        self.ledger.outcome(Outcome(job, RETRY, int(now + delay), wire.encode(msg)))
        if self.observer is not None:
            self.observer.task_retried(job.queue, job.kind, delay)
        if self._log_tasks:
            self._event(
                "retry",
                job,
                f"in {delay:.0f}s (retry {msg.retried} of {msg.retry}): {msg.error_msg}",
                payload=True,
                delay=delay,
                error=msg.error_msg,
            )

    # -- shutdown -----------------------------------------------------------------------------

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def abort_all(self) -> None:
        """Stop every running task; each is put back at the head of its queue."""
        jobs = list(self.running.values())
        for job in jobs:
            if job.abort is None:
                self._stop(job, ABORT_SHUTDOWN)
        tasks: list[Any] = [j.atask for j in jobs if j.atask is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def snapshot(self) -> list[Job]:
        return list(self.running.values())
