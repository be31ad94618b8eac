"""Timeouts, deadlines and cancel requests, for async and sync handlers (real Redis)."""

from __future__ import annotations

import asyncio
import threading
import time

import redis

import qops
from qops.storage import keys, wire
from tests.helpers import async_wait_for
from tests.worker_helpers import serving, state

Q = "default"


def error_of(r: redis.Redis, task_id: str) -> str:
    m = wire.decode_task(r.hget(keys.task(Q, task_id), "msg"), task_id)
    return str(m.error_msg)


async def test_async_handler_is_cancelled_at_its_timeout(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    seen: list[str] = []

    @h.task("slow")
    async def slow(task: qops.Task) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    info = qops.Client(redis_url).enqueue("slow", b"", timeout=1)
    started = time.monotonic()
    async with serving(qops.Worker(h, redis_url=redis_url)):
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
    assert 0.9 <= time.monotonic() - started < 5
    assert seen == ["cancelled"]
    assert error_of(r, info.id) == "context deadline exceeded"
    assert r.get(f"asynq:{{{Q}}}:failed") == b"1"


async def test_sync_handler_fails_at_its_timeout_and_its_late_result_is_ignored(
    redis_url: str, r: redis.Redis
) -> None:
    h = qops.Handlers()
    release = threading.Event()
    flags: list[bool] = []

    @h.task("stuck")
    def stuck(task: qops.Task) -> None:
        flags.append(task.is_cancelled())
        release.wait(30)
        flags.append(task.is_cancelled())

    info = qops.Client(redis_url).enqueue("stuck", b"", timeout=1, retention=600)
    async with serving(qops.Worker(h, redis_url=redis_url)):
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
        # The thread still runs: the task failed at the deadline without waiting for it.
        assert flags == [False]
        release.set()
        await async_wait_for(lambda: len(flags) == 2)
    assert flags == [False, True]
    assert state(r, Q, info.id) == "retry"
    assert r.zcard(keys.completed(Q)) == 0
    assert error_of(r, info.id) == "context deadline exceeded"


async def test_deadline_cuts_a_longer_timeout(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()

    @h.task("slow")
    async def slow(task: qops.Task) -> None:
        await asyncio.sleep(30)

    info = qops.Client(redis_url).enqueue("slow", b"", timeout=60, deadline=time.time() + 2)
    async with serving(qops.Worker(h, redis_url=redis_url)):
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
    assert error_of(r, info.id) == "context deadline exceeded"


async def test_passed_deadline_fails_without_running(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    ran: list[str] = []
    h.register("late", lambda task: ran.append("ran"))
    info = qops.Client(redis_url).enqueue("late", b"", deadline=time.time() + 100)
    m = wire.decode_task(r.hget(keys.task(Q, info.id), "msg"), info.id)
    m.deadline = int(time.time()) - 5
    r.hset(keys.task(Q, info.id), "msg", wire.encode(m))
    async with serving(qops.Worker(h, redis_url=redis_url)):
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
    assert ran == []
    assert error_of(r, info.id) == "context deadline exceeded"


async def test_cancel_request_cancels_an_async_handler(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    started = asyncio.Event()
    seen: list[str] = []

    @h.task("long")
    async def long(task: qops.Task) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    info = qops.Client(redis_url).enqueue("long", b"", max_retry=3)
    async with serving(qops.Worker(h, redis_url=redis_url)):
        await asyncio.wait_for(started.wait(), 10)
        assert r.publish(keys.CANCEL_CHANNEL, info.id) == 1
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
    assert seen == ["cancelled"]
    assert error_of(r, info.id) == "context canceled"
    assert (r.get(f"asynq:{{{Q}}}:processed"), r.get(f"asynq:{{{Q}}}:failed")) == (b"1", b"1")


async def test_cancel_request_flags_a_sync_handler(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    started = threading.Event()
    saw_cancel = threading.Event()

    @h.task("long")
    def long(task: qops.Task) -> None:
        started.set()
        deadline = time.monotonic() + 30
        while not task.is_cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        if task.cancelled:
            saw_cancel.set()

    info = qops.Client(redis_url).enqueue("long", b"")
    async with serving(qops.Worker(h, redis_url=redis_url)):
        await async_wait_for(started.is_set)
        r.publish(keys.CANCEL_CHANNEL, info.id)
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
        await async_wait_for(saw_cancel.is_set)
    assert error_of(r, info.id) == "context canceled"


async def test_cancel_of_an_unknown_task_changes_nothing(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    release = asyncio.Event()

    @h.task("wait")
    async def wait(task: qops.Task) -> None:
        await release.wait()

    info = qops.Client(redis_url).enqueue("wait", b"")
    async with serving(qops.Worker(h, redis_url=redis_url)):
        await async_wait_for(lambda: state(r, Q, info.id) == "active")
        r.publish(keys.CANCEL_CHANNEL, "not-running-here")
        release.set()
        await async_wait_for(lambda: not r.exists(keys.task(Q, info.id)))
    assert r.get(f"asynq:{{{Q}}}:failed") is None
