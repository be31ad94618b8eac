"""Prometheus metrics of worker processes: `PrometheusObserver` and the endpoints that serve it.

``qops worker --metrics-port P`` serves them. With one process, the worker serves
prometheus-client's default registry (so metrics the application defines show too). With
``--processes N``, prometheus-client's multiprocess mode makes one endpoint: the supervisor
creates a fresh directory, each child gets it as ``PROMETHEUS_MULTIPROC_DIR`` and writes its
values there, and the supervisor serves the sum of all of them; when a child exits its live
gauges (tasks in flight) are dropped, while its counters keep counting in the totals.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from qops.metrics.server import MetricsServer
from qops.worker.observer import FAILED, REQUEUED, SUCCEEDED, UNHANDLED, WorkerObserver

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    900.0, 1800.0, math.inf,
)  # fmt: skip
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0, 3600.0, math.inf,
)  # fmt: skip

_TASK = ("queue", "type")


class PrometheusObserver(WorkerObserver):
    """Counts a worker's events in Prometheus metrics (names in the README).

    Args:
        registry: Where the metrics are registered; prometheus-client's default registry
            unless given (None: registered nowhere, as in multiprocess children, whose
            values go to files). One observer can serve several workers of a process.
    """

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        def counter(name: str, doc: str, labels: Sequence[str] = _TASK) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        self.started = counter("qops_worker_tasks_started", "Tasks taken from a queue to run.")
        self.succeeded = counter("qops_worker_tasks_succeeded", "Task runs that succeeded.")
        self.failed = counter(
            "qops_worker_tasks_failed",
            "Task runs that failed (raised, timed out, were cancelled, or had no handler).",
        )
        self.retried = counter("qops_worker_tasks_retried", "Failed tasks sent to retry.")
        self.archived = counter(
            "qops_worker_tasks_archived", "Failed tasks archived (retries used up, SkipRetry)."
        )
        self.requeued = counter(
            "qops_worker_tasks_requeued", "Running tasks put back in their queue at shutdown."
        )
        self.duration = Histogram(
            "qops_worker_task_duration_seconds",
            "Seconds from taking a task to the end of its run (succeeded or failed).",
            _TASK,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "qops_worker_tasks_in_flight",
            "Tasks running now.",
            ["queue"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.latency = Histogram(
            "qops_worker_dequeue_latency_seconds",
            "Seconds tasks waited in pending before a worker took them.",
            ["queue"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.extended = counter(
            "qops_worker_lease_extensions", "Task leases renewed while running.", ["queue"]
        )
        self.extension_failures = counter(
            "qops_worker_lease_extension_failures",
            "Task leases that could not be renewed (Redis unreachable or failing).",
            (),
        )
        self.lapsed = counter(
            "qops_worker_leases_lapsed",
            "Running tasks whose lease lapsed; they are left to the recoverer.",
            ["queue"],
        )
        self.recovered = counter(
            "qops_worker_tasks_recovered",
            "Tasks of dead workers taken back, by outcome (pending, retry, archived).",
            ["queue", "outcome"],
        )
        self.forwarded = counter(
            "qops_worker_tasks_forwarded",
            "Due tasks moved to pending (or their group), by source (scheduled, retry).",
            ["queue", "source"],
        )

    def serving(self, queues: Sequence[str], kinds: Sequence[str]) -> None:
        # Series that start at 0 let rate() and alerts see the first events.
        for q in queues:
            for kind in [*kinds, UNHANDLED]:
                for c in (self.started, self.succeeded, self.failed, self.retried):
                    c.labels(q, kind)
                self.archived.labels(q, kind)
                self.requeued.labels(q, kind)
            self.in_flight.labels(q)
            self.latency.labels(q)
            self.extended.labels(q)
            self.lapsed.labels(q)
            for outcome in ("pending", "retry", "archived"):
                self.recovered.labels(q, outcome)
            for source in ("scheduled", "retry"):
                self.forwarded.labels(q, source)

    def task_started(self, queue: str, kind: str, waited: float | None) -> None:
        self.started.labels(queue, kind).inc()
        self.in_flight.labels(queue).inc()
        if waited is not None:
            self.latency.labels(queue).observe(waited)

    def task_finished(self, queue: str, kind: str, outcome: str, seconds: float) -> None:
        self.in_flight.labels(queue).dec()
        if outcome == SUCCEEDED:
            self.succeeded.labels(queue, kind).inc()
        elif outcome == FAILED:
            self.failed.labels(queue, kind).inc()
        elif outcome == REQUEUED:
            self.requeued.labels(queue, kind).inc()
            return
        else:
            return
        self.duration.labels(queue, kind).observe(seconds)

    def task_retried(self, queue: str, kind: str, delay: float) -> None:
        self.retried.labels(queue, kind).inc()

    def task_archived(self, queue: str, kind: str) -> None:
        self.archived.labels(queue, kind).inc()

    def leases_extended(self, queue: str, count: int) -> None:
        self.extended.labels(queue).inc(count)

    def lease_extension_failed(self, count: int) -> None:
        self.extension_failures.inc(count)

    def leases_lapsed(self, queue: str, count: int) -> None:
        self.lapsed.labels(queue).inc(count)

    def tasks_recovered(self, queue: str, outcome: str, count: int) -> None:
        self.recovered.labels(queue, outcome).inc(count)

    def tasks_forwarded(self, queue: str, source: str, count: int) -> None:
        self.forwarded.labels(queue, source).inc(count)


def standalone_server(bind: str, port: int) -> MetricsServer:
    """The endpoint of a single worker process: prometheus-client's default registry.

    Raises:
        OSError: the address cannot be bound.
    """
    return MetricsServer(REGISTRY, bind, port)


class SharedMetrics:
    """The supervisor's side of multiprocess mode: a fresh directory and one endpoint over it.

    Args:
        bind: Address to listen on.
        port: TCP port; 0 picks a free one.

    Raises:
        OSError: the address cannot be bound.
    """

    def __init__(self, bind: str, port: int) -> None:
        self.path = tempfile.mkdtemp(prefix="qops-worker-metrics-")
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.path)  # type: ignore[no-untyped-call]
        try:
            self.server = MetricsServer(registry, bind, port)
        except OSError:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def child_env(self) -> dict[str, str]:
        """What a child's environment needs to record into the shared directory."""
        return {MULTIPROC_ENV: self.path}

    def start(self) -> None:
        self.server.start()

    def process_exited(self, pid: int) -> None:
        """Drop the live gauges of a child that exited (its counters stay in the totals)."""
        mark_process_dead(pid, self.path)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self.server.shutdown()
        shutil.rmtree(self.path, ignore_errors=True)
