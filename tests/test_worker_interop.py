"""A qops worker on tasks written by Go Asynq leaves what Asynq's own worker would."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis

import qops
from qops.storage import keys, wire
from tests.conftest import FIXTURES
from tests.helpers import async_wait_for
from tests.redis_server import load_fixture
from tests.worker_helpers import serving

FIXTURE_DAY = "2026-11-28"  # the day the fixture's daily counters were written


async def test_asynq_fixture_is_processed_like_asynq(redis_url: str, r: redis.Redis) -> None:
    load_fixture(r, FIXTURES / "asynq-v0.26.0-static.json")
    now = time.time()
    # Keep the forwarder and janitor out of this test: nothing scheduled is due yet and the
    # completed entry has not expired, whatever today's date.
    for key in (keys.scheduled("default"), keys.retry("default"), keys.completed("default")):
        for member in r.zrange(key, 0, -1):
            r.zadd(key, {member: now + 86400})
    pending_default = [x.decode() for x in r.lrange(keys.pending("default"), 0, -1)]
    pending_critical = [x.decode() for x in r.lrange(keys.pending("critical"), 0, -1)]
    originals = {
        i: wire.decode_task(r.hget(keys.task("default", i), "msg"), i) for i in pending_default
    }
    unique_pending = "asynq:{default}:unique:noop:851807c7355cbdec6e4439302d0dc23d"
    unique_scheduled = "asynq:{default}:unique:noop:aa1e98816ddfa8db708450dcc7dcf3d6"
    assert r.exists(unique_pending) and r.exists(unique_scheduled)
    seen: list[tuple[str, bytes]] = []
    h = qops.Handlers()

    @h.task("noop")
    async def noop(task: qops.Task) -> None:
        seen.append((task.queue, task.payload))

    w = qops.Worker(h, redis_url=redis_url, queues={"critical": 6, "default": 3, "paused": 1})
    async with serving(w):
        await async_wait_for(
            lambda: (
                r.llen(keys.pending("default")) == 0
                and r.llen(keys.pending("critical")) == 0
                and r.llen(keys.active("default")) == 0
                and r.llen(keys.active("critical")) == 0
            )
        )
        done_at = time.time()

    assert len(seen) == len(pending_default) + len(pending_critical) == 7
    assert (b'{"fixture":"paused-queue"}') not in [p for _, p in seen]
    # Plain tasks are gone; the one with a 1800 s retention is completed.
    kept = "0d567f1b-d420-47b6-a589-70a9e175e505"
    for task_id in pending_default:
        if task_id != kept:
            assert not r.exists(keys.task("default", task_id)), task_id
    for task_id in pending_critical:
        assert not r.exists(keys.task("critical", task_id))
    assert r.hget(keys.task("default", kept), "state") == b"completed"
    m = wire.decode_task(r.hget(keys.task("default", kept), "msg"), kept)
    assert now - 1 <= m.completed_at <= done_at
    m.completed_at = 0
    assert m == originals[kept]
    score = r.zscore(keys.completed("default"), kept)
    assert score is not None and now + 1800 - 1 <= score <= done_at + 1800
    # The lock of the pending unique task is released; the scheduled one keeps its lock.
    assert not r.exists(unique_pending)
    assert r.get(unique_scheduled) == b"77f79a4b-9cfd-42ce-8da7-c8ebd4b4867e"
    # Counters: the fixture had 4 processed and 2 failed in default.
    assert r.get("asynq:{default}:processed") == b"10"
    assert r.get("asynq:{default}:failed") == b"2"
    assert r.get("asynq:{critical}:processed") == b"1"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    expected_daily = b"10" if today == FIXTURE_DAY else b"6"
    assert r.get(f"asynq:{{default}}:processed:{today}") == expected_daily
    assert r.get(f"asynq:{{critical}}:processed:{today}") == b"1"
    # Untouched: the paused queue, groups, leases.
    assert r.lrange(keys.pending("paused"), 0, -1) == [b"0aff16ae-2487-4224-9636-9c867a10efff"]
    assert r.zcard(keys.group("default", "g1")) == 2
    assert r.zcard(keys.lease("default")) == 0 and r.zcard(keys.lease("critical")) == 0
