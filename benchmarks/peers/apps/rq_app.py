"""RQ jobs: plain functions, found by the worker through their import path."""

from __future__ import annotations

import time

import redis

from benchmarks.peers._common import DONE_KEY, LATENCY_KEY, app_url

_redis = redis.Redis.from_url(app_url())


def noop() -> None:
    _redis.incr(DONE_KEY)


def stamp(sent: float) -> None:
    started = time.time()
    _redis.rpush(LATENCY_KEY, started - sent)
