"""`QueueCollector`: queue metrics with Asynq's names, read in a bounded number of round trips.

Asynq's exporter asks Redis for each queue in turn on every scrape, which stalls Redis when
there are many queues or groups. Here one collection is `Inspector.queue_infos` (the queue
list plus one pipelined round trip for all queues) and `Inspector.servers`, however many
queues there are.

Collection runs in one background thread. A scrape asks for fresh values and waits for them
at most ``timeout`` seconds; past that, or while Redis is down, it gets the last values that
were read, with ``qops_metrics_scrape_ok 0`` and ``qops_metrics_last_success_age_seconds``
rising. A scrape therefore never fails and never waits longer than the bound, and concurrent
scrapes share one collection instead of each starting their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from qops.connection import mask_url
from qops.errors import ConnectionFailedError, QopsError
from qops.inspector import Inspector
from qops.models import QueueInfo, ServerInfo
from qops.storage.broker import RedisError

log = logging.getLogger("qops.metrics")

# The states Asynq's exporter reports in asynq_tasks_enqueued_total (it leaves out aggregating).
ENQUEUED_STATES = ("active", "pending", "scheduled", "retry", "archived", "completed")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One successful collection."""

    queues: Sequence[QueueInfo]
    servers: Sequence[ServerInfo]
    finished: float
    """`time.monotonic()` when the collection finished."""
    duration: float
    """Seconds the collection took."""


def read_snapshot(inspector: Inspector) -> Snapshot:
    """Everything one scrape reports, from a bounded number of Redis round trips."""
    start = time.monotonic()
    queues = inspector.queue_infos()
    servers = inspector.servers()
    end = time.monotonic()
    return Snapshot(queues, servers, end, end - start)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionFailedError):
        return exc.reason
    return f"{type(exc).__name__}: {exc}"


class QueueCollector(Collector):
    """A Prometheus collector for every queue an `Inspector` sees.

    Args:
        inspector: Used from the collector's thread only, once `start` is called.
        timeout: Most seconds a scrape waits for fresh values before it gets the last ones.
        min_interval: Values read less than this many seconds ago are served again without
            asking Redis, so several Prometheus servers scraping together cost one collection.
    """

    def __init__(
        self, inspector: Inspector, *, timeout: float = 2.0, min_interval: float = 1.0
    ) -> None:
        self.inspector = inspector
        self.timeout = timeout
        self.min_interval = min_interval
        self._url = mask_url(inspector.url)
        self._cond = threading.Condition()
        self._snapshot: Snapshot | None = None
        self._last_ok = False
        self._attempts = 0
        self._failures = 0
        self._wanted = False
        self._running = False
        self._closed = False
        self._failing = False
        self._born = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="qops-metrics", daemon=True)

    def start(self) -> None:
        """Start the collector's thread and its first collection."""
        with self._cond:
            self._wanted = True
        self._thread.start()

    def close(self) -> None:
        """Stop the thread; a collection under way is abandoned with it."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def refresh(self, timeout: float | None = None) -> bool:
        """Make sure the values are fresh, waiting at most ``timeout`` seconds (default: the bound).

        Returns:
            True when the values now held come from a collection that just succeeded (or
            succeeded less than ``min_interval`` ago); False when Redis failed or was too slow.
        """
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            snap = self._snapshot
            recent = snap is not None and time.monotonic() - snap.finished < self.min_interval
            if self._last_ok and recent:
                return True
            # A collection already under way started at most one scrape ago: share it.
            if not self._running:
                self._wanted = True
                self._cond.notify_all()
            target = self._attempts + 1
            while self._attempts < target:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return self._last_ok

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._wanted and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                self._wanted = False
                self._running = True
            snap: Snapshot | None = None
            error: BaseException | None = None
            try:
                snap = read_snapshot(self.inspector)
            except Exception as exc:
                error = exc
            with self._cond:
                self._running = False
                self._attempts += 1
                self._last_ok = snap is not None
                if snap is not None:
                    self._snapshot = snap
                else:
                    self._failures += 1
                self._cond.notify_all()
            self._report(error)

    def _report(self, error: BaseException | None) -> None:
        """One log line when collection starts failing, and one when it works again."""
        failing = self._failing
        self._failing = error is not None
        if error is not None and not failing:
            # Redis failing is expected here; anything else is a bug and keeps its traceback.
            expected = isinstance(error, QopsError | RedisError)
            log.warning(
                "cannot collect queue metrics from %s: %s; /metrics serves the last values "
                "with qops_metrics_scrape_ok 0 until Redis answers",
                self._url,
                _reason(error),
                exc_info=None if expected else error,
            )
        elif error is None and failing:
            log.info("collecting queue metrics from %s again", self._url)

    # -- prometheus-client ----------------------------------------------------------------

    def describe(self) -> list[Metric]:
        # Nothing to describe up front: the label values come from Redis at scrape time.
        return []

    def collect(self) -> Iterator[Metric]:
        ok = self.refresh()
        with self._cond:
            snap, failures = self._snapshot, self._failures
        if snap is not None:
            yield from queue_metrics(snap.queues)
            yield from server_metrics(snap.servers, [q.queue for q in snap.queues])
        now = time.monotonic()
        yield _gauge(
            "qops_metrics_scrape_ok",
            "1 when this scrape got freshly collected values; 0 when Redis failed or was "
            "slower than the scrape bound and the last values were served.",
            float(ok),
        )
        yield _gauge(
            "qops_metrics_last_success_age_seconds",
            "Seconds since the values served were collected (since the exporter started, "
            "when no collection has succeeded yet).",
            now - (snap.finished if snap is not None else self._born),
        )
        yield _gauge(
            "qops_metrics_collect_duration_seconds",
            "Seconds the last successful collection took.",
            snap.duration if snap is not None else 0.0,
        )
        failed = CounterMetricFamily(
            "qops_metrics_collect_failures", "Collections that failed since the exporter started."
        )
        failed.add_metric([], failures)
        yield failed


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def queue_metrics(queues: Sequence[QueueInfo]) -> Iterator[Metric]:
    """Asynq's queue metrics (same names, labels and meaning), then qops's per-queue extras."""
    enqueued = GaugeMetricFamily(
        "asynq_tasks_enqueued_total",
        "Tasks in the queue, by state.",
        labels=["queue", "state"],
    )
    size = GaugeMetricFamily(
        "asynq_queue_size", "Tasks in the queue, in every state.", labels=["queue"]
    )
    latency = GaugeMetricFamily(
        "asynq_queue_latency_seconds",
        "Seconds the oldest pending task has been waiting.",
        labels=["queue"],
    )
    memory = GaugeMetricFamily(
        "asynq_queue_memory_usage_approx_bytes",
        "Approximate bytes of Redis memory used by the queue, estimated from a sample.",
        labels=["queue"],
    )
    processed = CounterMetricFamily(
        "asynq_tasks_processed_total",
        "Tasks processed (succeeded or failed) since the queue was created.",
        labels=["queue"],
    )
    failed = CounterMetricFamily(
        "asynq_tasks_failed_total",
        "Task runs that failed since the queue was created.",
        labels=["queue"],
    )
    paused = GaugeMetricFamily(
        "asynq_queue_paused_total", "1 when the queue is paused, else 0.", labels=["queue"]
    )
    aggregating = GaugeMetricFamily(
        "qops_queue_aggregating_tasks",
        "Tasks waiting in groups to be aggregated (estimated from a sample past many groups).",
        labels=["queue"],
    )
    groups = GaugeMetricFamily(
        "qops_queue_groups", "Groups holding tasks to aggregate.", labels=["queue"]
    )
    lag = GaugeMetricFamily(
        "qops_queue_scheduled_lag_seconds",
        "Seconds the earliest due scheduled or retry task is late in moving to pending; "
        "0 when none is due. Growing values mean no worker forwards the queue.",
        labels=["queue"],
    )
    for q in queues:
        name = q.queue
        for state in ENQUEUED_STATES:
            enqueued.add_metric([name, state], getattr(q, state))
        size.add_metric([name], q.size)
        latency.add_metric([name], q.latency)
        memory.add_metric([name], q.memory_usage)
        processed.add_metric([name], q.processed_total)
        failed.add_metric([name], q.failed_total)
        paused.add_metric([name], 1 if q.paused else 0)
        aggregating.add_metric([name], q.aggregating)
        groups.add_metric([name], q.groups)
        lag.add_metric([name], q.overdue)
    yield from (
        enqueued,
        size,
        latency,
        memory,
        processed,
        failed,
        paused,
        aggregating,
        groups,
        lag,
    )


def server_metrics(servers: Sequence[ServerInfo], queues: Sequence[str]) -> Iterator[Metric]:
    """Live servers, their worker slots, and the tasks they are running per queue.

    Every known queue gets a sample, 0 when nothing runs there, so series do not vanish.
    """
    yield _gauge(
        "qops_servers_alive",
        "Worker servers (qops or Asynq) whose heartbeat is current.",
        len(servers),
    )
    yield _gauge(
        "qops_workers_concurrency",
        "Task slots of the live servers, added up.",
        sum(s.concurrency for s in servers),
    )
    busy = Counter(w.queue for s in servers for w in s.active_workers)
    active = GaugeMetricFamily(
        "qops_workers_active",
        "Tasks the live servers report running right now, by queue.",
        labels=["queue"],
    )
    for name in sorted(set(queues) | set(busy)):
        active.add_metric([name], busy.get(name, 0))
    yield active
