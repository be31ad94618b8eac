"""Dramatiq: ``dramatiq --processes 1 --threads 10``.

Its bulk API is ``group(messages).run()``, which enqueues the messages one by one.
"""

from __future__ import annotations

from typing import Any

from dramatiq import group

from benchmarks.peers import _common

APP = "benchmarks.peers.apps.dramatiq_app"


def _argv(concurrency: int) -> list[str]:
    return [_common.executable("dramatiq"), APP, "--processes", "1",
            "--threads", str(concurrency)]  # fmt: skip


def _bulk(app: Any, n: int) -> None:
    group([app.noop.message() for _ in range(n)], broker=app.broker).run()


def enqueue_one(url: str, n: int) -> float:
    app = _common.load_app(APP, url)
    for _ in range(_common.WARMUP):
        app.noop.send()
    return _common.timed(lambda: [app.noop.send() for _ in range(n)])


def enqueue_bulk(url: str, n: int) -> float:
    app = _common.load_app(APP, url)
    _bulk(app, _common.WARMUP)
    return _common.timed(lambda: _bulk(app, n))


def _unfinished(app: Any, total: int) -> str | None:
    # The count `RedisBroker.join` waits on: messages not yet acknowledged, delayed included.
    left = app.broker.do_qsize(app.noop.queue_name)
    return _common.shortfall(total, {"not acknowledged": left})


def drain(url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    app = _common.load_app(APP, url)
    return _common.drain(
        url,
        n,
        _argv(concurrency),
        lambda k: _bulk(app, k),
        app.mark.send,
        lambda total: _unfinished(app, total),
        timeout,
    )


def latency(url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    app = _common.load_app(APP, url)
    return _common.latency(url, samples, _argv(10), app.stamp.send, timeout)
