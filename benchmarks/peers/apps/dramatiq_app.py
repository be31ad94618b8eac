"""Dramatiq actors on a Redis broker with the default middleware."""

from __future__ import annotations

import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from benchmarks.peers._common import LATENCY_KEY, app_url

broker = RedisBroker(url=app_url())
dramatiq.set_broker(broker)
_redis = redis.Redis.from_url(app_url())


@dramatiq.actor
def noop() -> None:
    pass


@dramatiq.actor
def mark(redis_key: str) -> None:
    _redis.set(redis_key, repr(time.time()))


@dramatiq.actor
def stamp(sent: float) -> None:
    started = time.time()
    _redis.rpush(LATENCY_KEY, started - sent)
