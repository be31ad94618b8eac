"""`qops.Scheduler` on a real Redis, driven by an injected clock: ticks, zones, DST, several
schedulers sharing one Redis, options, and Asynq's layout for entries and history."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from qops import Scheduler, Task
from qops.errors import (
    ConnectionFailedError,
    InvalidScheduleError,
    InvalidTaskError,
    SchedulerEntryNotFoundError,
)
from qops.periodic import ENTRY_HEADER, TICK_HEADER, go_duration, go_quote, unix_date
from qops.storage import keys, wire
from tests.helpers import async_wait_for, wait_for
from tests.redis_server import RedisServer

DUMP = Path(__file__).parent / "fixtures" / "asynq-v0.26.0-dump.txt"
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, a multiple of every interval used here


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def at(self, iso: str) -> float:
        self.t = datetime.fromisoformat(iso).timestamp()
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def make(redis_url: str, clock: Clock) -> AsyncIterator[Callable[..., Scheduler]]:
    made: list[Scheduler] = []

    def factory(**kwargs: object) -> Scheduler:
        s = Scheduler(redis_url, clock=clock, **kwargs)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield factory
    for s in made:
        await s.close()


def pending(r: redis.Redis, queue: str = "default") -> list[wire.TaskMessage]:
    """Pending tasks of ``queue``, oldest first, decoded."""
    ids = reversed(r.lrange(keys.pending(queue), 0, -1))
    return [wire.decode_task(r.hget(keys.task(queue, i.decode()), "msg"), "t") for i in ids]


def tick_headers(r: redis.Redis, queue: str = "default") -> list[str]:
    return [m.headers[TICK_HEADER] for m in pending(r, queue)]


def history(r: redis.Redis, entry_id: str) -> list[wire.SchedulerEnqueueEventMessage]:
    raw = r.zrange(keys.scheduler_history(entry_id), 0, -1)
    return [wire.decode(wire.SchedulerEnqueueEventMessage, x, "h") for x in raw]


# -- ticks ---------------------------------------------------------------------------------


async def test_every_enqueues_once_per_tick(make, clock, r) -> None:
    s = make()
    entry = s.register("@every 30s", "ping", {"n": 1})
    assert await s.run_due() == []  # T0 itself is not after registration
    clock.t = T0 + 29
    assert await s.run_due() == []
    clock.t = T0 + 30
    [f] = await s.run_due()
    assert (f.outcome, f.tick.timestamp(), f.entry_id) == ("enqueued", T0 + 30, entry)
    assert await s.run_due() == []  # the same tick never fires twice
    clock.t = T0 + 61
    assert [f.outcome for f in await s.run_due()] == ["enqueued"]

    msgs = pending(r)
    assert [m.type for m in msgs] == ["ping", "ping"]
    assert msgs[0].payload == b'{"n":1}'
    assert msgs[0].headers[ENTRY_HEADER] == entry
    assert tick_headers(r) == ["2027-01-15T08:00:30Z", "2027-01-15T08:01:00Z"]
    assert r.sismember(keys.ALL_QUEUES, "default")
    assert [e.task_id for e in history(r, entry)] == [m.id for m in msgs]
    [model] = s.entries()
    assert model.prev_enqueue_at == datetime.fromtimestamp(T0 + 60, UTC)
    assert model.next_enqueue_at == datetime.fromtimestamp(T0 + 90, UTC)


async def test_a_tick_whose_deadline_has_passed_fails_and_the_next_one_is_planned(
    make, clock, r
) -> None:
    s = make()
    deadline = time.time() + 0.05
    entry = s.register("@every 30s", "ping", deadline=deadline)
    wait_for(lambda: time.time() > deadline)  # the task's deadline is checked on the real clock
    clock.t = T0 + 30
    [f] = await s.run_due()
    assert (f.outcome, f.entry_id, f.tick.timestamp()) == ("failed", entry, T0 + 30)
    assert pending(r) == []
    [model] = s.entries()
    assert model.next_enqueue_at == datetime.fromtimestamp(T0 + 60, UTC)


async def test_five_field_spec_with_lists_ranges_and_steps(make, clock, r) -> None:
    clock.at("2027-01-15T08:58:00+00:00")  # a Friday
    s = make()
    s.register("0,30 9-10 * * mon-fri", "report")
    fired = []
    for minute in range(0, 24 * 60 * 4, 1):  # four days, minute by minute
        clock.t = datetime.fromisoformat("2027-01-15T09:00:00+00:00").timestamp() + minute * 60
        fired += [f.tick.isoformat() for f in await s.run_due() if f.outcome == "enqueued"]
    assert fired == [
        "2027-01-15T09:00:00+00:00",
        "2027-01-15T09:30:00+00:00",
        "2027-01-15T10:00:00+00:00",
        "2027-01-15T10:30:00+00:00",
        # Saturday and Sunday skipped
        "2027-01-18T09:00:00+00:00",
        "2027-01-18T09:30:00+00:00",
        "2027-01-18T10:00:00+00:00",
        "2027-01-18T10:30:00+00:00",
    ]
    assert len(pending(r)) == 8


async def test_descriptor_and_late_wakeup_catch_up(make, clock, r) -> None:
    clock.at("2027-01-15T07:59:00+00:00")
    s = make()
    s.register("@hourly", "tick")
    clock.at("2027-01-15T08:00:20+00:00")  # woken 20 s late: still within the grace
    [f] = await s.run_due()
    assert (f.outcome, f.tick.isoformat()) == ("enqueued", "2027-01-15T08:00:00+00:00")
    assert tick_headers(r) == ["2027-01-15T08:00:00Z"]


async def test_ticks_older_than_the_grace_are_missed(make, clock, r) -> None:
    s = make(misfire_grace=10)
    s.register("@every 60s", "x")
    clock.t = T0 + 60 + 11
    [f] = await s.run_due()
    assert (f.outcome, f.tick.timestamp()) == ("missed", T0 + 60)
    assert pending(r) == []
    clock.t = T0 + 120
    assert [f.outcome for f in await s.run_due()] == ["enqueued"]


async def test_catch_up_fires_every_tick_within_the_grace(make, clock, r) -> None:
    s = make(misfire_grace=30)
    s.register("@every 5s", "x")
    clock.t = T0 + 20  # the loop stalled: ticks at +5, +10, +15, +20 are all due
    assert [f.tick.timestamp() - T0 for f in await s.run_due()] == [5, 10, 15, 20]
    assert len(pending(r)) == 4


async def test_entry_time_zone(make, clock, r) -> None:
    clock.at("2027-01-14T15:00:00+00:00")
    s = make()
    s.register("0 9 * * *", "tokyo", tz="Asia/Tokyo")
    s.register("CRON_TZ=America/New_York 0 9 * * *", "new-york")
    clock.at("2027-01-15T00:00:00+00:00")  # 09:00 in Tokyo
    assert [(f.outcome, f.tick.isoformat()) for f in await s.run_due()] == [
        ("enqueued", "2027-01-15T00:00:00+00:00")
    ]
    clock.at("2027-01-15T14:00:00+00:00")  # 09:00 in New York
    assert [f.tick.isoformat() for f in await s.run_due()] == ["2027-01-15T14:00:00+00:00"]
    assert [m.type for m in pending(r)] == ["tokyo", "new-york"]


async def test_scheduler_zone_is_the_default(make, clock) -> None:
    clock.at("2027-01-14T12:00:00+00:00")
    s = make(tz="Asia/Tokyo")
    s.register("0 9 * * *", "x")
    [e] = s.entries()
    assert e.next_enqueue_at == datetime.fromisoformat("2027-01-15T00:00:00+00:00")


async def test_dst_changes_in_the_entry_zone(make, clock, r) -> None:
    clock.at("2026-03-28T12:00:00+00:00")
    s = make(misfire_grace=3600)
    s.register("30 2 * * *", "nightly", tz="Europe/Paris")
    fired = []
    # Spring: 02:30 does not exist on 2026-03-29; the run comes at 03:00 CEST (01:00Z).
    for hour in range(0, 24 * 2):
        clock.t = datetime.fromisoformat("2026-03-28T12:00:00+00:00").timestamp() + hour * 3600
        fired += [f.tick.isoformat() for f in await s.run_due()]
    assert fired == ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]
    # Autumn: 02:30 happens twice on 2026-10-25 (00:30Z and 01:30Z); it runs once.
    clock.at("2026-10-24T12:00:00+00:00")
    s2 = make(misfire_grace=3600)
    s2.register("30 2 * * *", "nightly", tz="Europe/Paris")
    fired = []
    for quarter in range(0, 4 * 40):
        clock.t = datetime.fromisoformat("2026-10-24T12:00:00+00:00").timestamp() + quarter * 900
        fired += [f.tick.isoformat() for f in await s2.run_due()]
    assert fired == ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]


# -- several schedulers ------------------------------------------------------------------


async def test_two_schedulers_enqueue_each_tick_once(make, clock, r) -> None:
    a, b = make(), make()
    ids = {a.register("@every 10s", "beat", {"k": "v"}, queue="cronq"),
           b.register("@every 10s", "beat", {"k": "v"}, queue="cronq")}  # fmt: skip
    assert len(ids) == 1  # the same entry id in both
    [entry] = ids
    outcomes = []
    for n in range(1, 7):
        clock.t = T0 + 10 * n
        # Both at once, in either order: the claim decides.
        pair = (a.run_due(), b.run_due()) if n % 2 else (b.run_due(), a.run_due())
        results = await asyncio.gather(*pair)
        outcomes.append(sorted(f.outcome for res in results for f in res))
    assert outcomes == [["claimed", "enqueued"]] * 6
    assert len(pending(r, "cronq")) == 6
    assert len(set(tick_headers(r, "cronq"))) == 6
    assert len(history(r, entry)) == 6


async def test_a_late_scheduler_does_not_repeat_a_tick_the_other_did(make, clock, r) -> None:
    a, b = make(), make()
    a.register("@every 10s", "x")
    b.register("@every 10s", "x")
    clock.t = T0 + 10
    await a.run_due()
    clock.t = T0 + 25  # b wakes 15 s late and catches up: +10 is taken, +20 is not
    assert [(f.tick.timestamp() - T0, f.outcome) for f in await b.run_due()] == [
        (10, "claimed"),
        (20, "enqueued"),
    ]
    assert len(pending(r)) == 2


async def test_a_fixed_task_id_does_not_block_later_ticks(make, clock, r) -> None:
    # Asynq's workaround for duplicates (a fixed TaskID) stops the entry once a copy is
    # archived; here the id only prefixes each tick's own id.
    s = make()
    s.register("@every 10s", "report", task_id="daily-report", retention=3600)
    clock.t = T0 + 10
    [first] = await s.run_due()
    assert first.task_id == f"daily-report:{int(T0 + 10)}"
    # Archive the first task the way a worker does when retries run out.
    r.lrem(keys.pending("default"), 0, first.task_id)
    r.zadd(keys.archived("default"), {first.task_id: int(T0 + 11)})
    r.hset(keys.task("default", first.task_id), "state", "archived")
    clock.t = T0 + 20
    [second] = await s.run_due()
    assert (second.outcome, second.task_id) == ("enqueued", f"daily-report:{int(T0 + 20)}")


async def test_unique_option_skips_a_tick_while_the_previous_task_holds_the_lock(
    make, clock, r
) -> None:
    s = make()
    s.register("@every 10s", "sync", {"a": 1}, unique=3600)
    clock.t = T0 + 10
    assert [f.outcome for f in await s.run_due()] == ["enqueued"]
    clock.t = T0 + 20
    assert [f.outcome for f in await s.run_due()] == ["duplicate"]
    [msg] = pending(r)
    assert msg.unique_key == keys.unique("default", "sync", b'{"a":1}')
    assert r.hget(keys.task("default", msg.id), "unique_key") == msg.unique_key.encode()


async def test_group_option_adds_the_task_to_its_group(make, clock, r) -> None:
    s = make()
    s.register("@every 10s", "digest", group="mails", queue="notify")
    clock.t = T0 + 10
    [f] = await s.run_due()
    assert f.outcome == "enqueued"
    assert r.zrange(keys.group("notify", "mails"), 0, -1) == [f.task_id.encode()]
    assert r.smembers(keys.all_groups("notify")) == {b"mails"}
    assert r.hget(keys.task("notify", f.task_id), "state") == b"aggregating"


async def test_redis_unreachable_keeps_the_tick_due(clock: Clock) -> None:
    server = RedisServer().start()
    s = Scheduler(server.url, clock=clock)
    try:
        s.register("@every 10s", "x")
        server.stop()
        clock.t = T0 + 10
        with pytest.raises(ConnectionFailedError):
            await s.run_due()
        assert s.entries()[0].next_enqueue_at == datetime.fromtimestamp(T0 + 10, UTC)
    finally:
        await s.close()
        server.cleanup()


async def test_serve_catches_up_the_ticks_of_a_redis_outage(clock: Clock) -> None:
    server = RedisServer().start()
    r = redis.Redis.from_url(server.url)
    s = Scheduler(server.url, clock=clock)
    s.register("@every 1s", "x")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("qops.scheduler")
    logger.addHandler(handler)
    serving = asyncio.create_task(s.serve())

    async def pending_ticks(n: int) -> bool:
        return len(await asyncio.to_thread(tick_headers, r)) >= n

    try:
        clock.t = T0 + 1
        await async_wait_for(lambda: pending_ticks(1), timeout=10)
        server.stop()  # the data goes with it; only what comes after counts
        clock.t = T0 + 6
        await async_wait_for(
            lambda: any("cannot reach Redis" in m.getMessage() for m in records), timeout=10
        )
        server.start()
        clock.t = T0 + 7.5

        async def caught_up() -> bool:
            # A first call on a stale connection can fail once more; let time move on.
            if not await pending_ticks(6):
                clock.t += 0.25
                return False
            return True

        await async_wait_for(caught_up, timeout=10, interval=0.1)
        ticks = [datetime.fromisoformat(t).timestamp() - T0 for t in tick_headers(r)]
        # Every tick from the outage on, none missing or doubled.
        assert ticks == list(range(2, int(ticks[-1]) + 1))
        assert ticks[-1] >= 7
        assert any("reachable again" in m.getMessage() for m in records)
    finally:
        logger.removeHandler(handler)
        s.stop()
        await asyncio.wait_for(serving, 10)
        r.close()
        server.cleanup()


# -- entries -------------------------------------------------------------------------------


async def test_entry_ids_are_stable_and_depend_on_every_input(make) -> None:
    a, b = make(), make()
    base = a.register("*/5 * * * *", "t", {"x": 1}, queue="q")
    assert b.register("*/5 * * * *", "t", {"x": 1}, queue="q") == base
    others = {
        b.register("*/10 * * * *", "t", {"x": 1}, queue="q"),
        b.register("*/5 * * * *", "u", {"x": 1}, queue="q"),
        b.register("*/5 * * * *", "t", {"x": 2}, queue="q"),
        b.register("*/5 * * * *", "t", {"x": 1}, queue="r"),
        b.register("*/5 * * * *", "t", {"x": 1}, queue="q", tz="Europe/Paris"),
    }
    assert base not in others and len(others) == 5
    # @every ignores zones, so its id does too.
    assert a.register("@every 1m", "t") == make(tz="Asia/Tokyo").register("@every 1m", "t")


async def test_register_errors(make) -> None:
    s = make()
    s.register("@daily", "t")
    with pytest.raises(InvalidScheduleError, match="already registered"):
        s.register("@daily", "t")
    with pytest.raises(InvalidScheduleError, match="bad hour field"):
        s.register("0 25 * * *", "t")
    with pytest.raises(InvalidScheduleError, match="process_at or process_in"):
        s.register("@daily", "t", process_in=60)
    with pytest.raises(InvalidTaskError, match="max_retry"):
        s.register("@daily", "t", max_retry=-1)
    with pytest.raises(SchedulerEntryNotFoundError):
        s.unregister("nope")


async def test_register_a_task_object_and_unregister(make, clock, r) -> None:
    s = make()
    entry = s.register("@every 10s", Task("obj", b"\x00raw", queue="bin"))
    other = s.register("@every 10s", "kept")
    s.unregister(entry)
    assert [e.id for e in s.entries()] == [other]
    clock.t = T0 + 10
    assert [f.entry_id for f in await s.run_due()] == [other]


async def test_replace_keeps_the_ticks_of_unchanged_entries(make, clock) -> None:
    from qops.cron import parse_spec
    from qops.periodic import Entry

    s = make()
    keep = s.register("@every 60s", "keep")
    drop = s.register("@every 60s", "drop")
    clock.t = T0 + 60
    await s.run_due()
    before = {e.id: e for e in s.entries()}[keep]
    summary = s.replace(
        [
            Entry.create(parse_spec("@every 60s"), Task("keep")),
            Entry.create(parse_spec("@every 30s"), Task("new")),
        ]
    )
    assert (summary.added, summary.removed, summary.unchanged) == (1, 1, 1)
    after = {e.id: e for e in s.entries()}
    assert drop not in after
    assert after[keep] == before  # same next and previous tick


# -- Asynq's layout --------------------------------------------------------------------------


def fixture_messages(kind: str) -> list[bytes]:
    text = DUMP.read_text()
    live = text[text.index("# SECTION 2") :]
    return [bytes.fromhex(h) for h in re.findall(rf"asynq\.{kind}> hex=([0-9a-f]+)", live)]


async def test_entries_and_history_are_written_as_asynq_does(make, clock, r) -> None:
    go_entries = [wire.decode(wire.SchedulerEntryMessage, b, "go") for b in
                  fixture_messages("SchedulerEntry")]  # fmt: skip
    go_never_run = next(e for e in go_entries if e.spec == "@every 1h")
    go_has_run = next(e for e in go_entries if e.spec == "@every 3s")

    s = make(scheduler_id="host:1:abc")
    never = s.register("@every 1h", "noop", b'{"fixture":"cron"}', queue="cronq")
    ran = s.register("@every 3s", "noop", b'{"fixture":"cron-3s"}', queue="cronq")
    clock.t = T0 + 3
    await s.run_due()
    task = asyncio.create_task(s.serve())
    key = keys.scheduler_entries("host:1:abc")
    try:
        await async_wait_for(lambda: asyncio.to_thread(r.exists, key), timeout=10)
        assert r.zscore(keys.ALL_SCHEDULERS, key) == pytest.approx(T0 + 3 + 20, abs=1)
        assert 0 < r.ttl(key) <= 20
        ours = {
            m.id: m
            for m in (
                wire.decode(wire.SchedulerEntryMessage, b, "ours") for b in r.lrange(key, 0, -1)
            )
        }
        assert list(ours) == [never, ran]  # listed in registration order
        for mine, go in ((ours[never], go_never_run), (ours[ran], go_has_run)):
            assert [f.name for f, _ in mine.ListFields()] == [f.name for f, _ in go.ListFields()]
            assert list(mine.enqueue_options) == ['Queue("cronq")'] == list(go.enqueue_options)
            # Same bytes once the id and the times, which differ by nature, are aligned.
            mine.id = go.id
            mine.next_enqueue_time.seconds = go.next_enqueue_time.seconds
            if mine.spec == "@every 3s":
                mine.prev_enqueue_time.seconds = go.prev_enqueue_time.seconds
            assert wire.encode(mine) == wire.encode(go)
        assert ours[never].prev_enqueue_time.seconds == wire.GO_ZERO_TIME_SECONDS

        [event] = history(r, ran)
        [go_event, *_] = [wire.decode(wire.SchedulerEnqueueEventMessage, b, "go") for b in
                          fixture_messages("SchedulerEnqueueEvent")]  # fmt: skip
        assert [f.name for f, _ in event.ListFields()] == [f.name for f, _ in go_event.ListFields()]
        assert event.enqueue_time.seconds == int(T0 + 3)
        score = r.zscore(keys.scheduler_history(ran), wire.encode(event))
        assert score == int(T0 + 3)
    finally:
        s.stop()
        await asyncio.wait_for(task, 10)
    # Stopping removes the published entries but keeps the history, unlike Asynq.
    assert not r.exists(key)
    assert r.zscore(keys.ALL_SCHEDULERS, key) is None
    assert len(history(r, ran)) == 1


async def test_history_is_capped_at_1000_newest(make, clock, r) -> None:
    s = make(misfire_grace=2000)
    entry = s.register("@every 1s", "x")
    clock.t = T0 + 1005
    assert len(await s.run_due()) == 1005
    events = history(r, entry)
    assert len(events) == 1000
    assert len(pending(r)) == 1005


def test_option_strings_use_go_forms() -> None:
    from qops.periodic import option_strings

    t = Task(
        "t", queue="critical", max_retry=5, timeout=1800, unique=3600, retention=86400,
        group="g1", task_id='a"b', deadline=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        headers={"k": "<v>"},
    )  # fmt: skip
    assert option_strings(t) == [
        "MaxRetry(5)",
        'Queue("critical")',
        "Timeout(30m0s)",
        "Deadline(Wed Jan  2 03:04:05 UTC 2030)",
        "Unique(1h0m0s)",
        'TaskID("a\\"b")',
        "Retention(24h0m0s)",
        'Group("g1")',
        'Header(["k","\\u003cv\\u003e"])',
    ]
    assert option_strings(Task("t")) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (5, "5s"), (90, "1m30s"), (3600, "1h0m0s"), (5400.5, "1h30m0.5s"),
     (1.5, "1.5s"), (0.25, "250ms"), (0.0000015, "1.5\u00b5s"), (86400 * 2, "48h0m0s")],
)  # fmt: skip
def test_go_duration_strings(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_go_quote_and_unix_date() -> None:
    assert go_quote("plain") == '"plain"'
    assert go_quote('tab\there "q" \\ é \x01') == '"tab\\there \\"q\\" \\\\ é \\x01"'
    assert unix_date(datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC).timestamp()) == (
        "Mon Jan  2 15:04:05 UTC 2006"
    )
