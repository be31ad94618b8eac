"""Huey: ``huey_consumer -w 10 -k thread``, one process with ten worker threads.

Huey has no pipelined bulk enqueue; ``task.map(items)`` enqueues one task per item (one LPUSH
each), and is what is measured as its bulk API.
"""

from __future__ import annotations

from typing import Any

from benchmarks.peers import _common

APP = "benchmarks.peers.apps.huey_app"


def _argv(concurrency: int) -> list[str]:
    return [_common.executable("huey_consumer"), f"{APP}.huey", "-w", str(concurrency),
            "-k", "thread", "-q"]  # fmt: skip


def _bulk(app: Any, n: int) -> None:
    app.noop.map([()] * n)


def enqueue_one(url: str, n: int) -> float:
    app = _common.load_app(APP, url)
    for _ in range(_common.WARMUP):
        app.noop()
    return _common.timed(lambda: [app.noop() for _ in range(n)])


def enqueue_bulk(url: str, n: int) -> float:
    app = _common.load_app(APP, url)
    _bulk(app, _common.WARMUP)
    return _common.timed(lambda: _bulk(app, n))


def _unfinished(app: Any, total: int) -> str | None:
    # Huey keeps no count of tasks run (a None result is not stored): pending must be empty.
    left = {"pending": app.huey.pending_count(), "scheduled": app.huey.scheduled_count()}
    return _common.shortfall(total, left)


def drain(url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    app = _common.load_app(APP, url)
    return _common.drain(
        url,
        n,
        _argv(concurrency),
        lambda k: _bulk(app, k),
        app.mark,
        lambda total: _unfinished(app, total),
        timeout,
    )


def latency(url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    app = _common.load_app(APP, url)
    return _common.latency(url, samples, _argv(10), app.stamp, timeout)
