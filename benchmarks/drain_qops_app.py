"""Handlers the qops worker serves in ``benchmarks/drain_qops.py``: a no-op and a stamp."""

from __future__ import annotations

import os
import time

import redis

import qops
from benchmarks.peers._common import LATENCY_KEY, URL_ENV

NOOP = "bench:noop"
STAMP = "bench:stamp"

handlers = qops.Handlers()
_redis: list[redis.Redis] = []


@handlers.task(NOOP)
async def noop(task: qops.Task) -> None:
    pass


@handlers.task(STAMP)
async def stamp(task: qops.Task) -> None:
    # First act: how long since the driver called enqueue (payload: its time.time()).
    waited = time.time() - float(task.payload)
    if not _redis:
        _redis.append(redis.Redis.from_url(os.environ[URL_ENV]))
    _redis[0].rpush(LATENCY_KEY, repr(waited))
