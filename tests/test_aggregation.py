"""Group aggregation against a real redis-server: Asynq's rules and key layout."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis

from qops import Client, Task
from qops.errors import InvalidInputError
from qops.storage import keys, wire
from qops.storage.broker import AsyncBroker
from qops.worker.aggregator import Aggregator
from qops.worker.recoverer import Recoverer
from tests.conftest import FIXTURES
from tests.helpers import async_wait_for
from tests.redis_server import load_fixture

Q = "default"


@pytest.fixture
async def broker(redis_url: str) -> AsyncIterator[AsyncBroker]:
    b = AsyncBroker.from_url(redis_url)
    yield b
    await b.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[Client]:
    with Client(redis_url) as c:
        yield c


def at(offset: float) -> Any:
    """A clock ``offset`` seconds ahead of real time."""
    return lambda: time.time() + offset


def zset(r: redis.Redis, key: str) -> dict[bytes, float]:
    return dict(r.zrange(key, 0, -1, withscores=True))


class Collect:
    """An aggregate function that records its calls and sums the payloads' ``n``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Task]]] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, group: str, tasks: list[Task]) -> Task:
        self.calls.append((group, tasks))
        self.threads.append(threading.current_thread())
        return Task("batch", {"group": group, "ns": [t.json()["n"] for t in tasks]})


def grouped(client: Client, n: int, group: str = "g", queue: str = Q) -> list[str]:
    return [
        client.enqueue(Task("item", {"n": i}, group=group, queue=queue, headers={"i": str(i)})).id
        for i in range(n)
    ]


def set_scores(r: redis.Redis, ids: list[str], scores: list[float], group: str = "g") -> None:
    r.zadd(keys.group(Q, group), dict(zip(ids, scores, strict=True)), xx=True)


def aggregated(r: redis.Redis, queue: str = Q) -> list[Any]:
    """The messages of the pending tasks, oldest first."""
    ids = reversed(r.lrange(keys.pending(queue), 0, -1))
    return [wire.decode_task(r.hget(keys.task(queue, i.decode()), "msg"), "t") for i in ids]


def assert_gone(r: redis.Redis, ids: list[str], group: str = "g") -> None:
    assert r.exists(*[keys.task(Q, i) for i in ids]) == 0
    assert r.exists(keys.group(Q, group), keys.all_aggregation_sets(Q)) == 0


async def test_group_waits_for_the_grace_period(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    ids = grouped(client, 3)
    added = int(time.time())
    fn = Collect()
    job = Aggregator(broker, [Q], aggregate=fn, grace_period=60, clock=at(0))

    assert await job.run_once() == 0
    # Asynq's layout while waiting: scores are the add time, the name is in the groups set.
    assert zset(r, keys.group(Q, "g")) == {i.encode(): pytest.approx(added, abs=1) for i in ids}
    assert r.smembers(keys.all_groups(Q)) == {b"g"}
    assert r.exists(keys.all_aggregation_sets(Q), keys.pending(Q)) == 0

    # Scores are whole seconds, so tasks added within one second are ordered by id.
    set_scores(r, ids, [added - 3, added - 2, added - 1])
    job.clock = at(61)
    assert await job.run_once() == 1

    [(group, tasks)] = fn.calls
    assert group == "g"
    assert [(t.type, t.json(), t.headers) for t in tasks] == [
        ("item", {"n": 0}, {"i": "0"}),
        ("item", {"n": 1}, {"i": "1"}),
        ("item", {"n": 2}, {"i": "2"}),
    ]
    assert fn.threads[0] is not threading.main_thread()
    [msg] = aggregated(r)
    assert (msg.type, json.loads(msg.payload), msg.queue) == (
        "batch",
        {"group": "g", "ns": [0, 1, 2]},
        Q,
    )
    assert (msg.retry, msg.timeout, msg.group_key) == (25, 1800, "")
    h = r.hgetall(keys.task(Q, msg.id))
    assert h[b"state"] == b"pending" and int(h[b"pending_since"]) > 0
    assert_gone(r, ids)
    assert r.exists(keys.all_groups(Q)) == 0


async def test_max_delay_counts_from_the_oldest_task(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    ids = grouped(client, 3)
    now = int(time.time())
    set_scores(r, ids, [now - 100, now - 50, now])  # the newest is fresh: no grace yet
    fn = Collect()

    patient = Aggregator(broker, [Q], aggregate=fn, grace_period=60, max_delay=200)
    assert await patient.run_once() == 0
    assert len(zset(r, keys.group(Q, "g"))) == 3

    job = Aggregator(broker, [Q], aggregate=fn, grace_period=60, max_delay=90)
    assert await job.run_once() == 1
    assert [t.json()["n"] for t in fn.calls[0][1]] == [0, 1, 2]
    assert len(aggregated(r)) == 1
    assert_gone(r, ids)


async def test_max_size_takes_the_oldest_tasks_first(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    ids = grouped(client, 5)
    now = int(time.time())
    set_scores(r, ids, [now - 5, now - 4, now - 3, now - 2, now - 1])
    fn = Collect()
    job = Aggregator(broker, [Q], aggregate=fn, grace_period=60, max_size=3, clock=at(0))

    assert await job.run_once() == 1
    assert [t.json()["n"] for t in fn.calls[0][1]] == [0, 1, 2]
    assert zset(r, keys.group(Q, "g")) == {ids[3].encode(): now - 2, ids[4].encode(): now - 1}
    assert r.smembers(keys.all_groups(Q)) == {b"g"}
    assert r.exists(*[keys.task(Q, i) for i in ids[:3]]) == 0

    assert await job.run_once() == 0  # two left: below the size, within the grace period

    job.clock = at(61)
    assert await job.run_once() == 1
    assert [t.json()["n"] for t in fn.calls[1][1]] == [3, 4]
    assert [json.loads(m.payload)["ns"] for m in aggregated(r)] == [[0, 1, 2], [3, 4]]
    assert_gone(r, ids)
    assert r.exists(keys.all_groups(Q)) == 0


async def test_a_group_over_the_max_size_gives_several_tasks_in_one_pass(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    ids = grouped(client, 7)
    now = int(time.time())
    set_scores(r, ids, [now - 7 + i for i in range(7)])
    fn = Collect()
    assert await Aggregator(broker, [Q], aggregate=fn, max_size=3).run_once() == 2
    assert [[t.json()["n"] for t in ts] for _, ts in fn.calls] == [[0, 1, 2], [3, 4, 5]]
    assert zset(r, keys.group(Q, "g")) == {ids[6].encode(): now - 1}
    assert len(aggregated(r)) == 2


async def test_reaching_max_size_exactly_empties_the_group(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    ids = grouped(client, 3)
    job = Aggregator(broker, [Q], aggregate=Collect(), max_size=3)
    assert await job.run_once() == 1
    assert_gone(r, ids)
    assert r.exists(keys.all_groups(Q)) == 0


async def test_async_function_and_own_options_in_the_group_queue(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    ids = grouped(client, 2, queue="q2")

    async def combine(group: str, tasks: list[Task]) -> Task:
        await asyncio.sleep(0)
        return Task("batch", b"raw", queue="elsewhere", max_retry=3, timeout=60, retention=30)

    job = Aggregator(broker, ["q2"], aggregate=combine, max_size=2)
    assert await job.run_once() == 1
    [msg] = aggregated(r, "q2")
    assert (msg.type, msg.payload, msg.queue) == ("batch", b"raw", "q2")
    assert (msg.retry, msg.timeout, msg.retention) == (3, 60, 30)
    assert r.exists(keys.pending("elsewhere")) == 0
    assert r.exists(*[keys.task("q2", i) for i in ids]) == 0


async def test_refused_enqueue_leaves_the_set_until_the_recoverer_reclaims_it(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    client.enqueue(Task("other", task_id="taken"))
    ids = grouped(client, 2)
    now = int(time.time())
    set_scores(r, ids, [now - 2, now - 1])
    scores = zset(r, keys.group(Q, "g"))
    fn = Collect()
    refused = Aggregator(
        broker, [Q], aggregate=lambda g, ts: Task("batch", task_id="taken"), clock=at(61)
    )
    now = int(time.time() + 61)

    assert await refused.run_once() == 0

    # The set holds the tasks with their group scores, registered with a 2-minute deadline.
    [(set_key, deadline)] = zset(r, keys.all_aggregation_sets(Q)).items()
    assert re.fullmatch(rb"asynq:\{default\}:g:g:[0-9a-f-]{36}", set_key)
    assert deadline == pytest.approx(now + 120, abs=1)
    assert zset(r, set_key.decode()) == scores
    assert {r.hget(keys.task(Q, i), "state") for i in ids} == {b"aggregating"}
    assert r.exists(keys.group(Q, "g"), keys.all_groups(Q)) == 0
    assert r.lrange(keys.pending(Q), 0, -1) == [b"taken"]

    report = await Recoverer(broker, [Q], clock=lambda: deadline).run_once()

    assert report.reclaimed_sets == 1
    assert zset(r, keys.group(Q, "g")) == scores
    assert r.smembers(keys.all_groups(Q)) == {b"g"}
    assert r.exists(set_key.decode(), keys.all_aggregation_sets(Q)) == 0

    retry = Aggregator(broker, [Q], aggregate=fn, clock=at(61))
    assert await retry.run_once() == 1
    assert [t.json()["n"] for t in fn.calls[0][1]] == [0, 1]
    assert_gone(r, ids)


async def test_failing_function_leaves_the_set(
    broker: AsyncBroker, client: Client, r: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    ids = grouped(client, 2)

    def broken(group: str, tasks: list[Task]) -> Task:
        raise ValueError("cannot combine")

    assert await Aggregator(broker, [Q], aggregate=broken, max_size=2).run_once() == 0
    grouped(client, 2, group="again")
    wrong = Aggregator(broker, [Q], aggregate=lambda g, ts: "not a task", max_size=2)
    assert await wrong.run_once() == 0
    assert "aggregate function failed for group 'g' of queue 'default'" in caplog.text
    assert "ValueError: cannot combine" in caplog.text
    assert "aggregate function returned str for group 'again'" in caplog.text
    # Both sets wait for the recoverer with their tasks; nothing was enqueued.
    sets = r.zrange(keys.all_aggregation_sets(Q), 0, -1)
    assert len(sets) == 2
    staged = [set(zset(r, k.decode())) for k in sets]
    assert {i.encode() for i in ids} in staged
    assert r.exists(keys.pending(Q)) == 0


async def test_without_a_function_groups_wait_and_one_warning_is_logged(
    broker: AsyncBroker, client: Client, r: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    job = Aggregator(broker, [Q, "empty"], grace_period=1, clock=at(3600))
    with caplog.at_level(logging.WARNING, logger="qops.worker.aggregator"):
        assert await job.run_once() == 0
        assert caplog.records == []  # no groups yet: nothing to say
        grouped(client, 2)
        assert await job.run_once() == 0
        assert await job.run_once() == 0
    [record] = caplog.records
    assert "queue 'default' (1)" in record.getMessage()
    assert "no aggregate function" in record.getMessage()
    assert len(zset(r, keys.group(Q, "g"))) == 2
    assert r.exists(keys.all_aggregation_sets(Q)) == 0


async def test_go_asynq_group(broker: AsyncBroker, r: redis.Redis) -> None:
    load_fixture(r, FIXTURES / "asynq-v0.26.0-static.json")
    ids = ["a320aad1-7096-4636-81f4-197bdca9d256", "f88e4675-03e1-4aa2-9ff2-f1af4b41c8c5"]
    assert zset(r, keys.group(Q, "g1")) == {i.encode(): 1795844267 for i in ids}
    pending = r.llen(keys.pending(Q))
    seen: list[bytes] = []

    def combine(group: str, tasks: list[Task]) -> Task:
        seen.extend(t.payload for t in tasks)
        return Task("batch", b"".join(t.payload for t in tasks))

    job = Aggregator(broker, [Q], aggregate=combine, clock=lambda: 1795844267 + 59)
    assert await job.run_once() == 0
    job.clock = lambda: 1795844267 + 60
    assert await job.run_once() == 1

    assert sorted(seen) == [b'{"fixture":"group-1"}', b'{"fixture":"group-2"}']
    assert r.llen(keys.pending(Q)) == pending + 1
    assert aggregated(r)[-1].payload == b"".join(seen)
    assert r.exists(*[keys.task(Q, i) for i in ids]) == 0
    assert r.exists(keys.group(Q, "g1"), keys.all_groups(Q), keys.all_aggregation_sets(Q)) == 0


async def test_loop_aggregates_after_a_short_grace_period(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    grouped(client, 2)
    stopping = asyncio.Event()
    job = Aggregator(broker, [Q], aggregate=Collect(), grace_period=1)
    assert job.interval == 1
    loop = asyncio.ensure_future(job.run(stopping))
    await async_wait_for(lambda: broker.redis.llen(keys.pending(Q)), timeout=10)
    stopping.set()
    await asyncio.wait_for(loop, 1.0)
    assert len(aggregated(r)) == 1


async def test_stop_does_not_wait_for_a_slow_function_and_loses_nothing(
    broker: AsyncBroker, client: Client, r: redis.Redis
) -> None:
    ids = grouped(client, 2)
    entered, release = threading.Event(), threading.Event()

    def slow(group: str, tasks: list[Task]) -> Task:
        entered.set()
        release.wait(10)
        return Task("batch")

    stopping = asyncio.Event()
    loop = asyncio.ensure_future(Aggregator(broker, [Q], aggregate=slow, max_size=2).run(stopping))
    await async_wait_for(lambda: asyncio.to_thread(entered.wait, 0.05))
    stopping.set()
    await asyncio.wait_for(loop, 1.0)
    release.set()

    # The tasks wait in their set for the recoverer; nothing was enqueued or deleted.
    [set_key] = r.zrange(keys.all_aggregation_sets(Q), 0, -1)
    assert set(zset(r, set_key.decode())) == {i.encode() for i in ids}
    assert r.exists(keys.pending(Q)) == 0
    assert r.exists(*[keys.task(Q, i) for i in ids]) == 2


async def test_default_interval_and_option_checks(broker: AsyncBroker) -> None:
    b = broker
    assert Aggregator(b, [Q]).interval == 7
    assert Aggregator(b, [Q], grace_period=3).interval == 3
    assert Aggregator(b, [Q], grace_period=3, interval=0.5).interval == 0.5
    with pytest.raises(InvalidInputError, match="group grace period must be at least 1 second,"):
        Aggregator(b, [Q], grace_period=0.5)
    with pytest.raises(InvalidInputError, match="group max delay must be 0 or more seconds"):
        Aggregator(b, [Q], max_delay=-1)
    with pytest.raises(InvalidInputError, match="group max size must be an integer >= 0"):
        Aggregator(b, [Q], max_size=-1)
    with pytest.raises(InvalidInputError, match="aggregate function must be callable"):
        Aggregator(b, [Q], aggregate="nope")  # type: ignore[arg-type]
