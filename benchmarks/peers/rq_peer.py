"""RQ: ``rq worker-pool`` of SimpleWorkers.

RQ's default worker forks a work horse for every job; users after throughput run
``SimpleWorker`` (jobs in the worker process itself), and ``rq worker-pool -n 10`` is RQ's
own way to run ten of them from one command, since a worker runs one job at a time.
"""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue

from benchmarks.peers import _common

APP = "benchmarks.peers.apps.rq_app"
QUEUE = "bench"


def _queue(url: str) -> tuple[Queue, Any]:
    app = _common.load_app(APP, url)
    return Queue(QUEUE, connection=redis.Redis.from_url(url)), app


def _argv(concurrency: int) -> list[str]:
    return [
        _common.executable("rq"), "worker-pool", "-n", str(concurrency),
        "-w", "rq.worker.SimpleWorker", "-u", _common.app_url(), "-l", "WARNING", QUEUE,
    ]  # fmt: skip


def _bulk(queue: Queue, app: Any, n: int) -> None:
    queue.enqueue_many([Queue.prepare_data(app.noop) for _ in range(n)])


def enqueue_one(url: str, n: int) -> float:
    queue, app = _queue(url)
    for _ in range(_common.WARMUP):
        queue.enqueue(app.noop)
    return _common.timed(lambda: [queue.enqueue(app.noop) for _ in range(n)])


def enqueue_bulk(url: str, n: int) -> float:
    queue, app = _queue(url)
    _bulk(queue, app, _common.WARMUP)
    return _common.timed(lambda: _bulk(queue, app, n))


def _unfinished(queue: Queue, total: int) -> str | None:
    return _common.shortfall(
        total,
        {"queued": queue.count, "started": queue.started_job_registry.count},
        ran=queue.finished_job_registry.count,
        failed=queue.failed_job_registry.count,
    )


def drain(url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    queue, app = _queue(url)
    return _common.drain(
        url,
        n,
        _argv(concurrency),
        lambda k: _bulk(queue, app, k),
        lambda key: queue.enqueue(app.mark, key),
        lambda total: _unfinished(queue, total),
        timeout,
    )


def latency(url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    queue, app = _queue(url)
    return _common.latency(url, samples, _argv(10), lambda t: queue.enqueue(app.stamp, t), timeout)
