"""SAQ functions and the ``settings`` its CLI loads."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio
from saq import Queue

from benchmarks.peers._common import LATENCY_KEY, app_url

queue = Queue.from_url(app_url(), name="bench")
_redis = redis.asyncio.Redis.from_url(app_url())


async def noop(ctx: dict[str, Any]) -> None:
    pass


async def mark(ctx: dict[str, Any], *, redis_key: str) -> None:
    await _redis.set(redis_key, repr(time.time()))


async def stamp(ctx: dict[str, Any], *, sent: float) -> None:
    started = time.time()
    await _redis.rpush(LATENCY_KEY, started - sent)


settings = {"queue": queue, "functions": [noop, mark, stamp], "concurrency": 10}
