"""What a worker leaves in Redis after success, retry, archive and errors (real Redis)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

import qops
from qops.storage import keys, wire
from tests.helpers import async_wait_for
from tests.worker_helpers import serving, state

Q = "default"


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def msg(r: redis.Redis, task_id: str, queue: str = Q) -> Any:
    return wire.decode_task(r.hget(keys.task(queue, task_id), "msg"), task_id)


def counters(r: redis.Redis, queue: str = Q) -> tuple[int, int, int, int]:
    def get(k: str) -> int:
        return int(r.get(k) or 0)

    return (
        get(f"asynq:{{{queue}}}:processed"),
        get(f"asynq:{{{queue}}}:failed"),
        get(f"asynq:{{{queue}}}:processed:{today()}"),
        get(f"asynq:{{{queue}}}:failed:{today()}"),
    )


def worker(redis_url: str, handlers: qops.Handlers, **options: Any) -> qops.Worker:
    return qops.Worker(handlers, redis_url=redis_url, **options)


def drained(r: redis.Redis, queue: str = Q) -> bool:
    return r.llen(keys.pending(queue)) == 0 and r.llen(keys.active(queue)) == 0


async def test_success_deletes_the_task_and_counts_it(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    seen: list[tuple[str, Any, str, int, int]] = []

    @h.task("add")
    async def add(task: qops.Task) -> int:
        seen.append((task.type, task.json(), task.queue, task.retried, task.max_retry))
        return 42  # ignored

    info = qops.Client(redis_url).enqueue("add", {"a": 1}, max_retry=3)
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: counters(r)[0] == 1 and drained(r))
    assert seen == [("add", {"a": 1}, Q, 0, 3)]
    assert not r.exists(keys.task(Q, info.id))
    assert r.zcard(keys.lease(Q)) == 0
    assert counters(r) == (1, 0, 1, 0)
    ttl = r.ttl(f"asynq:{{{Q}}}:processed:{today()}")
    assert 89 * 86400 < ttl <= 90 * 86400


async def test_retention_keeps_the_task_completed(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    h.register("keep", lambda task: None)
    info = qops.Client(redis_url).enqueue("keep", b"x", retention=3600)
    before = int(time.time())
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, info.id) == "completed")
    score = r.zscore(keys.completed(Q), info.id)
    assert score is not None and before + 3600 <= score <= time.time() + 3600
    m = msg(r, info.id)
    assert before <= m.completed_at <= time.time()
    assert r.llen(keys.active(Q)) == 0 and r.zcard(keys.lease(Q)) == 0
    assert counters(r) == (1, 0, 1, 0)


async def test_failure_schedules_a_retry_with_asynq_backoff(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()

    @h.task("flaky")
    def flaky(task: qops.Task) -> None:
        raise ValueError("no luck")

    info = qops.Client(redis_url).enqueue("flaky", b"", max_retry=5)
    before = time.time()
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
    after = time.time()
    score = r.zscore(keys.retry(Q), info.id)
    # retried was 0: 0**4 + 15 + rand(0..29) * 1 -> 15..44 s
    assert score is not None and int(before) + 15 <= score <= int(after) + 44
    m = msg(r, info.id)
    assert m.retried == 1
    assert m.error_msg == "ValueError: no luck"
    assert int(before) <= m.last_failed_at <= after
    assert counters(r) == (1, 1, 1, 1)
    assert r.llen(keys.active(Q)) == 0 and r.zcard(keys.lease(Q)) == 0


async def test_custom_retry_delay_gets_retried_error_and_task(
    redis_url: str, r: redis.Redis
) -> None:
    h = qops.Handlers()
    h.register("flaky", lambda task: 1 / 0)
    calls: list[tuple[int, str, str]] = []

    def delay(n: int, exc: BaseException, task: qops.Task) -> float:
        calls.append((n, type(exc).__name__, task.type))
        return 1000

    qops.Client(redis_url).enqueue(qops.Task("flaky", task_id="t1"))
    r.hset(keys.task(Q, "t1"), "msg", _with_retried(r, "t1", 4))
    async with serving(worker(redis_url, h, retry_delay=delay)):
        await async_wait_for(lambda: state(r, Q, "t1") == "retry")
    assert calls == [(4, "ZeroDivisionError", "flaky")]
    assert r.zscore(keys.retry(Q), "t1") == pytest.approx(time.time() + 1000, abs=2)
    assert msg(r, "t1").retried == 5


def _with_retried(r: redis.Redis, task_id: str, retried: int) -> bytes:
    m = msg(r, task_id)
    m.retried = retried
    return wire.encode(m)


async def test_skip_retry_archives_at_once(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()

    @h.task("bad")
    async def bad(task: qops.Task) -> None:
        try:
            raise KeyError("k")
        except KeyError as exc:
            raise qops.SkipRetry("payload is broken") from exc

    info = qops.Client(redis_url).enqueue("bad", b"", max_retry=25)
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, info.id) == "archived")
    assert r.zscore(keys.archived(Q), info.id) == pytest.approx(time.time(), abs=2)
    m = msg(r, info.id)
    assert m.retried == 0
    assert m.error_msg == "SkipRetry: payload is broken"
    assert counters(r) == (1, 1, 1, 1)


async def test_archive_after_max_retries(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    h.register("flaky", lambda task: 1 / 0)
    qops.Client(redis_url).enqueue(qops.Task("flaky", task_id="t2", max_retry=2))
    r.hset(keys.task(Q, "t2"), "msg", _with_retried(r, "t2", 2))
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, "t2") == "archived")
    m = msg(r, "t2")
    assert (m.retried, m.error_msg) == (2, "ZeroDivisionError: division by zero")
    assert r.zcard(keys.retry(Q)) == 0
    assert counters(r) == (1, 1, 1, 1)


async def test_archive_keeps_the_newest_9999(redis_url: str, r: redis.Redis) -> None:
    now = int(time.time())
    pipe = r.pipeline(transaction=False)
    for i in range(9_999):
        pipe.zadd(keys.archived(Q), {f"old-{i:05d}": now - 10_000 + i})
        pipe.hset(keys.task(Q, f"old-{i:05d}"), mapping={"msg": b"x", "state": "archived"})
    # Beyond the 90-day window: dropped by age whatever the count.
    pipe.zadd(keys.archived(Q), {"ancient": now - 91 * 86400})
    pipe.hset(keys.task(Q, "ancient"), mapping={"msg": b"x", "state": "archived"})
    pipe.execute()
    h = qops.Handlers()
    h.register("bad", lambda task: (_ for _ in ()).throw(qops.SkipRetry()))
    qops.Client(redis_url).enqueue(qops.Task("bad", task_id="new"))
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, "new") == "archived")
    assert r.zcard(keys.archived(Q)) == 9_999
    assert r.zscore(keys.archived(Q), "ancient") is None
    assert not r.exists(keys.task(Q, "ancient"))
    assert r.zscore(keys.archived(Q), "old-00000") is None
    assert not r.exists(keys.task(Q, "old-00000"))
    assert r.zscore(keys.archived(Q), "old-00001") is not None
    assert r.zscore(keys.archived(Q), "new") is not None


async def test_no_handler_fails_with_a_clear_error(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    h.register("known", lambda task: None)
    info = qops.Client(redis_url).enqueue("unknown:type", b"")
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
    m = msg(r, info.id)
    assert m.error_msg == "no handler for task type 'unknown:type'"
    assert m.retried == 1
    assert counters(r) == (1, 1, 1, 1)


async def test_unique_lock_released_on_success_only(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    h.register("ok", lambda task: None)
    h.register("ko", lambda task: 1 / 0)
    c = qops.Client(redis_url)
    ok = c.enqueue("ok", {"n": 1}, unique=3600)
    ko = c.enqueue("ko", {"n": 1}, unique=3600)
    ok_key = keys.unique(Q, "ok", b'{"n":1}')
    ko_key = keys.unique(Q, "ko", b'{"n":1}')
    # A lock taken over by another task is not ours to release.
    other = c.enqueue("ok", {"n": 2}, unique=3600)
    other_key = keys.unique(Q, "ok", b'{"n":2}')
    r.set(other_key, "someone-else")
    assert r.get(ok_key) == ok.id.encode()
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, ko.id) == "retry" and drained(r))
    assert not r.exists(ok_key)
    assert r.get(ko_key) == ko.id.encode()
    assert r.get(other_key) == b"someone-else"
    assert not r.exists(keys.task(Q, other.id))


async def test_patterns_match_exact_first_then_longest_prefix(
    redis_url: str, r: redis.Redis
) -> None:
    h = qops.Handlers()
    ran: list[tuple[str, str]] = []
    for pattern in ("email:", "email:welcome", "email:w", "e"):
        h.register(pattern, lambda task, p=pattern: ran.append((task.type, p)))
    c = qops.Client(redis_url)
    for t in ("email:welcome", "email:wow", "email:bye", "export"):
        c.enqueue(t, b"")
    async with serving(worker(redis_url, h, concurrency=1)):
        await async_wait_for(lambda: len(ran) == 4 and drained(r))
    assert sorted(ran) == [
        ("email:bye", "email:"),
        ("email:welcome", "email:welcome"),
        ("email:wow", "email:w"),
        ("export", "e"),
    ]


async def test_middleware_wraps_sync_and_async_in_order(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    trail: list[str] = []

    async def outer(task: qops.Task, call_next: Any) -> Any:
        trail.append(f"outer>{task.type}")
        result = await call_next(task)
        trail.append(f"outer<{result}")
        return result

    async def inner(task: qops.Task, call_next: Any) -> Any:
        trail.append("inner>")
        return await call_next(task)

    h.use(outer)
    h.use(inner)

    @h.task("sync")
    def sync(task: qops.Task) -> str:
        trail.append("sync")
        return "s"

    @h.task("async")
    async def async_(task: qops.Task) -> str:
        trail.append("async")
        return "a"

    c = qops.Client(redis_url)
    c.enqueue("sync", b"")
    async with serving(worker(redis_url, h, concurrency=1)):
        await async_wait_for(lambda: len(trail) == 4)
        c.enqueue("async", b"")
        await async_wait_for(lambda: len(trail) == 8)
    assert trail == [
        *("outer>sync", "inner>", "sync", "outer<s"),
        *("outer>async", "inner>", "async", "outer<a"),
    ]


async def test_middleware_error_fails_the_task(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    ran: list[str] = []

    async def deny(task: qops.Task, call_next: Any) -> Any:
        raise PermissionError("denied")

    h.use(deny)
    h.register("x", lambda task: ran.append("x"))
    info = qops.Client(redis_url).enqueue("x", b"")
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, info.id) == "retry")
    assert ran == []
    assert msg(r, info.id).error_msg == "PermissionError: denied"


@pytest.mark.parametrize("retention", [0, 600])
async def test_write_result(redis_url: str, r: redis.Redis, retention: int) -> None:
    h = qops.Handlers()

    @h.task("sync")
    def sync(task: qops.Task) -> None:
        task.write_result({"answer": 42})

    @h.task("async")
    async def async_(task: qops.Task) -> None:
        task.write_result(b"\x00raw")
        if task.retried == 0:
            raise RuntimeError("again")

    c = qops.Client(redis_url)
    s = c.enqueue("sync", b"", retention=retention)
    a = c.enqueue("async", b"", retention=retention)
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, a.id) == "retry" and drained(r))
    # The result survives only where the task is kept (Asynq's rule).
    if retention:
        assert r.hget(keys.task(Q, s.id), "result") == b'{"answer":42}'
    else:
        assert not r.exists(keys.task(Q, s.id))
    assert r.hget(keys.task(Q, a.id), "result") == b"\x00raw"


def test_write_result_outside_a_worker_is_refused() -> None:
    with pytest.raises(qops.TaskStateError):
        qops.Task("x").write_result(b"r")


async def test_concurrency_limits_running_tasks(redis_url: str, r: redis.Redis) -> None:
    import asyncio

    h = qops.Handlers()
    running = 0
    peak = 0
    done = 0

    @h.task("slow")
    async def slow(task: qops.Task) -> None:
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        done += 1

    qops.Client(redis_url).enqueue_many(qops.Task("slow") for _ in range(40))
    async with serving(worker(redis_url, h, concurrency=4)):
        await async_wait_for(lambda: done == 40 and drained(r))
    assert peak == 4
    assert counters(r)[0] == 40


@pytest.mark.parametrize(
    "stored",
    [b"\xff\xff not a protobuf", wire.encode(wire.TaskMessage(payload=b"no type, no id"))],
)
async def test_a_corrupt_message_is_archived_as_it_is_and_the_next_task_runs(
    redis_url: str, r: redis.Redis, stored: bytes
) -> None:
    h = qops.Handlers()
    ran: list[str] = []

    @h.task("ok")
    async def ok(task: qops.Task) -> None:
        ran.append(task.type)

    r.sadd(keys.ALL_QUEUES, Q)
    r.hset(keys.task(Q, "broken"), mapping={"msg": stored, "state": "pending"})
    r.lpush(keys.pending(Q), "broken")
    qops.Client(redis_url).enqueue("ok")
    async with serving(worker(redis_url, h)):
        await async_wait_for(lambda: state(r, Q, "broken") == "archived" and ran == ["ok"])
    assert r.zrange(keys.archived(Q), 0, -1) == [b"broken"]
    assert r.hget(keys.task(Q, "broken"), "msg") == stored
    assert r.llen(keys.active(Q)) == 0 and r.zcard(keys.lease(Q)) == 0
