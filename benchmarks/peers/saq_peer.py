"""SAQ: the ``saq`` CLI with ``concurrency: 10``, one process running ten jobs at a time on
asyncio.

SAQ has no bulk enqueue API (``Queue.map`` enqueues and then waits for every result). Its
Redis extra needs redis-py < 8, so it runs from benchmarks/.venv-peers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.peers import _common

APP = "benchmarks.peers.apps.saq_app"
FILL_CONCURRENCY = 100


def _argv() -> list[str]:
    return [_common.executable("saq"), f"{APP}.settings", "--workers", "1"]


@contextmanager
def _app(url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, Any]]:
    app = _common.load_app(APP, url)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(app.queue.connect())
    try:
        yield loop, app
    finally:
        loop.run_until_complete(app.queue.disconnect())
        loop.close()


async def _fill(app: Any, n: int) -> None:
    for start in range(0, n, FILL_CONCURRENCY):
        count = min(FILL_CONCURRENCY, n - start)
        await asyncio.gather(*(app.queue.enqueue("noop") for _ in range(count)))


async def _unfinished(app: Any, total: int) -> str | None:
    # SAQ's count of completed jobs is the worker's, published every few seconds: the
    # queue's own counts must be empty instead.
    info = await app.queue.info()
    left = {state: info[state] for state in ("queued", "active", "scheduled")}
    return _common.shortfall(total, left)


async def _one_at_a_time(app: Any, n: int) -> None:
    for _ in range(n):
        await app.queue.enqueue("noop")


def enqueue_one(url: str, n: int) -> float:
    with _app(url) as (loop, app):
        loop.run_until_complete(_one_at_a_time(app, _common.WARMUP))
        return _common.timed(lambda: loop.run_until_complete(_one_at_a_time(app, n)))


def enqueue_bulk(url: str, n: int) -> float:
    raise _common.Unsupported("SAQ has no bulk enqueue API")


def drain(url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    if concurrency != 10:
        raise _common.Unsupported("SAQ's concurrency is set in its settings (10)")
    with _app(url) as (loop, app):
        return _common.drain(
            url,
            n,
            _argv(),
            lambda k: loop.run_until_complete(_fill(app, k)),
            lambda key: loop.run_until_complete(app.queue.enqueue("mark", redis_key=key)),
            lambda total: loop.run_until_complete(_unfinished(app, total)),
            timeout,
        )


def latency(url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    with _app(url) as (loop, app):
        return _common.latency(
            url, samples, _argv(),
            lambda t: loop.run_until_complete(app.queue.enqueue("stamp", sent=t)), timeout,
        )  # fmt: skip
