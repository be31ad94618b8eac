"""Celery: ``celery worker --pool threads --concurrency 10``, one process with ten threads.

Mingle and gossip (start-up and ongoing chatter between the workers of a cluster) are off,
as is usual for a single worker; the Redis transport, no result backend. Its bulk API is
``group(signatures).apply_async()``.
"""

from __future__ import annotations

from typing import Any

from celery import group

from benchmarks.peers import _common

APP = "benchmarks.peers.apps.celery_app"
QUEUE = "celery"
# Seconds to wait for the worker's reply to a remote-control inspect.
INSPECT_TIMEOUT = 2.0


def _argv(concurrency: int) -> list[str]:
    return [
        _common.executable("celery"), "-A", APP, "worker", "--pool", "threads",
        "--concurrency", str(concurrency), "--without-mingle", "--without-gossip",
        "--loglevel", "WARNING",
    ]  # fmt: skip


def _bulk(app: Any, n: int) -> None:
    group(app.noop.s() for _ in range(n)).apply_async()


def enqueue_one(url: str, n: int) -> float:
    app = _common.load_app(APP, url)
    for _ in range(_common.WARMUP):
        app.noop.delay()
    return _common.timed(lambda: [app.noop.delay() for _ in range(n)])


def enqueue_bulk(url: str, n: int) -> float:
    app = _common.load_app(APP, url)
    _bulk(app, _common.WARMUP)
    return _common.timed(lambda: _bulk(app, n))


def _unfinished(app: Any, total: int) -> str | None:
    with app.app.connection_for_read() as connection:
        # Not passive: the Redis transport has no queue to find once its list is empty.
        queued = connection.default_channel.queue_declare(QUEUE).message_count
    inspect = app.app.control.inspect(timeout=INSPECT_TIMEOUT, limit=1)
    stats, active = inspect.stats(), inspect.active()
    if not stats or active is None:
        return f"{queued} queued, and the worker did not answer inspect"
    # The worker's ``total`` counts the tasks it took; none running means all of them ran.
    taken = sum(sum(s.get("total", {}).values()) for s in stats.values())
    running = sum(len(tasks) for tasks in active.values())
    return _common.shortfall(total, {"queued": queued, "running": running}, ran=taken)


def drain(url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    app = _common.load_app(APP, url)
    return _common.drain(
        url,
        n,
        _argv(concurrency),
        lambda k: _bulk(app, k),
        app.mark.delay,
        lambda total: _unfinished(app, total),
        timeout,
    )


def latency(url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    app = _common.load_app(APP, url)
    return _common.latency(url, samples, _argv(10), app.stamp.delay, timeout)
