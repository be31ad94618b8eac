"""Queue specs, paused queues, strict and weighted priority (real Redis)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis

import qops
from qops.errors import InvalidInputError
from qops.storage import keys, wire
from qops.worker.queues import QueueOrder, parse_queues
from tests.helpers import async_wait_for
from tests.worker_helpers import serving, state


def test_parse_queues() -> None:
    assert parse_queues("critical=6,default=3,low=1") == {"critical": 6, "default": 3, "low": 1}
    assert parse_queues("a, b") == {"a": 1, "b": 1}
    assert parse_queues("only") == {"only": 1}


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("a=0", "'0'"),
        ("a=x", "'x'"),
        ("a=-2", "'-2'"),
        ("a,,b", "empty queue name"),
        ("a,a=2", "'a' is listed twice"),
        ("", "empty"),
        ("bad{name}", "bad{name}"),
    ],
)
def test_parse_queues_names_the_bad_part(spec: str, named: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_queues(spec)
    assert named in str(err.value)


def test_worker_rejects_bad_options() -> None:
    h = qops.Handlers()
    with pytest.raises(InvalidInputError, match="concurrency"):
        qops.Worker(h, concurrency=0)
    with pytest.raises(InvalidInputError, match="priority of queue 'a'"):
        qops.Worker(h, queues={"a": 0})
    with pytest.raises(InvalidInputError, match="shutdown_timeout"):
        qops.Worker(h, shutdown_timeout=-1)


def test_weighted_order_puts_each_queue_first_by_its_weight() -> None:
    order = QueueOrder({"critical": 6, "default": 3, "low": 1}, strict=False)
    firsts = Counter(order()[0] for _ in range(20_000))
    assert firsts["critical"] / 20_000 == pytest.approx(0.6, abs=0.02)
    assert firsts["default"] / 20_000 == pytest.approx(0.3, abs=0.02)
    assert sorted(order()) == ["critical", "default", "low"]
    assert QueueOrder({"a": 2, "b": 8}, strict=False).weights == {"a": 1, "b": 4}
    assert QueueOrder({"a": 1, "b": 5, "c": 3}, strict=True)() == ["b", "c", "a"]


async def test_paused_queue_is_skipped(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    ran: list[str] = []
    h.register("t", lambda task: ran.append(task.queue))
    c = qops.Client(redis_url)
    held = c.enqueue("t", b"", queue="held")
    r.set(keys.paused("held"), int(time.time()))
    w = qops.Worker(h, redis_url=redis_url, queues={"held": 9, "default": 1}, strict_priority=True)
    async with serving(w):
        c.enqueue("t", b"", queue="default")
        await async_wait_for(lambda: ran == ["default"])
        assert state(r, "held", held.id) == "pending"
        r.delete(keys.paused("held"))
        r.publish(keys.wake_channel("held"), 1)
        await async_wait_for(lambda: ran == ["default", "held"])


async def test_strict_priority_empties_higher_queues_first(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    ran: list[str] = []
    h.register("t", lambda task: ran.append(task.queue))
    c = qops.Client(redis_url)
    c.enqueue_many(qops.Task("t", queue=q) for q in ["low", "mid", "high"] * 20)
    w = qops.Worker(
        h,
        redis_url=redis_url,
        queues={"low": 1, "mid": 2, "high": 3},
        strict_priority=True,
        concurrency=1,
    )
    async with serving(w):
        await async_wait_for(lambda: len(ran) == 60)
    assert ran == ["high"] * 20 + ["mid"] * 20 + ["low"] * 20


async def test_weighted_priority_over_3000_dequeues(redis_url: str, r: redis.Redis) -> None:
    # 6/3/1 within +-5 percentage points over 3000 tasks taken one at a time.
    h = qops.Handlers()
    ran: list[str] = []

    @h.task("t")
    async def t(task: qops.Task) -> None:
        ran.append(task.queue)
        if len(ran) == 3000:
            w.stop()

    c = qops.Client(redis_url)
    for q in ("critical", "default", "low"):
        c.enqueue_many(qops.Task("t", queue=q) for _ in range(3000))
    w = qops.Worker(
        h, redis_url=redis_url, queues={"critical": 6, "default": 3, "low": 1}, concurrency=1
    )
    await w.serve()
    share = Counter(ran[:3000])
    assert share["critical"] / 3000 == pytest.approx(0.6, abs=0.05)
    assert share["default"] / 3000 == pytest.approx(0.3, abs=0.05)
    assert share["low"] / 3000 == pytest.approx(0.1, abs=0.05)


async def test_wake_message_starts_an_idle_worker_without_polling(
    redis_url: str, r: redis.Redis
) -> None:
    h = qops.Handlers()
    ran: list[float] = []

    @h.task("t")
    async def t(task: qops.Task) -> None:
        ran.append(time.monotonic())

    # A poll interval far longer than the wait below: only the wake-up can explain the start.
    w = qops.Worker(h, redis_url=redis_url, poll_interval=60)
    async with serving(w):
        await async_wait_for(lambda: r.pubsub_numsub(keys.wake_channel("default"))[0][1] == 1)
        await async_wait_for(lambda: w.processor is not None and not w.processor.running)
        for i in range(1, 4):
            sent = time.monotonic()
            qops.Client(redis_url).enqueue("t", b"")
            await async_wait_for(lambda i=i: len(ran) == i, timeout=2)
            assert ran[-1] - sent < 1.0


async def test_fallback_poll_finds_tasks_written_without_a_wake_up(
    redis_url: str, r: redis.Redis
) -> None:
    # What a Go producer does: hash and LPUSH, no message on the wake channel.
    h = qops.Handlers()
    ran: list[str] = []
    h.register("t", lambda task: ran.append(task.id or ""))
    w = qops.Worker(h, redis_url=redis_url, poll_interval=0.05)
    async with serving(w):
        await async_wait_for(lambda: r.pubsub_numsub(keys.wake_channel("default"))[0][1] == 1)
        m = wire.TaskMessage(type="t", id="go-1", queue="default", retry=25, timeout=1800)
        r.hset(keys.task("default", "go-1"), mapping={"msg": wire.encode(m), "state": "pending"})
        r.lpush(keys.pending("default"), "go-1")
        await async_wait_for(lambda: ran == ["go-1"], timeout=5)
    assert not r.exists(keys.task("default", "go-1"))
