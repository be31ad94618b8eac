"""Handlers for tests that run ``qops worker`` as a real process.

Each run is recorded in Redis (``test:runs``, one task id per run; ``test:started`` when a
run begins), so a test can tell which tasks ran and how often, even across a kill.
"""

from __future__ import annotations

import asyncio
import os
import time

import redis

import qops

handlers = qops.Handlers()
_redis: redis.Redis | None = None


def _r() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(os.environ["QOPS_REDIS_URL"])
    return _redis


@handlers.task("record")
def record(task: qops.Task) -> None:
    _r().rpush("test:started", str(task.id))
    seconds = float(task.json().get("sleep", 0))
    end = time.monotonic() + seconds
    while time.monotonic() < end and not task.is_cancelled():
        time.sleep(0.01)
    _r().rpush("test:runs", str(task.id))


@handlers.task("arecord")
async def arecord(task: qops.Task) -> None:
    _r().rpush("test:started", str(task.id))
    await asyncio.sleep(float(task.json().get("sleep", 0)))
    _r().rpush("test:runs", str(task.id))


def factory() -> qops.Handlers:
    return handlers


not_handlers = 42
