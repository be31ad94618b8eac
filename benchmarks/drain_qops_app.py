"""Handlers the qops worker serves in ``benchmarks/drain_qops.py``: the no-op, the marker
and the stamp, as the peers' apps define them (``benchmarks/peers/apps/``)."""

from __future__ import annotations

import time

import redis

import qops
from benchmarks.peers._common import LATENCY_KEY, app_url

NOOP = "bench:noop"
MARK = "bench:mark"
STAMP = "bench:stamp"

handlers = qops.Handlers()
_redis = redis.Redis.from_url(app_url())


@handlers.task(NOOP)
async def noop(task: qops.Task) -> None:
    pass


@handlers.task(MARK)
async def mark(task: qops.Task) -> None:
    # Payload: the key to SET.
    _redis.set(task.payload.decode(), repr(time.time()))


@handlers.task(STAMP)
async def stamp(task: qops.Task) -> None:
    # First act: how long since the driver called enqueue (payload: its time.time()).
    waited = time.time() - float(task.payload)
    _redis.rpush(LATENCY_KEY, repr(waited))
