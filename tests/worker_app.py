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


@handlers.task("hold")
def hold(task: qops.Task) -> None:
    """Sleeps on the first attempt only, so a recovered task finishes at once."""
    _r().rpush("test:started", str(task.id))
    _r().rpush("test:holders", os.getpid())
    seconds = float(task.json().get("sleep", 0)) if task.retried == 0 else 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end and not task.is_cancelled():
        time.sleep(0.01)
    _r().rpush("test:runs", str(task.id))


@handlers.task("metrics:")
def metrics_task(task: qops.Task) -> None:
    """Any ``metrics:<x>`` type; ``metrics:bad`` fails. Records the pid that ran it."""
    _r().rpush("test:pids", os.getpid())
    time.sleep(float(task.json().get("sleep", 0)))
    if task.type == "metrics:bad":
        raise RuntimeError("bad task")
    _r().rpush("test:runs", str(task.id))


@handlers.task("echo")
def echo(task: qops.Task) -> None:
    """Ignores its payload (which may be anything); fails when its type is ``echo:fail``."""
    if task.type == "echo:fail":
        raise ValueError("echo refused")
    _r().rpush("test:runs", str(task.id))


def factory() -> qops.Handlers:
    return handlers


not_handlers = 42
