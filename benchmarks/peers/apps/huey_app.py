"""Huey tasks; the consumer loads ``huey``."""

from __future__ import annotations

import time

import redis
from huey import RedisHuey

from benchmarks.peers._common import LATENCY_KEY, app_url

huey = RedisHuey("bench", url=app_url())
_redis = redis.Redis.from_url(app_url())


@huey.task()
def noop() -> None:
    pass


@huey.task()
def mark(redis_key: str) -> None:
    _redis.set(redis_key, repr(time.time()))


@huey.task()
def stamp(sent: float) -> None:
    started = time.time()
    _redis.rpush(LATENCY_KEY, started - sent)
