"""What a running worker publishes about itself (real Redis)."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import redis

import qops
from qops.storage import keys, wire
from tests.helpers import async_wait_for
from tests.worker_helpers import serving


async def test_heartbeat_publishes_server_and_worker_info(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    release = asyncio.Event()

    @h.task("wait")
    async def wait(task: qops.Task) -> None:
        await release.wait()

    info = qops.Client(redis_url).enqueue("wait", b"payload", queue="high", timeout=120)
    w = qops.Worker(
        h, redis_url=redis_url, queues={"high": 6, "low": 2}, concurrency=7, heartbeat_interval=0.2
    )
    async with serving(w):
        await async_wait_for(lambda: _worker_count(r) == 1)
        servers = r.zrange(keys.ALL_SERVERS, 0, -1, withscores=True)
        assert len(servers) == 1
        server_key, score = servers[0]
        assert time.time() + 8 <= score <= time.time() + 11
        assert 0 < r.ttl(server_key) <= 10
        s = wire.decode(wire.ServerInfoMessage, r.get(server_key), "server")
        assert (s.host, s.pid) == (socket.gethostname(), os.getpid())
        assert server_key.decode() == keys.server_info(s.host, s.pid, s.server_id)
        assert (s.concurrency, s.strict_priority) == (7, False)
        assert dict(s.queues) == {"high": 6, "low": 2}
        assert s.status == "active"
        assert s.active_worker_count == 1
        assert abs(s.start_time.seconds - time.time()) < 10
        workers_key = keys.workers(s.host, s.pid, s.server_id)
        assert r.zscore(keys.ALL_WORKERS, workers_key) is not None
        assert 0 < r.ttl(workers_key) <= 10
        wi = wire.decode(wire.WorkerInfoMessage, r.hget(workers_key, info.id), "worker")
        assert (wi.task_id, wi.task_type, wi.task_payload, wi.queue) == (
            info.id,
            "wait",
            b"payload",
            "high",
        )
        assert wi.deadline.seconds - wi.start_time.seconds in (119, 120, 121)
        listed = qops.Inspector(redis_url).servers()
        assert [(x.id, x.concurrency, x.status) for x in listed] == [(s.server_id, 7, "active")]
        assert [a.task_id for a in listed[0].active_workers] == [info.id]
        release.set()
    assert r.zcard(keys.ALL_SERVERS) == 0 and r.zcard(keys.ALL_WORKERS) == 0
    assert not r.exists(server_key) and not r.exists(workers_key)


def _worker_count(r: redis.Redis) -> int:
    total = 0
    for key in r.zrange(keys.ALL_WORKERS, 0, -1):
        total += r.hlen(key)
    return total


async def test_lease_is_extended_while_the_task_runs(redis_url: str, r: redis.Redis) -> None:
    h = qops.Handlers()
    release = asyncio.Event()

    @h.task("wait")
    async def wait(task: qops.Task) -> None:
        await release.wait()

    info = qops.Client(redis_url).enqueue("wait", b"")
    w = qops.Worker(h, redis_url=redis_url, lease_duration=3)
    async with serving(w):
        await async_wait_for(lambda: r.zscore(keys.lease("default"), info.id) is not None)
        first = r.zscore(keys.lease("default"), info.id)
        assert first is not None and first <= time.time() + 3
        await async_wait_for(lambda: (r.zscore(keys.lease("default"), info.id) or 0) > first + 1)
        release.set()
        await async_wait_for(lambda: not r.exists(keys.task("default", info.id)))
    assert r.zcard(keys.lease("default")) == 0


async def test_task_whose_lease_lapses_is_stopped_and_not_written(
    redis_url: str, r: redis.Redis
) -> None:
    h = qops.Handlers()
    cancelled = asyncio.Event()

    @h.task("long")
    async def long(task: qops.Task) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    info = qops.Client(redis_url).enqueue("long", b"")
    w = qops.Worker(h, redis_url=redis_url, lease_duration=1)
    async with serving(w):
        await async_wait_for(lambda: r.hget(keys.task("default", info.id), "state") == b"active")
        # Redis stops answering for longer than the lease: nothing can be renewed.
        r.client_pause(2500)
        await asyncio.wait_for(cancelled.wait(), 10)
        await async_wait_for(lambda: r.ping())
    # Left for the recoverer, exactly as it was: still active, no outcome, no counters.
    assert r.hget(keys.task("default", info.id), "state") == b"active"
    assert r.lrange(keys.active("default"), 0, -1) == [info.id.encode()]
    assert (r.zscore(keys.lease("default"), info.id) or 0) <= time.time()
    assert r.get("asynq:{default}:processed") is None
