"""The Inspector on data written by real Go Asynq v0.26.0 (tests/fixtures).

Expected values are those decoded in tests/fixtures/asynq-v0.26.0-dump.txt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from qops.errors import QueueStateError, TaskStateError
from qops.inspector import Inspector
from qops.models import TaskInfo, TaskState
from qops.storage import keys
from tests.redis_server import load_fixture

FIXTURES = Path(__file__).parent / "fixtures"
STATIC = FIXTURES / "asynq-v0.26.0-static.json"
LIVE = FIXTURES / "asynq-v0.26.0-live.json"
DUMP = FIXTURES / "asynq-v0.26.0-dump.txt"
FIXTURE_DAY = "2026-11-28"
FAIL_ERROR = "task type 'fail' always fails"
FAILED_AT = 1795844267


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Expected:
    queue: str
    state: TaskState
    type: str
    payload: bytes
    max_retry: int = 25
    retried: int = 0
    last_error: str = ""
    last_failed_at: int = 0
    timeout: int = 1800
    deadline: int = 0
    unique_key: str = ""
    group: str = ""
    retention: int = 0
    completed_at: int = 0
    score: int = 0
    """The scheduled or retry time."""


def _fx(name: str) -> bytes:
    return b'{"fixture":"' + name.encode() + b'"}'


P, S, R, A, C, G = (
    TaskState.PENDING,
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.ARCHIVED,
    TaskState.COMPLETED,
    TaskState.AGGREGATING,
)
UNIQUE_KEY = "asynq:{default}:unique:noop:851807c7355cbdec6e4439302d0dc23d"
UNIQUE_SCHEDULED_KEY = "asynq:{default}:unique:noop:aa1e98816ddfa8db708450dcc7dcf3d6"
STATIC_TASKS = {
    "40f141bb-e4a3-4f1c-82be-83ef221c1cac": Expected("default", P, "noop", _fx("pending-default")),
    "220c419a-661b-4ddf-9438-3bbb702fbb87": Expected("default", P, "noop", b""),
    "dddf7ed8-49a2-4b6a-98bb-567574fd2fe9": Expected(
        "default", P, "noop", _fx("unique"), unique_key=UNIQUE_KEY
    ),
    "fixed-id-1": Expected("default", P, "noop", _fx("fixed-id")),
    "0d567f1b-d420-47b6-a589-70a9e175e505": Expected(
        "default", P, "noop", _fx("options"), max_retry=5, timeout=90, retention=1800
    ),
    "0b641a53-d4d1-4c0b-a30a-c7066dc298db": Expected(
        "default", P, "noop", _fx("deadline"), timeout=0, deadline=4102444800
    ),
    "3bc99eca-7ba7-4848-9e6a-97f34249d190": Expected(
        "default", S, "noop", _fx("scheduled"), score=1795847867
    ),
    "77f79a4b-9cfd-42ce-8da7-c8ebd4b4867e": Expected(
        "default",
        S,
        "noop",
        _fx("unique-scheduled"),
        unique_key=UNIQUE_SCHEDULED_KEY,
        score=1795851467,
    ),
    "b562ce78-aa18-488f-8f07-de9410b1da93": Expected(
        "default",
        R,
        "fail",
        _fx("retry"),
        max_retry=3,
        retried=1,
        last_error=FAIL_ERROR,
        last_failed_at=FAILED_AT,
        score=1795847867,
    ),
    "f0e2ff29-550b-4564-8d4b-586c6c3fb8c3": Expected(
        "default",
        A,
        "fail",
        _fx("archived"),
        max_retry=0,
        last_error=FAIL_ERROR,
        last_failed_at=FAILED_AT,
    ),
    "2ddaaccf-3dbb-4ef5-8395-49bceccbcd58": Expected(
        "default", C, "noop", _fx("completed"), retention=3600, completed_at=1795844267
    ),
    "a320aad1-7096-4636-81f4-197bdca9d256": Expected(
        "default", G, "agg", _fx("group-1"), group="g1"
    ),
    "f88e4675-03e1-4aa2-9ff2-f1af4b41c8c5": Expected(
        "default", G, "agg", _fx("group-2"), group="g1"
    ),
    "01f88247-b3fb-42f7-8aa4-2cc220523b4c": Expected(
        "critical", P, "noop", _fx("pending-critical")
    ),
    "0aff16ae-2487-4224-9636-9c867a10efff": Expected("paused", P, "noop", _fx("paused-queue")),
}
# Pending lists next-to-run first: the right end of the list, which Go pushed first.
DEFAULT_PENDING_ORDER = [
    "40f141bb-e4a3-4f1c-82be-83ef221c1cac",
    "220c419a-661b-4ddf-9438-3bbb702fbb87",
    "dddf7ed8-49a2-4b6a-98bb-567574fd2fe9",
    "fixed-id-1",
    "0d567f1b-d420-47b6-a589-70a9e175e505",
    "0b641a53-d4d1-4c0b-a30a-c7066dc298db",
]
LIVE_TASK = "d64b798d-0f3c-4e57-b3b2-0e54a7de734c"
LIVE_LEASE = 1795844308
CRON_ENTRY = "e7adf6bf-fc83-4951-8e57-5abb937bb88b"
# Newest first: (task id, enqueue time with nanoseconds).
CRON_EVENTS = [
    ("05c07df1-1744-494a-9a1c-0126db9c4cf6", 1795844277, 1898348),
    ("c00f698f-8cfd-4755-b0ea-bcd4a58a4ffc", 1795844274, 2088969),
    ("27cef6a9-6746-44b1-b447-fe8bcede53a9", 1795844271, 2330685),
]
SERVER_KEY = "asynq:servers:{vm:20779:3b542e87-f30a-451e-b763-f9a953d91a09}"
WORKERS_KEY = "asynq:workers:{vm:20779:3b542e87-f30a-451e-b763-f9a953d91a09}"
SCHEDULER_KEY = "asynq:schedulers:{vm:20779:1891fc07-5ea2-4f71-97f9-bba806a869f7}"


def dump_values(key: str) -> list[bytes]:
    """The protobuf values stored under ``key`` in the live section of the dump, in order."""
    lines = DUMP.read_text().split("# SECTION 2", 1)[1].splitlines()
    start = lines.index(f"KEY {key}")
    values = []
    for line in lines[start + 1 :]:
        if line.startswith("KEY "):
            break
        if " hex=" in line:
            values.append(bytes.fromhex(line.split(" hex=", 1)[1].strip()))
    return values


def move_fixture_day_to_today(r: redis.Redis) -> None:
    """Rename the fixture's daily counters to today's UTC date so "today" means them."""
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    if today == FIXTURE_DAY:
        return
    for kind in ("processed", "failed"):
        r.rename(f"asynq:{{default}}:{kind}:{FIXTURE_DAY}", f"asynq:{{default}}:{kind}:{today}")


@pytest.fixture
def static(redis_url: str, r: redis.Redis) -> Iterator[Inspector]:
    load_fixture(r, STATIC)
    with Inspector(redis_url) as inspector:
        yield inspector


@pytest.fixture
def live(redis_url: str, r: redis.Redis) -> Iterator[Inspector]:
    load_fixture(r, LIVE)
    with Inspector(redis_url) as inspector:
        yield inspector


def check(task: TaskInfo, task_id: str, want: Expected) -> None:
    assert task.corrupt == ""
    assert (task.id, task.queue, task.state) == (task_id, want.queue, want.state)
    assert (task.type, task.payload) == (want.type, want.payload)
    assert (task.max_retry, task.retried) == (want.max_retry, want.retried)
    assert task.last_error == want.last_error
    assert task.last_failed_at == (at(want.last_failed_at) if want.last_failed_at else None)
    assert (task.timeout, task.retention) == (want.timeout, want.retention)
    assert task.deadline == (at(want.deadline) if want.deadline else None)
    assert task.completed_at == (at(want.completed_at) if want.completed_at else None)
    assert (task.unique_key, task.group) == (want.unique_key, want.group)
    assert task.headers == {}
    assert task.result is None
    assert not task.is_orphaned
    if want.state in (S, R):
        assert task.next_process_at == at(want.score)
    elif want.state is P:
        assert task.next_process_at is not None
        assert abs(task.next_process_at.timestamp() - time.time()) < 60
    else:
        assert task.next_process_at is None


def test_lists_and_decodes_every_task_in_every_state(static: Inspector) -> None:
    seen = {}
    for queue in static.queues():
        for state in TaskState:
            for task in static.list_tasks(queue, state, page_size=100):
                seen[task.id] = task
    assert set(seen) == set(STATIC_TASKS)
    for task_id, want in STATIC_TASKS.items():
        check(seen[task_id], task_id, want)


@pytest.mark.parametrize("fixture", [STATIC, LIVE], ids=["static", "live"])
def test_every_stored_task_is_listed_and_sound(
    redis_url: str, r: redis.Redis, fixture: Path
) -> None:
    load_fixture(r, fixture)
    stored = {k.decode().split(":t:", 1)[1] for k in r.scan_iter("asynq:{*}:t:*")}
    listed = {}
    with Inspector(redis_url) as insp:
        for queue in insp.queues():
            for state in TaskState:
                for task in insp.iter_tasks(queue, state, batch=2):
                    listed[task.id] = task
                    assert task.state is state
                    assert task.queue == queue
                assert insp.count_tasks(queue, state) == len(
                    insp.list_tasks(queue, state, page_size=100)
                )
        assert sum(i.size for i in insp.queue_infos()) == len(stored)
    assert set(listed) == stored
    assert all(t.corrupt == "" and t.type for t in listed.values())


def test_get_task_reads_each_fixture_task(static: Inspector) -> None:
    for task_id, want in STATIC_TASKS.items():
        check(static.get_task(want.queue, task_id), task_id, want)


def test_iter_tasks_matches_listing_order(static: Inspector) -> None:
    pending = [t.id for t in static.iter_tasks("default", "pending", batch=4)]
    assert pending == DEFAULT_PENDING_ORDER
    assert [t.id for t in static.list_tasks("default", "pending")] == DEFAULT_PENDING_ORDER
    scheduled = [t.id for t in static.iter_tasks("default", TaskState.SCHEDULED, batch=1)]
    assert scheduled == [
        "3bc99eca-7ba7-4848-9e6a-97f34249d190",
        "77f79a4b-9cfd-42ce-8da7-c8ebd4b4867e",
    ]


def test_queue_info_matches_the_dump_header(static: Inspector, r: redis.Redis) -> None:
    move_fixture_day_to_today(r)
    assert static.queues() == ["critical", "default", "paused"]
    infos = {i.queue: i for i in static.queue_infos()}
    d = infos["default"]
    assert (d.size, d.groups, d.pending, d.active, d.scheduled) == (13, 1, 6, 0, 2)
    assert (d.retry, d.archived, d.completed, d.aggregating) == (1, 1, 1, 2)
    assert (d.processed, d.failed, d.processed_total, d.failed_total) == (4, 2, 4, 2)
    assert d.paused is False
    # Go wrote pending_since in nanoseconds when the fixture was made.
    assert d.latency == pytest.approx(time.time() - 1795844267.974199549, abs=5)
    assert d.memory_usage > 0
    c = infos["critical"]
    assert (c.size, c.pending, c.groups, c.processed, c.paused) == (1, 1, 0, 0, False)
    p = infos["paused"]
    assert (p.size, p.pending, p.paused) == (1, 1, True)
    single = static.queue_info("default")
    assert (single.size, single.pending, single.aggregating, single.processed) == (13, 6, 2, 4)
    history = static.history("default", 2)
    assert [(h.processed, h.failed) for h in history] == [(4, 2), (0, 0)]


def test_groups_and_paused_flag_written_by_go(static: Inspector) -> None:
    assert [(g.group, g.size) for g in static.groups("default")] == [("g1", 2)]
    with pytest.raises(QueueStateError):
        static.pause("paused")
    static.unpause("paused")
    assert not static.queue_info("paused").paused


def test_live_active_task_is_orphaned(live: Inspector) -> None:
    (task,) = live.list_tasks("live", "active")
    assert (task.id, task.type, task.payload, task.queue) == (LIVE_TASK, "sleep", b"60000", "live")
    assert (task.max_retry, task.timeout, task.state) == (25, 1800, TaskState.ACTIVE)
    assert task.is_orphaned  # its lease ended at LIVE_LEASE, in the past
    assert time.time() > LIVE_LEASE
    assert live.get_task("live", LIVE_TASK).is_orphaned
    assert live.queue_info("live").active == 1
    with pytest.raises(TaskStateError, match="running"):
        live.delete_task("live", LIVE_TASK)


def test_live_scheduler_history_and_cron_tasks(live: Inspector) -> None:
    assert live.queues() == ["critical", "cronq", "default", "live", "paused"]
    events = live.scheduler_history(CRON_ENTRY)
    assert [(e.task_id, e.enqueued_at) for e in events] == [
        (tid, at(s + ns / 1e9)) for tid, s, ns in CRON_EVENTS
    ]
    assert [e.task_id for e in live.scheduler_history(CRON_ENTRY, page=2, page_size=2)] == [
        CRON_EVENTS[2][0]
    ]
    cron = live.list_tasks("cronq", "pending")
    assert [t.id for t in cron] == [tid for tid, _, _ in reversed(CRON_EVENTS)]
    assert {(t.type, t.payload) for t in cron} == {("noop", _fx("cron-3s"))}


def test_servers_and_workers_in_go_encoding(live: Inspector, r: redis.Redis) -> None:
    # The live fixture's server keys expired before the export; put back Go's exact bytes.
    (server_bytes,) = dump_values(SERVER_KEY)
    (worker_bytes,) = dump_values(WORKERS_KEY)
    alive = time.time() + 10
    r.set(SERVER_KEY, server_bytes, ex=10)
    r.hset(WORKERS_KEY, LIVE_TASK, worker_bytes)
    r.zadd(keys.ALL_SERVERS, {SERVER_KEY: alive})
    r.zadd(keys.ALL_WORKERS, {WORKERS_KEY: alive})
    (server,) = live.servers()
    assert (server.id, server.host, server.pid) == (
        "3b542e87-f30a-451e-b763-f9a953d91a09",
        "vm",
        20779,
    )
    assert (server.concurrency, server.queues, server.strict_priority) == (3, {"live": 1}, False)
    assert server.status == "active"
    assert server.started == at(1795844268 + 251391250 / 1e9)
    (worker,) = server.active_workers
    assert (worker.task_id, worker.task_type, worker.task_payload) == (LIVE_TASK, "sleep", b"60000")
    assert (worker.queue, worker.server_id, worker.host, worker.pid) == (
        "live",
        server.id,
        "vm",
        20779,
    )
    assert worker.started == at(1795844268 + 252599997 / 1e9)
    assert worker.deadline == at(1795846068 + 252599827 / 1e9)


def test_scheduler_entries_in_go_encoding(live: Inspector, r: redis.Redis) -> None:
    first, second = dump_values(SCHEDULER_KEY)
    r.rpush(SCHEDULER_KEY, first, second)
    r.zadd(keys.ALL_SCHEDULERS, {SCHEDULER_KEY: time.time() + 20})
    entries = live.scheduler_entries()
    assert [e.id for e in entries] == [CRON_ENTRY, "44788652-6147-421d-a620-ff8fd95218f2"]
    every3s, hourly = entries
    assert (hourly.spec, hourly.task_type, hourly.task_payload) == (
        "@every 1h",
        "noop",
        _fx("cron"),
    )
    assert hourly.options == ['Queue("cronq")']
    assert hourly.next_enqueue_at == at(1795847868)
    assert hourly.prev_enqueue_at is None  # Go's zero time: never ran
    assert (every3s.spec, every3s.task_payload) == ("@every 3s", _fx("cron-3s"))
    assert every3s.next_enqueue_at == at(1795844280)
    assert every3s.prev_enqueue_at == at(1795844277)


def test_actions_on_go_tasks(static: Inspector, r: redis.Redis) -> None:
    # Deleting the unique task frees the lock Go took for it.
    assert r.get(UNIQUE_KEY) == b"dddf7ed8-49a2-4b6a-98bb-567574fd2fe9"
    static.delete_task("default", "dddf7ed8-49a2-4b6a-98bb-567574fd2fe9")
    assert not r.exists(UNIQUE_KEY, "asynq:{default}:t:dddf7ed8-49a2-4b6a-98bb-567574fd2fe9")
    # The archived task runs again, next in line, with a latency from now.
    static.run_task("default", "f0e2ff29-550b-4564-8d4b-586c6c3fb8c3")
    assert r.lindex(keys.pending("default"), 0) == b"f0e2ff29-550b-4564-8d4b-586c6c3fb8c3"
    assert static.get_task("default", "f0e2ff29-550b-4564-8d4b-586c6c3fb8c3").state is P
    # Running the whole group empties it and drops its name.
    assert static.run_all("default", "aggregating", group="g1") == 2
    assert not r.exists(keys.group("default", "g1"), keys.all_groups("default"))
    info = static.queue_info("default")
    assert (info.pending, info.archived, info.aggregating, info.groups) == (8, 0, 0, 0)
