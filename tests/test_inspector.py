"""`qops.Inspector` against a real redis-server: reads, actions, their exact end state, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from qops import Client
from qops.errors import (
    ConnectionFailedError,
    CorruptTaskError,
    InvalidArgumentError,
    InvalidInputError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueueStateError,
    TaskNotFoundError,
    TaskStateError,
)
from qops.inspection import reading
from qops.inspector import Inspector
from qops.models import TaskState, utc_from_unix
from qops.storage import keys, wire
from tests.redis_server import free_port
from tests.seed import put, put_many

Q = "q1"


@pytest.fixture
def insp(redis_url: str) -> Iterator[Inspector]:
    with Inspector(redis_url) as inspector:
        yield inspector


@pytest.fixture
def client(redis_url: str) -> Iterator[Client]:
    with Client(redis_url) as c:
        yield c


def ids(tasks: Any) -> list[str]:
    return [t.id for t in tasks]


def today() -> datetime:
    return datetime.now(UTC)


def count_round_trips(insp: Inspector, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Round trips made through the broker, each as the number of commands it carried."""
    trips: list[int] = []
    run, call = insp.broker.run, insp.broker.call
    inside_run = False

    def counted_run(calls: Any, **kw: Any) -> Any:
        nonlocal inside_run
        trips.append(len(calls))
        inside_run = True  # a one-command run goes out through call
        try:
            return run(calls, **kw)
        finally:
            inside_run = False

    def counted_call(c: Any) -> Any:
        if not inside_run:
            trips.append(1)
        return call(c)

    monkeypatch.setattr(insp.broker, "run", counted_run)
    monkeypatch.setattr(insp.broker, "call", counted_call)
    return trips


# -- queues ---------------------------------------------------------------------------------


def test_queues_sorted_and_unknown_queue(insp: Inspector, r: redis.Redis) -> None:
    assert insp.queues() == []
    r.sadd(keys.ALL_QUEUES, "zeta", "alpha", "mid")
    assert insp.queues() == ["alpha", "mid", "zeta"]
    with pytest.raises(QueueNotFoundError, match="'nope'"):
        insp.queue_info("nope")
    for call in (
        lambda: insp.list_tasks("nope", "pending"),
        lambda: insp.get_task("nope", "x"),
        lambda: insp.history("nope"),
        lambda: insp.groups("nope"),
        lambda: insp.pause("nope"),
        lambda: insp.delete_queue("nope"),
        lambda: insp.run_all("nope", "retry"),
        lambda: insp.count_tasks("nope", "pending"),
    ):
        with pytest.raises(QueueNotFoundError):
            call()
    assert not r.exists(keys.paused("nope"))


def test_queue_info_counts_counters_latency_and_memory(insp: Inspector, r: redis.Redis) -> None:
    now = time.time()
    put(r, Q, "pending", pending_since=int((now - 30) * 1e9))  # oldest: pushed first
    put(r, Q, "pending")
    put(r, Q, "active", score=now + 30)
    put(r, Q, "scheduled", score=now + 60)
    put(r, Q, "retry")
    put(r, Q, "archived")
    put(r, Q, "completed", score=now + 3600)
    put(r, Q, "aggregating", group="g1")
    put(r, Q, "aggregating", group="g2")
    put(r, Q, "aggregating", group="g2")
    r.set(keys.processed_day(Q, today()), 7)
    r.set(keys.failed_day(Q, today()), 3)
    r.set(keys.processed_day(Q, today() - timedelta(days=1)), 100)
    r.set(keys.processed_total(Q), 1234)
    r.set(keys.failed_total(Q), 56)
    r.set(keys.paused(Q), int(now))
    info = insp.queue_info(Q)
    assert (info.pending, info.active, info.scheduled, info.retry) == (2, 1, 1, 1)
    assert (info.archived, info.completed, info.aggregating, info.groups) == (1, 1, 3, 2)
    assert info.size == 10
    assert (info.processed, info.failed, info.processed_total, info.failed_total) == (
        7,
        3,
        1234,
        56,
    )
    assert info.paused
    assert info.latency == pytest.approx(30, abs=5)
    assert info.memory_usage > 10 * 50  # ten task hashes of some dozens of bytes at least
    assert abs(info.timestamp.timestamp() - time.time()) < 5
    assert info.error_rate == pytest.approx(3 / 7)


def test_queue_info_of_an_empty_queue(insp: Inspector, r: redis.Redis) -> None:
    r.sadd(keys.ALL_QUEUES, Q)
    info = insp.queue_info(Q)
    assert (info.size, info.latency, info.paused, info.groups, info.processed) == (
        0,
        0,
        False,
        0,
        0,
    )


def test_queue_info_survives_garbage(insp: Inspector, r: redis.Redis) -> None:
    put(r, Q, "pending", pending_since="yesterday")  # type: ignore[arg-type]
    r.set(keys.processed_day(Q, today()), "lots")
    r.hset(keys.failed_total(Q), "x", "1")  # wrong type
    r.set(keys.processed_total(Q), "-5")
    r.set(keys.scheduled(Q), "not a zset")
    info = insp.queue_info(Q)
    assert (info.pending, info.scheduled, info.processed, info.failed_total) == (1, 0, 0, 0)
    assert info.processed_total == 0
    assert info.latency == 0
    assert insp.history(Q, 1)[0].processed == 0
    assert insp.list_tasks(Q, "scheduled") == []
    assert insp.count_tasks(Q, "scheduled") == 0


def test_queue_infos_all_queues_in_one_round_trip(
    insp: Inspector, r: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    for q in ("b", "a", "c"):
        put(r, q, "pending")
    trips = count_round_trips(insp, monkeypatch)
    assert [i.queue for i in insp.queue_infos()] == ["a", "b", "c"]
    assert len(trips) == 2  # names, then the stats of queues not seen before
    trips.clear()
    infos = insp.queue_infos()
    assert trips == [4]  # SMEMBERS and three stats scripts, one pipeline
    assert [i.pending for i in infos] == [1, 1, 1]
    put(r, "d", "retry")
    r.srem(keys.ALL_QUEUES, "b")
    trips.clear()
    assert [(i.queue, i.retry) for i in insp.queue_infos()] == [("a", 0), ("c", 0), ("d", 1)]
    assert len(trips) == 2
    trips.clear()
    assert [i.queue for i in insp.queue_infos(["c", "a", "c"])] == ["a", "c"]
    assert trips == [4]
    with pytest.raises(QueueNotFoundError, match="'b'"):
        insp.queue_infos(["a", "b"])
    assert insp.queue_infos([]) == []


def test_many_groups_are_counted_from_a_bounded_sample(insp: Inspector, r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(1500):
        put(pipe, Q, "aggregating", group=f"g{i}")
    pipe.execute()
    info = insp.queue_info(Q)
    # A random sample of the groups (one task each) stands for all 1500.
    assert (info.groups, info.aggregating, info.size) == (1500, 1500, 1500)
    assert insp.count_tasks(Q, "aggregating") == 1500
    assert len(insp.groups(Q)) == 1500


def test_history_today_first(insp: Inspector, r: redis.Redis) -> None:
    put(r, Q, "pending")
    r.set(keys.processed_day(Q, today()), 5)
    r.set(keys.failed_day(Q, today()), 1)
    r.set(keys.processed_day(Q, today() - timedelta(days=2)), 9)
    days = insp.history(Q, 3)
    assert [(d.date, d.processed, d.failed) for d in days] == [
        (f"{today():%Y-%m-%d}", 5, 1),
        (f"{today() - timedelta(days=1):%Y-%m-%d}", 0, 0),
        (f"{today() - timedelta(days=2):%Y-%m-%d}", 9, 0),
    ]
    assert len(insp.history(Q)) == 7
    with pytest.raises(InvalidArgumentError, match="days"):
        insp.history(Q, 0)


def test_groups_sorted_with_sizes(insp: Inspector, r: redis.Redis) -> None:
    put(r, Q, "aggregating", group="beta")
    put(r, Q, "aggregating", group="alpha")
    put(r, Q, "aggregating", group="beta")
    assert [(g.group, g.size) for g in insp.groups(Q)] == [("alpha", 1), ("beta", 2)]


def test_pause_and_unpause(insp: Inspector, r: redis.Redis) -> None:
    put(r, Q, "pending")
    insp.pause(Q)
    assert int(r.get(keys.paused(Q)) or 0) == pytest.approx(time.time(), abs=5)
    assert insp.queue_info(Q).paused
    with pytest.raises(QueueStateError, match="already paused"):
        insp.pause(Q)
    insp.unpause(Q)
    assert not r.exists(keys.paused(Q))
    with pytest.raises(QueueStateError, match="not paused"):
        insp.unpause(Q)


# -- listing ----------------------------------------------------------------------------------


def test_pending_pages_next_to_run_first(insp: Inspector, client: Client) -> None:
    enqueued = [client.enqueue("email", {"n": i}, queue=Q).id for i in range(5)]
    assert ids(insp.list_tasks(Q, "pending", page_size=2)) == enqueued[:2]
    assert ids(insp.list_tasks(Q, "pending", page=2, page_size=2)) == enqueued[2:4]
    assert ids(insp.list_tasks(Q, "pending", page=3, page_size=2)) == enqueued[4:]
    assert insp.list_tasks(Q, "pending", page=4, page_size=2) == []
    assert ids(insp.list_tasks(Q, "pending", page_size=5)) == enqueued
    first = insp.list_tasks(Q, TaskState.PENDING, page_size=1)[0]
    assert (first.type, first.payload, first.queue) == ("email", b'{"n":0}', Q)
    assert first.next_process_at is not None
    assert abs(first.next_process_at.timestamp() - time.time()) < 5


def test_pending_tasks_carry_when_they_became_pending(
    insp: Inspector, client: Client, r: redis.Redis
) -> None:
    before = time.time()
    pending = client.enqueue("email", {}, queue=Q)
    later = client.enqueue("email", {}, queue=Q, process_in=60)
    ns = int(r.hget(keys.task(Q, pending.id), "pending_since") or 0)
    got = insp.get_task(Q, pending.id)
    assert got.pending_since == utc_from_unix(ns / 1e9)
    assert insp.list_tasks(Q, "pending")[0].pending_since == got.pending_since
    assert before - 1 <= got.pending_since.timestamp() <= time.time() + 1
    assert insp.get_task(Q, later.id).pending_since is None
    assert insp.list_tasks(Q, "scheduled")[0].pending_since is None
    r.hset(keys.task(Q, pending.id), "pending_since", "soon")  # unreadable: unknown
    assert insp.get_task(Q, pending.id).pending_since is None
    r.hdel(keys.task(Q, pending.id), "pending_since")
    assert insp.list_tasks(Q, "pending")[0].pending_since is None


def test_zset_states_ordered_by_score(insp: Inspector, r: redis.Redis) -> None:
    now = int(time.time())
    late = put(r, Q, "scheduled", score=now + 300)
    soon = put(r, Q, "scheduled", score=now + 60)
    listed = insp.list_tasks(Q, "scheduled")
    assert ids(listed) == [soon, late]
    assert [t.next_process_at for t in listed] == [
        datetime.fromtimestamp(now + 60, UTC),
        datetime.fromtimestamp(now + 300, UTC),
    ]
    old = put(r, Q, "archived", score=now - 100)
    new = put(r, Q, "archived", score=now - 10)
    assert ids(insp.list_tasks(Q, "archived")) == [old, new]
    assert all(t.next_process_at is None for t in insp.list_tasks(Q, "archived"))


def test_page_boundaries_on_a_large_state(insp: Inspector, r: redis.Redis) -> None:
    all_ids = put_many(r, Q, "retry", 2500)
    # A page bigger than one script window is still one round trip of windows.
    assert ids(insp.list_tasks(Q, "retry", page_size=1200)) == all_ids[:1200]
    assert ids(insp.list_tasks(Q, "retry", page=2, page_size=1200)) == all_ids[1200:2400]
    assert ids(insp.list_tasks(Q, "retry", page=3, page_size=1200)) == all_ids[2400:]
    assert ids(insp.list_tasks(Q, "retry", page=84, page_size=30)) == all_ids[2490:]
    pending = put_many(r, Q, "pending", 35, prefix="p")
    assert ids(insp.list_tasks(Q, "pending", page=2, page_size=30)) == pending[30:]


def test_active_tasks_orphaned_when_the_lease_is_gone(insp: Inspector, r: redis.Redis) -> None:
    now = time.time()
    alive = put(r, Q, "active", score=now + 30)
    expired = put(r, Q, "active", score=now - 1)
    no_lease = put(r, Q, "active")
    r.zrem(keys.lease(Q), no_lease)
    listed = {t.id: t for t in insp.list_tasks(Q, "active")}
    assert not listed[alive].is_orphaned
    assert listed[expired].is_orphaned
    assert listed[no_lease].is_orphaned
    assert listed[alive].next_process_at is None
    assert insp.get_task(Q, expired).is_orphaned
    assert not insp.get_task(Q, alive).is_orphaned


def test_aggregating_across_groups_and_in_one(insp: Inspector, r: redis.Redis) -> None:
    b = put_many(r, Q, "aggregating", 3, prefix="b", group="bb")
    a = put_many(r, Q, "aggregating", 2, prefix="a", group="aa")
    assert ids(insp.list_tasks(Q, "aggregating")) == a + b
    assert ids(insp.list_tasks(Q, "aggregating", page=2, page_size=2)) == b[:2]
    assert ids(insp.list_tasks(Q, "aggregating", page=2, page_size=3)) == b[1:]
    assert ids(insp.list_tasks(Q, "aggregating", group="bb", page_size=2)) == b[:2]
    assert insp.list_tasks(Q, "aggregating", group="none") == []
    assert {t.group for t in insp.list_tasks(Q, "aggregating")} == {"aa", "bb"}
    assert ids(insp.iter_tasks(Q, "aggregating", batch=2)) == a + b
    assert insp.count_tasks(Q, "aggregating") == 5


def test_type_filter_scans_forward(
    insp: Inspector, r: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "SCAN", 7)  # several scan windows per page
    every = put_many(r, Q, "scheduled", 60, types=["send", "resize", "sender"])
    sends = every[0::3]
    assert ids(insp.list_tasks(Q, "scheduled", task_type="send", page_size=4)) == sends[:4]
    page3 = insp.list_tasks(Q, "scheduled", task_type="send", page=3, page_size=4)
    assert ids(page3) == sends[8:12]
    assert {t.type for t in page3} == {"send"}
    assert ids(insp.list_tasks(Q, "scheduled", task_type="send", page=5, page_size=5)) == []
    assert insp.list_tasks(Q, "scheduled", task_type="missing") == []
    assert insp.count_tasks(Q, "scheduled", task_type="sender") == 20
    assert insp.count_tasks(Q, "scheduled") == 60
    assert ids(insp.iter_tasks(Q, "scheduled", batch=3, task_type="resize")) == every[1::3]
    pending = put_many(r, Q, "pending", 10, prefix="p", types=["send", "other"])
    assert ids(insp.list_tasks(Q, "pending", task_type="send", page=2, page_size=2)) == [
        pending[4],
        pending[6],
    ]


def test_iter_tasks_reads_every_task_once(
    insp: Inspector, r: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    all_ids = put_many(r, Q, "archived", 2500)
    trips = count_round_trips(insp, monkeypatch)
    it = insp.iter_tasks(Q, "archived", batch=1000)
    assert len(trips) == 1  # the queue check happens on the call, not on first use
    assert ids(it) == all_ids
    assert len(trips) == 4  # queue check + three batches
    pending = put_many(r, Q, "pending", 7, prefix="p")
    assert ids(insp.iter_tasks(Q, "pending", batch=3)) == pending
    assert list(insp.iter_tasks(Q, "completed")) == []


def test_invalid_arguments(insp: Inspector, r: redis.Redis) -> None:
    put(r, Q, "pending")
    with pytest.raises(InvalidArgumentError, match="active, pending, aggregating") as exc:
        insp.list_tasks(Q, "finished")
    assert isinstance(exc.value, InvalidInputError)
    assert exc.value.exit_code == 2
    assert insp.count_tasks(Q, " Pending ") == 1
    with pytest.raises(InvalidArgumentError, match="page"):
        insp.list_tasks(Q, "pending", page=0)
    with pytest.raises(InvalidArgumentError, match="page size"):
        insp.list_tasks(Q, "pending", page_size=0)
    with pytest.raises(InvalidArgumentError, match="only to aggregating"):
        insp.list_tasks(Q, "pending", group="g")
    with pytest.raises(InvalidArgumentError, match="task type"):
        insp.list_tasks(Q, "pending", task_type="")
    with pytest.raises(InvalidArgumentError, match="batch"):
        insp.iter_tasks(Q, "pending", batch=0)
    with pytest.raises(InvalidArgumentError, match="state"):
        insp.delete_all(Q, "everything")
    with pytest.raises(InvalidArgumentError, match="task id"):
        insp.get_task(Q, "")
    with pytest.raises(InvalidArgumentError, match="queue"):
        insp.queue_info("")
    with pytest.raises(InvalidArgumentError, match="entry id"):
        insp.scheduler_history("")


def test_ids_without_a_task_hash_are_skipped(insp: Inspector, r: redis.Redis) -> None:
    kept = put(r, Q, "retry", score=1)
    r.zadd(keys.retry(Q), {"ghost": 2})
    after = put(r, Q, "retry", score=3)
    assert ids(insp.list_tasks(Q, "retry")) == [kept, after]
    assert ids(insp.iter_tasks(Q, "retry", batch=1)) == [kept, after]
    with pytest.raises(TaskNotFoundError, match="'ghost'"):
        insp.get_task(Q, "ghost")


def test_corrupt_messages_are_listed_not_raised(insp: Inspector, r: redis.Redis) -> None:
    good = put(r, Q, "pending")
    bad = put(r, Q, "pending")
    r.hset(keys.task(Q, bad), "msg", b"\xff\xff\xff not protobuf")
    no_msg = put(r, Q, "pending")
    r.hdel(keys.task(Q, no_msg), "msg")
    not_hash = "stringy"
    r.lpush(keys.pending(Q), not_hash)
    r.set(keys.task(Q, not_hash), "oops")
    listed = {t.id: t for t in insp.list_tasks(Q, "pending")}
    assert set(listed) == {good, bad, no_msg, not_hash}
    assert listed[good].corrupt == ""
    for task_id in (bad, no_msg, not_hash):
        t = listed[task_id]
        assert t.corrupt
        assert (t.type, t.payload, t.state, t.queue) == ("", b"", TaskState.PENDING, Q)
    assert "TaskMessage" in listed[bad].corrupt
    assert "no msg" in listed[no_msg].corrupt
    assert "WRONGTYPE" in listed[not_hash].corrupt
    assert len(list(insp.iter_tasks(Q, "pending"))) == 4
    with pytest.raises(CorruptTaskError, match=r"asynq:\{q1\}:t:" + bad):
        insp.get_task(Q, bad)
    with pytest.raises(CorruptTaskError, match="not a hash"):
        insp.get_task(Q, not_hash)
    assert insp.queue_info(Q).pending == 4
    # A corrupt task can still be deleted.
    insp.delete_task(Q, bad)
    assert not r.exists(keys.task(Q, bad))


def test_get_task_fields(insp: Inspector, r: redis.Redis) -> None:
    at = int(time.time()) + 90
    tid = put(
        r,
        Q,
        "retry",
        score=at,
        task_type="resize",
        payload=b"\x00\x01",
        result=b"partial",
        retried=2,
        error_msg="boom",
        last_failed_at=at - 100,
        deadline=at + 1000,
        retention=60,
        headers={"trace": "abc"},
    )
    t = insp.get_task(Q, tid)
    assert (t.id, t.queue, t.state, t.type, t.payload) == (
        tid,
        Q,
        TaskState.RETRY,
        "resize",
        b"\x00\x01",
    )
    assert (t.max_retry, t.retried, t.last_error, t.retention) == (25, 2, "boom", 60)
    assert t.last_failed_at == datetime.fromtimestamp(at - 100, UTC)
    assert t.deadline == datetime.fromtimestamp(at + 1000, UTC)
    assert t.next_process_at == datetime.fromtimestamp(at, UTC)
    assert (t.headers, t.result, t.timeout) == ({"trace": "abc"}, b"partial", 1800)
    r.hset(keys.task(Q, tid), "state", "weird")
    with pytest.raises(CorruptTaskError, match="weird"):
        insp.get_task(Q, tid)
    with pytest.raises(TaskNotFoundError):
        insp.get_task(Q, "missing")


# -- single-task actions ------------------------------------------------------------------------


@pytest.fixture
def listen(r: redis.Redis) -> Iterator[Any]:
    """Subscribe to a channel; Redis has confirmed it on return, so no later message is lost."""
    opened: list[Any] = []

    def subscribe(channel: str) -> Any:
        p = r.pubsub()
        opened.append(p)
        p.subscribe(channel)
        confirmed = p.get_message(timeout=5)
        assert confirmed is not None and confirmed["type"] == "subscribe"
        return p

    yield subscribe
    for p in opened:
        p.close()


def message(p: Any) -> Any:
    got = p.get_message(timeout=2)
    assert got is not None, "no message published"
    return got["data"]


@pytest.mark.parametrize("state", ["scheduled", "retry", "archived", "completed", "aggregating"])
def test_run_task_from_each_state(insp: Inspector, r: redis.Redis, state: str, listen: Any) -> None:
    before = put(r, Q, "pending")
    tid = put(r, Q, state, group="g" if state == "aggregating" else "")
    wake = listen(keys.wake_channel(Q))
    insp.run_task(Q, tid)
    assert r.lrange(keys.pending(Q), 0, -1) == [tid.encode(), before.encode()]
    h = r.hgetall(keys.task(Q, tid))
    assert h[b"state"] == b"pending"
    assert int(h[b"pending_since"]) == pytest.approx(time.time_ns(), abs=5e9)
    if state == "aggregating":
        assert not r.exists(keys.group(Q, "g"), keys.all_groups(Q))
        assert b"group" not in h  # retried later, it must not rejoin the group
    else:
        assert r.zscore(keys.state_key(Q, state), tid) is None
    assert message(wake) == b"1"
    assert insp.get_task(Q, tid).state is TaskState.PENDING


def test_run_task_refusals(insp: Inspector, r: redis.Redis) -> None:
    pending = put(r, Q, "pending")
    active = put(r, Q, "active")
    with pytest.raises(TaskStateError, match=f"cannot run task '{pending}'.*already pending"):
        insp.run_task(Q, pending)
    with pytest.raises(TaskStateError, match="running now"):
        insp.run_task(Q, active)
    with pytest.raises(TaskNotFoundError):
        insp.run_task(Q, "missing")
    assert r.llen(keys.pending(Q)) == 1


@pytest.mark.parametrize("state", ["pending", "scheduled", "retry", "completed", "aggregating"])
def test_archive_task_from_each_state(insp: Inspector, r: redis.Redis, state: str) -> None:
    other = put(r, Q, "aggregating", group="g") if state == "aggregating" else None
    tid = put(r, Q, state, group="g" if state == "aggregating" else "")
    insp.archive_task(Q, tid)
    assert r.zscore(keys.archived(Q), tid) == pytest.approx(time.time(), abs=5)
    assert r.hget(keys.task(Q, tid), "state") == b"archived"
    if state == "pending":
        assert r.llen(keys.pending(Q)) == 0
    elif other is not None:
        assert r.zrange(keys.group(Q, "g"), 0, -1) == [other.encode()]
        assert r.smembers(keys.all_groups(Q)) == {b"g"}  # the group still holds a task
    else:
        assert r.zcard(keys.state_key(Q, state)) == 0


def test_archive_task_refusals(insp: Inspector, r: redis.Redis) -> None:
    archived = put(r, Q, "archived")
    active = put(r, Q, "active")
    with pytest.raises(TaskStateError, match="already archived"):
        insp.archive_task(Q, archived)
    with pytest.raises(TaskStateError, match="cancel it first"):
        insp.archive_task(Q, active)
    with pytest.raises(TaskNotFoundError):
        insp.archive_task(Q, "missing")


def test_archive_trims_old_entries_and_deletes_their_hashes(
    insp: Inspector, r: redis.Redis
) -> None:
    now = time.time()
    ancient = put(r, Q, "archived", score=now - 91 * 86400, unique_key=keys.unique(Q, "x", b"1"))
    recent = put(r, Q, "archived", score=now - 89 * 86400)
    tid = put(r, Q, "retry")
    insp.archive_task(Q, tid)
    assert r.zrange(keys.archived(Q), 0, -1) == [recent.encode(), tid.encode()]
    assert not r.exists(keys.task(Q, ancient), keys.unique(Q, "x", b"1"))
    assert r.exists(keys.task(Q, recent))


def test_archive_keeps_the_newest_9999(insp: Inspector, r: redis.Redis) -> None:
    old = put_many(r, Q, "archived", 9999, score=time.time() - 20000)
    tid = put(r, Q, "pending")
    insp.archive_task(Q, tid)
    assert r.zcard(keys.archived(Q)) == 9999
    assert r.zscore(keys.archived(Q), old[0]) is None
    assert not r.exists(keys.task(Q, old[0]))
    assert r.exists(keys.task(Q, old[1]), keys.task(Q, tid)) == 2


def test_delete_task_frees_its_own_unique_lock_only(insp: Inspector, r: redis.Redis) -> None:
    lock = keys.unique(Q, "email", b"a")
    owner = put(r, Q, "scheduled", unique_key=lock)
    insp.delete_task(Q, owner)
    assert not r.exists(lock, keys.task(Q, owner))
    assert r.zcard(keys.scheduled(Q)) == 0
    other_lock = keys.unique(Q, "email", b"b")
    stale = put(r, Q, "pending", unique_key=other_lock)
    r.set(other_lock, "someone-else")
    insp.delete_task(Q, stale)
    assert r.get(other_lock) == b"someone-else"
    assert r.llen(keys.pending(Q)) == 0
    grouped = put(r, Q, "aggregating", group="solo")
    insp.delete_task(Q, grouped)
    assert not r.exists(keys.group(Q, "solo"), keys.all_groups(Q), keys.task(Q, grouped))
    done = put(r, Q, "completed")
    insp.delete_task(Q, done)
    assert not r.exists(keys.completed(Q))
    active = put(r, Q, "active")
    with pytest.raises(TaskStateError, match="running now"):
        insp.delete_task(Q, active)
    assert r.exists(keys.task(Q, active))
    with pytest.raises(TaskNotFoundError):
        insp.delete_task(Q, owner)


def test_cancel_task_publishes_the_id(insp: Inspector, r: redis.Redis, listen: Any) -> None:
    sub = listen(keys.CANCEL_CHANNEL)
    insp.cancel_task("abc-123")
    assert message(sub) == b"abc-123"


# -- bulk actions -------------------------------------------------------------------------------


def test_delete_all_pending_in_chunks_frees_locks(
    insp: Inspector, r: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_many(r, Q, "pending", 2500)
    lock = keys.unique(Q, "email", b"u")
    unique = put(r, Q, "pending", unique_key=lock)
    trips = count_round_trips(insp, monkeypatch)
    assert insp.delete_all(Q, "pending") == 2501
    assert sum(1 for t in trips if t == 1) >= 3  # three chunks at least, one call each
    assert not r.exists(keys.pending(Q), lock, keys.task(Q, unique), keys.task(Q, "t000000"))
    assert r.keys("asynq:{q1}:t:*") == []


@pytest.mark.parametrize("state", ["scheduled", "retry", "archived", "completed"])
def test_delete_all_zset_states(insp: Inspector, r: redis.Redis, state: str) -> None:
    put_many(r, Q, state, 5)
    keep = put(r, Q, "pending")
    assert insp.delete_all(Q, state) == 5
    assert not r.exists(keys.state_key(Q, state))
    assert r.keys("asynq:{q1}:t:*") == [keys.task(Q, keep).encode()]


def test_run_all_retry_of_one_type_over_several_chunks(
    insp: Inspector, r: redis.Redis, listen: Any
) -> None:
    every = put_many(r, Q, "retry", 2500, types=["a", "b"])
    wake = listen(keys.wake_channel(Q))
    assert insp.run_all(Q, "retry", task_type="a") == 1250
    a, b = every[0::2], every[1::2]
    assert r.zrange(keys.retry(Q), 0, -1) == [x.encode() for x in b]
    pending = [x.decode() for x in r.lrange(keys.pending(Q), 0, -1)]
    assert sorted(pending) == a
    assert pending[-1] == a[0]  # the oldest retry runs first
    h = r.hgetall(keys.task(Q, a[0]))
    assert (h[b"state"], b"pending_since" in h) == (b"pending", True)
    assert r.hget(keys.task(Q, b[0]), "state") == b"retry"
    # One wake-up per chunk of 1000 positions read, naming the tasks it made pending.
    assert [int(message(wake)) for _ in range(3)] == [500, 500, 250]
    assert insp.run_all(Q, "retry") == 1250
    assert not r.exists(keys.retry(Q))
    assert insp.queue_info(Q).pending == 2500


def test_archive_all_pending_of_one_type_keeps_the_rest_in_order(
    insp: Inspector, r: redis.Redis
) -> None:
    every = put_many(r, Q, "pending", 2200, types=["x", "y", "y"])
    assert insp.archive_all(Q, "pending", task_type="x") == 734
    rest = [t for i, t in enumerate(every) if i % 3]
    assert ids(insp.iter_tasks(Q, "pending")) == rest
    assert r.zcard(keys.archived(Q)) == 734
    assert {t.type for t in insp.iter_tasks(Q, "archived")} == {"x"}
    assert r.hget(keys.task(Q, every[0]), "state") == b"archived"
    assert insp.archive_all(Q, "pending") == len(rest)
    assert not r.exists(keys.pending(Q))


def test_bulk_actions_on_aggregating_groups(insp: Inspector, r: redis.Redis) -> None:
    put_many(r, Q, "aggregating", 3, prefix="a", group="ga")
    put_many(r, Q, "aggregating", 2, prefix="b", group="gb")
    assert insp.run_all(Q, "aggregating", group="ga") == 3
    assert r.smembers(keys.all_groups(Q)) == {b"gb"}
    ran = r.hgetall(keys.task(Q, "a000000"))
    assert (ran[b"state"], b"group" in ran) == (b"pending", False)
    assert r.lrange(keys.pending(Q), 0, -1) == [b"a000002", b"a000001", b"a000000"]
    assert insp.archive_all(Q, "aggregating") == 2
    assert not r.exists(keys.all_groups(Q), keys.group(Q, "gb"))
    put_many(r, Q, "aggregating", 2, prefix="c", group="gc")
    assert insp.delete_all(Q, "aggregating", group="gc") == 2
    assert not r.exists(keys.all_groups(Q), keys.group(Q, "gc"), keys.task(Q, "c000000"))
    assert insp.delete_all(Q, "aggregating", group="none") == 0


def test_bulk_refusals(insp: Inspector, r: redis.Redis) -> None:
    put(r, Q, "pending")
    with pytest.raises(TaskStateError, match="cannot run pending tasks"):
        insp.run_all(Q, "pending")
    with pytest.raises(TaskStateError, match="cannot archive archived tasks"):
        insp.archive_all(Q, "archived")
    with pytest.raises(TaskStateError, match="cannot delete active tasks"):
        insp.delete_all(Q, "active")
    with pytest.raises(InvalidArgumentError, match="only to aggregating"):
        insp.delete_all(Q, "pending", group="g")
    assert insp.run_all(Q, "scheduled") == 0
    assert r.llen(keys.pending(Q)) == 1


# -- deleting queues ---------------------------------------------------------------------------


def test_delete_queue_refused_while_it_holds_tasks(insp: Inspector, r: redis.Redis) -> None:
    done = put(r, Q, "completed")
    put(r, Q, "pending")
    with pytest.raises(QueueNotEmptyError, match="holds 1 pending, 1 completed tasks; use force"):
        insp.delete_queue(Q)
    assert r.sismember(keys.ALL_QUEUES, Q)
    assert r.exists(keys.task(Q, done))


def test_delete_empty_queue_removes_flags_and_counters(insp: Inspector, r: redis.Redis) -> None:
    r.sadd(keys.ALL_QUEUES, Q, "other")
    r.set(keys.paused(Q), 1)
    r.set(keys.processed_total(Q), 10)
    r.set(keys.failed_day(Q, today() - timedelta(days=80)), 2)
    r.sadd(keys.all_groups(Q), "empty-group")
    insp.delete_queue(Q)
    assert r.keys("asynq:{q1}:*") == []
    assert r.smembers(keys.ALL_QUEUES) == {b"other"}
    assert insp.queues() == ["other"]


def test_force_delete_queue_leaves_nothing(insp: Inspector, r: redis.Redis) -> None:
    locks = [keys.unique(Q, "email", bytes([i])) for i in range(3)]
    put_many(r, Q, "pending", 1500)
    put(r, Q, "pending", unique_key=locks[0])
    put(r, Q, "scheduled", unique_key=locks[1])
    put(r, Q, "retry")
    put(r, Q, "archived")
    put(r, Q, "completed", unique_key=locks[2])
    put(r, Q, "aggregating", group="g")
    staged = put(r, Q, "aggregating", group="g2")
    set_key = keys.aggregation_set(Q, "g2", "set-1")
    r.zrem(keys.group(Q, "g2"), staged)
    r.zadd(set_key, {staged: 1})
    r.zadd(keys.all_aggregation_sets(Q), {set_key: time.time() + 120})
    r.zadd(keys.lease(Q), {"stale": 1})
    r.set(keys.paused(Q), 1)
    r.set(keys.processed_day(Q, today()), 4)
    r.set(keys.failed_total(Q), 1)
    foreign = keys.unique("other", "email", b"x")
    r.set(foreign, "t000000")
    r.sadd(keys.ALL_QUEUES, "other")
    insp.delete_queue(Q, force=True)
    assert r.keys("asynq:{q1}:*") == []
    assert r.smembers(keys.ALL_QUEUES) == {b"other"}
    assert r.exists(foreign)


def test_force_delete_refused_while_tasks_are_active(insp: Inspector, r: redis.Redis) -> None:
    put(r, Q, "active")
    pending = put(r, Q, "pending")
    with pytest.raises(QueueNotEmptyError, match="1 of its tasks are active"):
        insp.delete_queue(Q, force=True)
    with pytest.raises(QueueNotEmptyError, match="1 of its tasks are active"):
        insp.delete_queue(Q)
    assert r.exists(keys.task(Q, pending))
    assert r.sismember(keys.ALL_QUEUES, Q)
    assert not r.exists(keys.paused(Q))


def test_delete_queue_refused_while_tasks_are_being_aggregated(
    insp: Inspector, r: redis.Redis
) -> None:
    r.sadd(keys.ALL_QUEUES, Q)
    set_key = keys.aggregation_set(Q, "g", "set-1")
    put(r, Q, "aggregating", group="g", task_id="staged")
    r.zrem(keys.group(Q, "g"), "staged")
    r.zadd(set_key, {"staged": 1})
    r.zadd(keys.all_aggregation_sets(Q), {set_key: time.time() + 120})
    with pytest.raises(QueueNotEmptyError, match="holds 1 sets of tasks being aggregated"):
        insp.delete_queue(Q)
    assert r.exists(set_key, keys.task(Q, "staged")) == 2
    insp.delete_queue(Q, force=True)
    assert r.keys("asynq:{q1}:*") == []


# -- servers, scheduler, redis --------------------------------------------------------------------


def ts(msg: Any, seconds: float) -> Any:
    msg.FromNanoseconds(int(seconds * 1e9))
    return msg


def test_servers_joined_with_workers_stale_pruned_garbage_skipped(
    insp: Inspector, r: redis.Redis
) -> None:
    now = time.time()
    started = int(now) - 100
    for sid, host, expiry in (
        ("s1", "b-host", now + 10),
        ("s2", "a-host", now + 10),
        ("s3", "c", now - 5),
    ):
        server_key, workers_key = keys.server_info(host, 1, sid), keys.workers(host, 1, sid)
        info = wire.ServerInfoMessage(
            host=host, pid=1, server_id=sid, concurrency=4, status="active", strict_priority=True
        )
        info.queues.update({"default": 3, "low": 1})
        ts(info.start_time, started)
        r.set(server_key, wire.encode(info))
        r.zadd(keys.ALL_SERVERS, {server_key: expiry})
        r.zadd(keys.ALL_WORKERS, {workers_key: expiry})
    for task_id, start in (("late", started + 50), ("early", started + 10)):
        w = wire.WorkerInfoMessage(
            host="b-host",
            pid=1,
            server_id="s1",
            task_id=task_id,
            task_type="email",
            queue="default",
        )
        w.task_payload = b"{}"
        ts(w.start_time, start)
        ts(w.deadline, start + 1800)
        r.hset(keys.workers("b-host", 1, "s1"), task_id, wire.encode(w))
    r.hset(keys.workers("b-host", 1, "s1"), "junk", b"\xff\xfe")
    r.set(keys.server_info("bad", 1, "s4"), b"\xff\xff")
    r.zadd(keys.ALL_SERVERS, {keys.server_info("bad", 1, "s4"): now + 10})
    servers = insp.servers()
    assert [(s.id, s.host) for s in servers] == [("s2", "a-host"), ("s1", "b-host")]
    s1 = servers[1]
    assert (s1.concurrency, s1.queues, s1.strict_priority, s1.status) == (
        4,
        {"default": 3, "low": 1},
        True,
        "active",
    )
    assert s1.started == datetime.fromtimestamp(started, UTC)
    assert [w.task_id for w in s1.active_workers] == ["early", "late"]
    assert s1.active_workers[0].deadline == datetime.fromtimestamp(started + 1810, UTC)
    assert servers[0].active_workers == []
    # The expired server was pruned from the registry.
    assert r.zscore(keys.ALL_SERVERS, keys.server_info("c", 1, "s3")) is None
    assert r.zscore(keys.ALL_WORKERS, keys.workers("c", 1, "s3")) is None


def test_scheduler_entries_and_history(insp: Inspector, r: redis.Redis) -> None:
    assert insp.scheduler_entries() == []
    now = time.time()
    key = keys.scheduler_entries("host:1:abc")
    for entry_id, nxt in (("e2", now + 60), ("e1", now + 30)):
        e = wire.SchedulerEntryMessage(
            id=entry_id, spec="@every 30s", task_type="report", enqueue_options=['Queue("q")']
        )
        ts(e.next_enqueue_time, nxt)
        e.prev_enqueue_time.seconds = wire.GO_ZERO_TIME_SECONDS
        r.lpush(key, wire.encode(e))
    r.lpush(key, b"\xff\xff")
    r.zadd(keys.ALL_SCHEDULERS, {key: now + 20, keys.scheduler_entries("gone"): now - 1})
    entries = insp.scheduler_entries()
    assert [e.id for e in entries] == ["e1", "e2"]
    assert entries[0].options == ['Queue("q")']
    assert entries[0].prev_enqueue_at is None
    assert r.zcard(keys.ALL_SCHEDULERS) == 1
    history = keys.scheduler_history("e1")
    for i in range(5):
        ev = wire.SchedulerEnqueueEventMessage(task_id=f"task{i}")
        ts(ev.enqueue_time, now - 100 + i)
        r.zadd(history, {wire.encode(ev): now - 100 + i})
    assert [e.task_id for e in insp.scheduler_history("e1", page_size=2)] == ["task4", "task3"]
    assert [e.task_id for e in insp.scheduler_history("e1", page=3, page_size=2)] == ["task0"]
    assert insp.scheduler_history("e1", page=4, page_size=2) == []
    assert insp.scheduler_history("unknown") == []


def test_redis_info_as_text(insp: Inspector) -> None:
    info = insp.redis_info()
    assert info["redis_version"].count(".") == 2
    assert int(info["uptime_in_seconds"]) >= 0
    assert "used_memory" in info
    assert "connected_clients" in info


def test_unreachable_redis_names_the_masked_url() -> None:
    port = free_port()
    with Inspector(f"redis://user:secret@127.0.0.1:{port}/0") as insp:
        with pytest.raises(ConnectionFailedError) as exc:
            insp.queues()
        assert f"redis://user:***@127.0.0.1:{port}" in str(exc.value)
        assert "secret" not in str(exc.value)
        assert exc.value.exit_code == 4
        with pytest.raises(ConnectionFailedError):
            insp.queue_infos()
