"""`WorkerObserver`: hooks a `Worker` calls on task and maintenance events, for metrics.

The worker calls an observer only when one is given (``Worker(..., observer=...)``); without
one, each event costs a single ``is None`` check. `qops.metrics.worker_metrics` implements it
with Prometheus counters and histograms (``qops worker --metrics-port``).

Hooks run in the worker's event loop thread, between task steps: they must be quick and must
not block. An exception from a hook is logged (at most every few seconds) and otherwise
ignored, so a faulty observer never loses or stalls a task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

log = logging.getLogger("qops.worker")

UNHANDLED = "unhandled"
"""The ``kind`` of a task whose type no handler pattern matches (or whose message is corrupt)."""

# Outcomes passed to `WorkerObserver.task_finished`.
SUCCEEDED = "succeeded"
FAILED = "failed"
REQUEUED = "requeued"
LAPSED = "lapsed"

COMPLAINT_INTERVAL = 5.0


class WorkerObserver:
    """Receives the events of one worker process; every hook does nothing unless overridden.

    ``kind`` is the handler pattern that matched the task type (``"email:"`` for
    ``"email:welcome"``), or `UNHANDLED`: a bounded set of values, whatever task types
    producers send, so it is safe as a metric label.
    """

    def serving(self, queues: Sequence[str], kinds: Sequence[str]) -> None:
        """The worker starts serving ``queues`` with handlers for ``kinds`` (and `UNHANDLED`)."""

    def task_started(self, queue: str, kind: str, waited: float | None) -> None:
        """A task was taken from ``queue`` and starts.

        Args:
            queue: Its queue.
            kind: The matched handler pattern, or `UNHANDLED`.
            waited: Seconds since it became pending (dequeue latency); None when the task
                does not record it (put back by a shutdown, or written by an old producer).
        """

    def task_finished(self, queue: str, kind: str, outcome: str, seconds: float) -> None:
        """A started task stopped running.

        Args:
            queue: Its queue.
            kind: As in `task_started`.
            outcome: ``"succeeded"``; ``"failed"`` (raised, timed out, was cancelled or had no
                handler; `task_retried` or `task_archived` follows); ``"requeued"`` (put back
                at shutdown); ``"lapsed"`` (its lease lapsed, it is left to the recoverer).
            seconds: Time since it was taken from the queue.
        """

    def task_retried(self, queue: str, kind: str, delay: float) -> None:
        """A failed task was sent to retry, to run again in ``delay`` seconds."""

    def task_archived(self, queue: str, kind: str) -> None:
        """A failed task (or one with a corrupt message) was archived."""

    def leases_extended(self, queue: str, count: int) -> None:
        """The leases of ``count`` running tasks of ``queue`` were renewed."""

    def lease_extension_failed(self, count: int) -> None:
        """Renewing the leases of ``count`` tasks failed (Redis unreachable or erroring)."""

    def leases_lapsed(self, queue: str, count: int) -> None:
        """``count`` tasks of ``queue`` lost their lease before it could be renewed."""

    def tasks_recovered(self, queue: str, outcome: str, count: int) -> None:
        """The recoverer took back ``count`` tasks of dead workers.

        ``outcome`` is ``"pending"`` (run again at once), ``"retry"`` (a recovery delay) or
        ``"archived"`` (retries used up).
        """

    def tasks_forwarded(self, queue: str, source: str, count: int) -> None:
        """``count`` due tasks moved from ``source`` (``"scheduled"`` or ``"retry"``) on."""


class GuardedObserver(WorkerObserver):
    """Calls ``inner``'s hooks, logging instead of raising what they raise."""

    def __init__(self, inner: WorkerObserver) -> None:
        self.inner = inner
        self._complained_at = -COMPLAINT_INTERVAL

    def _failed(self, hook: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._complained_at >= COMPLAINT_INTERVAL:
            self._complained_at = now
            log.error("observer hook %s failed: %s: %s", hook, type(exc).__name__, exc)

    def serving(self, queues: Sequence[str], kinds: Sequence[str]) -> None:
        try:
            self.inner.serving(queues, kinds)
        except Exception as exc:
            self._failed("serving", exc)

    def task_started(self, queue: str, kind: str, waited: float | None) -> None:
        try:
            self.inner.task_started(queue, kind, waited)
        except Exception as exc:
            self._failed("task_started", exc)

    def task_finished(self, queue: str, kind: str, outcome: str, seconds: float) -> None:
        try:
            self.inner.task_finished(queue, kind, outcome, seconds)
        except Exception as exc:
            self._failed("task_finished", exc)

    def task_retried(self, queue: str, kind: str, delay: float) -> None:
        try:
            self.inner.task_retried(queue, kind, delay)
        except Exception as exc:
            self._failed("task_retried", exc)

    def task_archived(self, queue: str, kind: str) -> None:
        try:
            self.inner.task_archived(queue, kind)
        except Exception as exc:
            self._failed("task_archived", exc)

    def leases_extended(self, queue: str, count: int) -> None:
        try:
            self.inner.leases_extended(queue, count)
        except Exception as exc:
            self._failed("leases_extended", exc)

    def lease_extension_failed(self, count: int) -> None:
        try:
            self.inner.lease_extension_failed(count)
        except Exception as exc:
            self._failed("lease_extension_failed", exc)

    def leases_lapsed(self, queue: str, count: int) -> None:
        try:
            self.inner.leases_lapsed(queue, count)
        except Exception as exc:
            self._failed("leases_lapsed", exc)

    def tasks_recovered(self, queue: str, outcome: str, count: int) -> None:
        try:
            self.inner.tasks_recovered(queue, outcome, count)
        except Exception as exc:
            self._failed("tasks_recovered", exc)

    def tasks_forwarded(self, queue: str, source: str, count: int) -> None:
        try:
            self.inner.tasks_forwarded(queue, source, count)
        except Exception as exc:
            self._failed("tasks_forwarded", exc)
