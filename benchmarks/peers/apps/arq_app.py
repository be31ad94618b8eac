"""arq functions and the ``WorkerSettings`` its CLI loads."""

from __future__ import annotations

import time
from typing import Any

from arq.connections import RedisSettings

from benchmarks.peers._common import LATENCY_KEY, app_url

# arq's CLI logs every job at INFO; the other workers are measured without per-job log lines.
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "loggers": {"arq": {"handlers": ["stderr"], "level": "WARNING"}},
}


async def noop(ctx: dict[str, Any]) -> None:
    pass


async def mark(ctx: dict[str, Any], redis_key: str) -> None:
    await ctx["redis"].set(redis_key, repr(time.time()))


async def stamp(ctx: dict[str, Any], sent: float) -> None:
    started = time.time()
    await ctx["redis"].rpush(LATENCY_KEY, started - sent)


class WorkerSettings:
    functions = [noop, mark, stamp]  # noqa: RUF012 (arq reads plain class attributes)
    redis_settings = RedisSettings.from_dsn(app_url())
    max_jobs = 10
