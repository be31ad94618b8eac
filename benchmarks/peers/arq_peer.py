"""arq: the ``arq`` CLI with ``max_jobs = 10``, one process running ten jobs at a time on
asyncio. The worker polls the queue every ``poll_delay`` (0.5 s by default, kept).

arq has no bulk enqueue API. It needs redis-py < 6, so it runs from benchmarks/.venv-peers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from benchmarks.peers import _common

APP = "benchmarks.peers.apps.arq_app"
# Concurrent enqueues while filling the queue before a drain (not timed).
FILL_CONCURRENCY = 100


def _argv() -> list[str]:
    return [_common.executable("arq"), f"{APP}.WorkerSettings",
            "--custom-log-dict", f"{APP}.LOG_CONFIG"]  # fmt: skip


@contextmanager
def _pool(url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, ArqRedis]]:
    _common.load_app(APP, url)
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(create_pool(RedisSettings.from_dsn(url)))
    try:
        yield loop, pool
    finally:
        loop.run_until_complete(pool.aclose())
        loop.close()


async def _fill(pool: ArqRedis, n: int) -> None:
    for start in range(0, n, FILL_CONCURRENCY):
        count = min(FILL_CONCURRENCY, n - start)
        await asyncio.gather(*(pool.enqueue_job("noop") for _ in range(count)))


async def _unfinished(pool: ArqRedis, total: int) -> str | None:
    # A job leaves arq's queue when it finishes; its result is kept (an hour by default).
    queued = len(await pool.queued_jobs())
    if queued:
        return _common.shortfall(total, {"queued or running": queued})
    results = await pool.all_job_results()
    failed = sum(not result.success for result in results)
    return _common.shortfall(total, {}, ran=len(results), failed=failed)


async def _one_at_a_time(pool: ArqRedis, n: int) -> None:
    for _ in range(n):
        await pool.enqueue_job("noop")


def enqueue_one(url: str, n: int) -> float:
    with _pool(url) as (loop, pool):
        loop.run_until_complete(_one_at_a_time(pool, _common.WARMUP))
        return _common.timed(lambda: loop.run_until_complete(_one_at_a_time(pool, n)))


def enqueue_bulk(url: str, n: int) -> float:
    raise _common.Unsupported("arq has no bulk enqueue API")


def drain(url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    if concurrency != 10:
        raise _common.Unsupported("arq's max_jobs is set in WorkerSettings (10)")
    with _pool(url) as (loop, pool):
        return _common.drain(
            url,
            n,
            _argv(),
            lambda k: loop.run_until_complete(_fill(pool, k)),
            lambda key: loop.run_until_complete(pool.enqueue_job("mark", key)),
            lambda total: loop.run_until_complete(_unfinished(pool, total)),
            timeout,
        )


def latency(url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    with _pool(url) as (loop, pool):
        return _common.latency(
            url,
            samples,
            _argv(),
            lambda t: loop.run_until_complete(pool.enqueue_job("stamp", t)),
            timeout,
        )
