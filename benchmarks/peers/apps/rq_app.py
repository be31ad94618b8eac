"""RQ jobs: plain functions, found by the worker through their import path."""

from __future__ import annotations

import time

import redis

from benchmarks.peers._common import LATENCY_KEY, app_url

_redis = redis.Redis.from_url(app_url())


def noop() -> None:
    pass


def mark(redis_key: str) -> None:
    _redis.set(redis_key, repr(time.time()))


def stamp(sent: float) -> None:
    started = time.time()
    _redis.rpush(LATENCY_KEY, started - sent)
