"""Forwarder, recoverer and janitor against a real redis-server: exact Redis end states."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from qops import Client, Task
from qops.errors import InvalidInputError, LeaseExpiredError
from qops.storage import keys, wire
from qops.storage.broker import AsyncBroker
from qops.worker.backoff import default_retry_delay
from qops.worker.forwarder import Forwarder
from qops.worker.janitor import Janitor
from qops.worker.recoverer import Recoverer
from tests.conftest import FIXTURES
from tests.helpers import async_wait_for
from tests.redis_server import free_port, load_fixture

Q = "default"
T = int(time.time())  # a fixed "now" for the injected clocks
DAY = 86400
INT64_MAX = 9223372036854775807


@pytest.fixture
async def broker(redis_url: str) -> AsyncIterator[AsyncBroker]:
    b = AsyncBroker.from_url(redis_url)
    yield b
    await b.close()


def clock(at: float) -> Any:
    return lambda: at


def put(
    r: redis.Redis,
    state: str,
    task_id: str,
    score: float = 0,
    *,
    queue: str = Q,
    retried: int = 0,
    retry: int = 25,
    group: str = "",
) -> bytes:
    """Store a task in ``state`` the way Asynq's scripts leave it; returns its msg."""
    msg = wire.encode(
        wire.TaskMessage(
            type="work",
            payload=b'{"n":1}',
            id=task_id,
            queue=queue,
            retry=retry,
            retried=retried,
            timeout=1800,
        )
    )
    key = keys.task(queue, task_id)
    r.hset(key, mapping={"msg": msg, "state": state})
    if group:
        r.hset(key, "group", group)
    if state == "active":
        r.lpush(keys.active(queue), task_id)
        r.zadd(keys.lease(queue), {task_id: score})
    elif state in ("scheduled", "retry", "archived", "completed"):
        r.zadd(keys.state_key(queue, state), {task_id: score})
    return msg


def decoded(r: redis.Redis, task_id: str, queue: str = Q) -> Any:
    return wire.decode_task(r.hget(keys.task(queue, task_id), "msg"), "test")


def zset(r: redis.Redis, key: str) -> dict[bytes, float]:
    return dict(r.zrange(key, 0, -1, withscores=True))


def subscribe(r: redis.Redis, queue: str = Q) -> Any:
    p = r.pubsub()
    p.subscribe(keys.wake_channel(queue))
    assert p.get_message(timeout=5)["type"] == "subscribe"
    return p


def messages_until_marker(r: redis.Redis, p: Any, queue: str = Q) -> list[bytes]:
    """Wake messages published so far: publish a marker and read up to it."""
    r.publish(keys.wake_channel(queue), "marker")
    out = []
    while (m := p.get_message(timeout=5)) is not None and m["data"] != b"marker":
        out.append(m["data"])
    assert m is not None, "marker not received"
    return out


# -- forwarder -----------------------------------------------------------------------------


async def test_forwarder_moves_due_scheduled_and_retry_tasks(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    put(r, "scheduled", "s-old", T - 10)
    put(r, "scheduled", "s-now", T)
    put(r, "scheduled", "s-future", T + 1)
    put(r, "retry", "r-due", T - 5)
    put(r, "retry", "r-future", T + 100)
    p = subscribe(r)

    moved = await Forwarder(broker, [Q], clock=clock(T + 0.5)).run_once()

    assert moved == 3
    # Scheduled before retry, oldest first; the right end runs first.
    assert r.lrange(keys.pending(Q), 0, -1) == [b"r-due", b"s-now", b"s-old"]
    assert zset(r, keys.scheduled(Q)) == {b"s-future": T + 1}
    assert zset(r, keys.retry(Q)) == {b"r-future": T + 100}
    ns = str(int((T + 0.5) * 1_000_000_000)).encode()
    for task_id in ("s-old", "s-now", "r-due"):
        assert r.hgetall(keys.task(Q, task_id)) == {
            b"msg": decoded(r, task_id).SerializeToString(deterministic=True),
            b"state": b"pending",
            b"pending_since": ns,
        }
    assert r.hget(keys.task(Q, "s-future"), "state") == b"scheduled"
    # One wake-up per script call that made tasks pending, carrying the count.
    assert messages_until_marker(r, p) == [b"2", b"1"]


async def test_forwarder_sends_grouped_task_to_its_group(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    with Client(broker.url) as c:
        info = c.enqueue(Task("work", {"n": 1}, group="g1", process_in=3600))
    assert r.hget(keys.task(Q, info.id), "group") == b"g1"
    p = subscribe(r)
    now = time.time() + 3601

    assert await Forwarder(broker, [Q], clock=clock(now)).run_once() == 1

    assert zset(r, keys.group(Q, "g1")) == {info.id.encode(): int(now)}
    assert r.smembers(keys.all_groups(Q)) == {b"g1"}
    assert r.hget(keys.task(Q, info.id), "state") == b"aggregating"
    assert r.exists(keys.pending(Q), keys.scheduled(Q)) == 0
    assert messages_until_marker(r, p) == []


async def test_forwarder_moves_more_than_one_batch_in_a_pass(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    for i in range(250):
        put(r, "scheduled", f"t{i:03}", T - 1000 + i)

    assert await Forwarder(broker, [Q], clock=clock(T)).run_once() == 250

    pending = r.lrange(keys.pending(Q), 0, -1)
    assert pending == [f"t{i:03}".encode() for i in reversed(range(250))]
    assert r.exists(keys.scheduled(Q)) == 0


async def test_forwarder_drops_ids_without_a_task_hash(broker: AsyncBroker, r: redis.Redis) -> None:
    r.zadd(keys.scheduled(Q), {"ghost": T - 1})
    assert await Forwarder(broker, [Q], clock=clock(T)).run_once() == 1
    assert r.exists(keys.scheduled(Q), keys.pending(Q), keys.task(Q, "ghost")) == 0


async def test_forwarder_on_go_asynq_data(broker: AsyncBroker, r: redis.Redis) -> None:
    load_fixture(r, FIXTURES / "asynq-v0.26.0-static.json")
    before = r.lrange(keys.pending(Q), 0, -1)
    due = ["3bc99eca-7ba7-4848-9e6a-97f34249d190", "b562ce78-aa18-488f-8f07-de9410b1da93"]
    go_msgs = {i: r.hget(keys.task(Q, i), "msg") for i in due}

    # The fixture's retry task and first scheduled task are due then; the second is not.
    moved = await Forwarder(broker, [Q, "critical"], clock=clock(1795847867)).run_once()

    assert moved == 2
    after = r.lrange(keys.pending(Q), 0, -1)
    assert after[2:] == before
    assert after[:2] == [due[1].encode(), due[0].encode()]  # scheduled first, then retry
    assert zset(r, keys.scheduled(Q)) == {b"77f79a4b-9cfd-42ce-8da7-c8ebd4b4867e": 1795851467}
    assert r.exists(keys.retry(Q)) == 0
    for task_id, msg in go_msgs.items():
        h = r.hgetall(keys.task(Q, task_id))
        assert (h[b"msg"], h[b"state"]) == (msg, b"pending")
        assert int(h[b"pending_since"]) == 1795847867 * 1_000_000_000


async def test_forwarder_loop_forwards_and_stops_promptly(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.ensure_future(Forwarder(broker, [Q], interval=0.02).run(stopping))
    put(r, "scheduled", "soon", int(time.time()) - 1)

    await async_wait_for(lambda: broker.redis.llen(keys.pending(Q)))
    stopping.set()
    await asyncio.wait_for(loop, 1.0)
    assert r.lrange(keys.pending(Q), 0, -1) == [b"soon"]


class _Counting(Forwarder):
    passes = 0

    async def run_once(self) -> int:
        self.passes += 1
        return await super().run_once()


async def test_loop_survives_redis_down_and_logs_once_with_masked_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = AsyncBroker.from_url(f"redis://:s3cret@127.0.0.1:{free_port()}/0")
    job = _Counting(dead, [Q], interval=0.01)
    stopping = asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="qops.worker.forwarder"):
        loop = asyncio.ensure_future(job.run(stopping))

        async def many_passes() -> bool:
            return job.passes >= 5

        await async_wait_for(many_passes)
        stopping.set()
        await asyncio.wait_for(loop, 1.0)
    await dead.close()
    assert len(caplog.records) == 1
    text = caplog.records[0].getMessage()
    assert "forwarder" in text and ":***@127.0.0.1" in text and "s3cret" not in text


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda b: Forwarder(b, [Q], interval=0), "forwarder interval must be more than 0"),
        (lambda b: Forwarder(b, [Q], batch_size=0), "forwarder batch size must be an integer"),
        (lambda b: Recoverer(b, [Q], skew=-1), "recoverer skew must be 0 or more"),
        (lambda b: Recoverer(b, [Q], delay=-1), "recovery delay must be 0 or more"),
        (lambda b: Janitor(b, [Q], interval="5"), "janitor interval must be seconds"),
        (lambda b: Janitor(b, ["bad queue"], interval=1), "invalid queue name"),
    ],
)
async def test_options_are_checked(broker: AsyncBroker, make: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        make(broker)


# -- recoverer -----------------------------------------------------------------------------


def counters(r: redis.Redis, now: float = T) -> dict[str, Any]:
    day = datetime.fromtimestamp(now, UTC)
    p_day, f_day = keys.processed_day(Q, day), keys.failed_day(Q, day)
    return {
        "processed": r.get(keys.processed_total(Q)),
        "failed": r.get(keys.failed_total(Q)),
        "processed_day": r.get(p_day),
        "failed_day": r.get(f_day),
        "expire": {r.expiretime(p_day), r.expiretime(f_day)},
    }


ONE_FAILURE = {
    "processed": b"1",
    "failed": b"1",
    "processed_day": b"1",
    "failed_day": b"1",
    "expire": {T + 90 * DAY},
}


async def test_recoverer_with_a_delay_sends_expired_lease_to_retry(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    put(r, "active", "lost", T - 6)
    put(r, "active", "alive", T - 4)  # within the 5 s skew allowance
    calls = []

    def delay(n: int, error: BaseException, task: Task) -> float:
        calls.append((n, error, task))
        return 42

    report = await Recoverer(broker, [Q], delay=delay, clock=clock(T)).run_once()

    assert (report.retried, report.archived, report.pending, report.stale) == (1, 0, 0, 0)
    assert r.lrange(keys.active(Q), 0, -1) == [b"alive"]
    assert zset(r, keys.lease(Q)) == {b"alive": T - 4}
    assert zset(r, keys.retry(Q)) == {b"lost": T + 42}
    assert r.hget(keys.task(Q, "lost"), "state") == b"retry"
    m = decoded(r, "lost")
    assert (m.retried, m.error_msg, m.last_failed_at, m.type) == (
        1,
        "task lease expired",
        T,
        "work",
    )
    [(n, error, task)] = calls
    assert n == 0 and isinstance(error, LeaseExpiredError)
    assert (task.id, task.queue, task.retried, task.max_retry) == ("lost", Q, 0, 25)
    assert counters(r) == ONE_FAILURE


async def test_recoverer_with_asynq_backoff(broker: AsyncBroker, r: redis.Redis) -> None:
    put(r, "active", "lost", T - 60, retried=1)
    await Recoverer(broker, [Q], delay=default_retry_delay, clock=clock(T)).run_once()
    [(member, score)] = zset(r, keys.retry(Q)).items()
    assert member == b"lost"
    assert T + 16 <= score <= T + 16 + 29 * 2  # 1**4 + 15 + rand(0..29) * 2
    assert decoded(r, "lost").retried == 2


async def test_recoverer_archives_when_retries_are_used_up(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    put(r, "active", "done-for", T - 30, retried=3, retry=3)
    report = await Recoverer(broker, [Q], clock=clock(T)).run_once()
    assert report.archived == 1
    assert r.exists(keys.active(Q), keys.lease(Q), keys.retry(Q)) == 0
    assert zset(r, keys.archived(Q)) == {b"done-for": T}
    assert r.hget(keys.task(Q, "done-for"), "state") == b"archived"
    m = decoded(r, "done-for")
    assert (m.retried, m.error_msg, m.last_failed_at) == (3, "task lease expired", T)
    assert counters(r) == ONE_FAILURE


async def test_recoverer_by_default_makes_task_pending_and_wakes_workers(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    put(r, "active", "lost", T - 6)
    r.lpush(keys.pending(Q), "waiting-1", "waiting-2")
    p = subscribe(r)
    job = Recoverer(broker, [Q], clock=clock(T))
    assert job.delay == 0
    report = await job.run_once()
    assert report.pending == 1
    # Back at the head (the right end, where workers take from): it runs next.
    assert r.lrange(keys.pending(Q), 0, -1) == [b"waiting-2", b"waiting-1", b"lost"]
    assert r.exists(keys.retry(Q), keys.active(Q), keys.lease(Q)) == 0
    h = r.hgetall(keys.task(Q, "lost"))
    assert (h[b"state"], h[b"pending_since"]) == (b"pending", str(T * 1_000_000_000).encode())
    assert decoded(r, "lost").retried == 1
    assert messages_until_marker(r, p) == [b"1"]
    assert counters(r) == ONE_FAILURE


async def test_recoverer_makes_task_pending_when_the_delay_function_fails(
    broker: AsyncBroker, r: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    put(r, "active", "lost", T - 6)
    put(r, "active", "negative", T - 6)

    def broken(n: int, e: BaseException, t: Task) -> float:
        if t.id == "negative":
            return -5
        raise RuntimeError("boom")

    report = await Recoverer(broker, [Q], delay=broken, clock=clock(T)).run_once()
    assert report.pending == 2
    assert sorted(r.lrange(keys.pending(Q), 0, -1)) == [b"lost", b"negative"]
    assert "recovery delay function failed for task lost: boom" in caplog.text
    assert "for task negative: recovery delay must be 0 or more seconds, got -5.0" in caplog.text


async def test_recoverer_cleans_entries_that_point_at_no_active_task(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    # No task hash at all, in lease and active.
    r.zadd(keys.lease(Q), {"ghost": T - 60})
    r.lpush(keys.active(Q), "ghost")
    # A lease entry left over for a task that already lives in retry.
    retry_msg = put(r, "retry", "moved-on", T + 500)
    r.zadd(keys.lease(Q), {"moved-on": T - 60})
    # Active by its hash and lease, but missing from the active list: still recovered.
    put(r, "active", "unlisted", T - 60)
    r.lrem(keys.active(Q), 0, "unlisted")
    job = Recoverer(broker, [Q], delay=10, clock=clock(T))

    report = await job.run_once()

    assert (report.stale, report.retried) == (2, 1)
    assert r.exists(keys.lease(Q), keys.active(Q), keys.task(Q, "ghost")) == 0
    assert r.hgetall(keys.task(Q, "moved-on")) == {b"msg": retry_msg, b"state": b"retry"}
    assert zset(r, keys.retry(Q)) == {b"moved-on": T + 500, b"unlisted": T + 10}
    # Counted once: only the recovered task is a failure.
    assert r.get(keys.failed_total(Q)) == b"1"
    again = await job.run_once()
    assert (again.stale, again.recovered) == (0, 0)


class _RenewingRecoverer(Recoverer):
    """Renews every lease between listing and recovering, as a slow live worker would."""

    async def _recover(self, queue: str, entries: Any, *args: Any) -> bool:
        for task_id, _ in entries:
            await self.broker.redis.zadd(keys.lease(queue), {task_id: T + 30})
        return await super()._recover(queue, entries, *args)


async def test_recoverer_leaves_a_lease_renewed_meanwhile(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    msg = put(r, "active", "slow", T - 6)
    report = await _RenewingRecoverer(broker, [Q], clock=clock(T)).run_once()
    assert report.recovered == 0
    assert r.lrange(keys.active(Q), 0, -1) == [b"slow"]
    assert zset(r, keys.lease(Q)) == {b"slow": T + 30}
    assert r.hgetall(keys.task(Q, "slow")) == {b"msg": msg, b"state": b"active"}
    assert r.exists(keys.processed_total(Q)) == 0


async def test_recoverer_wraps_total_counters_at_int64_max(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    r.set(keys.processed_total(Q), INT64_MAX)
    r.set(keys.failed_total(Q), 12)
    put(r, "active", "lost", T - 6)
    await Recoverer(broker, [Q], clock=clock(T)).run_once()
    assert (r.get(keys.processed_total(Q)), r.get(keys.failed_total(Q))) == (b"1", b"1")


async def test_recoverer_trims_the_archive_by_age_and_size(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(10_000):
        pipe.zadd(keys.archived(Q), {f"a{i:05}": T - 20_000 + i})
    pipe.execute()
    put(r, "archived", "a00000", T - 20_000)  # the oldest, with a hash
    put(r, "archived", "ancient", T - 91 * DAY)
    put(r, "archived", "a09999", T - 20_000 + 9_999)
    put(r, "active", "last", T - 6, retried=25, retry=25)

    await Recoverer(broker, [Q], clock=clock(T)).run_once()

    archived = zset(r, keys.archived(Q))
    # Asynq's cap: the newest 9 999 entries stay (the new one included).
    assert len(archived) == 9_999
    assert archived[b"last"] == T
    assert b"ancient" not in archived and b"a00000" not in archived
    assert min(archived.values()) == T - 20_000 + 2
    assert r.exists(keys.task(Q, "ancient"), keys.task(Q, "a00000")) == 0
    assert r.hget(keys.task(Q, "a09999"), "state") == b"archived"


async def test_recoverer_on_go_asynq_worker_data(broker: AsyncBroker, r: redis.Redis) -> None:
    load_fixture(r, FIXTURES / "asynq-v0.26.0-live.json")
    task_id = "d64b798d-0f3c-4e57-b3b2-0e54a7de734c"
    lease = 1795844308
    job = Recoverer(broker, ["live"], delay=timedelta(minutes=1), clock=clock(lease + 4.9))
    assert (await job.run_once()).recovered == 0  # within the skew allowance: not yet

    job.clock = clock(lease + 5)
    assert (await job.run_once()).retried == 1

    assert r.exists(keys.active("live"), keys.lease("live")) == 0
    assert zset(r, keys.retry("live")) == {task_id.encode(): lease + 65}
    m = decoded(r, task_id, "live")
    assert (m.type, m.payload, m.retried, m.error_msg) == (
        "sleep",
        b"60000",
        1,
        "task lease expired",
    )


async def test_recovery_timing_with_the_defaults(broker: AsyncBroker, r: redis.Redis) -> None:
    """A worker killed right after renewing leaves a lease 30 s ahead of the crash."""
    crash = T
    put(r, "active", "orphan", crash + 30)
    job = Recoverer(broker, [Q], clock=clock(crash + 34.9))
    assert (job.interval, job.skew, job.delay) == (5.0, 5.0, 0.0)
    assert (await job.run_once()).recovered == 0
    # Due at crash + 35; the next pass comes at most one interval later: 40 s worst case,
    # and the task is then pending, to run at once.
    job.clock = clock(crash + 35)
    assert (await job.run_once()).pending == 1
    assert r.lrange(keys.pending(Q), 0, -1) == [b"orphan"]


async def test_recoverer_loop_recovers_in_real_time(broker: AsyncBroker, r: redis.Redis) -> None:
    put(r, "active", "orphan", int(time.time()) - 1)
    stopping = asyncio.Event()
    job = Recoverer(broker, [Q], interval=0.02, skew=0)
    loop = asyncio.ensure_future(job.run(stopping))
    await async_wait_for(lambda: broker.redis.llen(keys.pending(Q)))
    stopping.set()
    await asyncio.wait_for(loop, 1.0)
    assert r.exists(keys.active(Q), keys.lease(Q)) == 0


async def test_recoverer_reclaims_stale_aggregation_sets(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    stale = keys.aggregation_set(Q, "g1", "1a6b3e34-4f65-4ad4-8f7e-7b0c1d2f3a4b")
    fresh = keys.aggregation_set(Q, "g2", "9c1f0d2e-0b1a-4c3d-9e8f-6a5b4c3d2e1f")
    for task_id in ("a", "b", "c", "d"):
        put(r, "aggregating", task_id)
    r.zadd(stale, {"a": 100, "b": 200})
    r.zadd(keys.group(Q, "g1"), {"c": 300})
    r.zadd(fresh, {"d": 400})
    r.zadd(keys.all_aggregation_sets(Q), {stale: T - 1, fresh: T + 60})

    report = await Recoverer(broker, [Q], clock=clock(T)).run_once()

    assert report.reclaimed_sets == 1
    assert zset(r, keys.group(Q, "g1")) == {b"a": 100, b"b": 200, b"c": 300}
    assert r.exists(stale) == 0
    assert zset(r, fresh) == {b"d": 400}
    assert zset(r, keys.all_aggregation_sets(Q)) == {fresh.encode(): T + 60}
    # Asynq forgets the group name here; qops lists it again so it gets aggregated.
    assert r.smembers(keys.all_groups(Q)) == {b"g1"}
    assert {r.hget(keys.task(Q, i), "state") for i in "abcd"} == {b"aggregating"}


# -- janitor -------------------------------------------------------------------------------


async def test_janitor_deletes_expired_completed_tasks_only(
    broker: AsyncBroker, r: redis.Redis
) -> None:
    for i in range(230):
        put(r, "completed", f"old{i}", T - i)
    kept = put(r, "completed", "kept", T + 1)

    assert await Janitor(broker, [Q], clock=clock(T)).run_once() == 230

    assert zset(r, keys.completed(Q)) == {b"kept": T + 1}
    assert r.hgetall(keys.task(Q, "kept")) == {b"msg": kept, b"state": b"completed"}
    assert r.keys(keys.task(Q, "old*")) == []


async def test_janitor_defaults(broker: AsyncBroker) -> None:
    job = Janitor(broker, [Q, Q, "low"])
    assert (job.interval, job.batch_size, job.queues) == (8.0, 100, [Q, "low"])
