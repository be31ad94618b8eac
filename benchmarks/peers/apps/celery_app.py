"""Celery tasks on the Redis transport, without a result backend."""

from __future__ import annotations

import time

import redis
from celery import Celery

from benchmarks.peers._common import LATENCY_KEY, app_url

app = Celery("bench", broker=app_url())
app.conf.update(broker_connection_retry_on_startup=True, task_ignore_result=True)
_redis = redis.Redis.from_url(app_url())


@app.task(name="bench.noop")
def noop() -> None:
    pass


@app.task(name="bench.mark")
def mark(redis_key: str) -> None:
    _redis.set(redis_key, repr(time.time()))


@app.task(name="bench.stamp")
def stamp(sent: float) -> None:
    started = time.time()
    _redis.rpush(LATENCY_KEY, started - sent)
