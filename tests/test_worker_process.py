"""``qops worker`` as a real process: startup errors, SIGTERM, kill -9, --processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest
import redis

import qops
from qops.storage import keys, wire
from tests.helpers import wait_for
from tests.worker_helpers import APP, run_worker, start_worker

# Recovery within seconds: 2 s leases, no skew allowance, frequent passes.
FAST_RECOVERY = ["--lease-duration", "2", "--recover-interval", "0.2", "--recover-skew", "0"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "tests.worker_app:missing"], "has no attribute 'missing'"),
        (["--app", "tests.no_such_module:handlers"], "cannot import module"),
        (["--app", "tests.worker_app:not_handlers"], "not a qops.Handlers"),
        (["--app", "nocolon"], "package.module:handlers"),
        (["--app", APP, "--queues", "a=0"], "priority '0' of queue 'a'"),
    ],
)
def test_bad_settings_exit_2(redis_url: str, args: list[str], message: str) -> None:
    result = run_worker(redis_url, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_redis_exits_4_with_one_line(redis_url: str) -> None:
    result = run_worker("redis://127.0.0.1:1/0", "--app", APP)
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot connect to Redis at redis://127.0.0.1:1/0" in lines[0]


def test_factory_app_serves(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    info = qops.Client(redis_url).enqueue("record", {})
    procs.append(p := start_worker(redis_url, "--app", "tests.worker_app:factory"))
    wait_for(lambda: r.lrange("test:runs", 0, -1) == [info.id.encode()], timeout=20)
    p.send_signal(signal.SIGTERM)
    assert p.wait(20) == 0


def test_sigterm_requeues_unfinished_tasks_at_the_head(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    c = qops.Client(redis_url)
    ids = [c.enqueue("arecord", {"sleep": 60}).id for _ in range(10)]
    procs.append(
        p := start_worker(redis_url, "--concurrency", "4", "--shutdown-timeout", "0.5", "-v")
    )
    wait_for(lambda: r.llen("test:started") == 4, timeout=20)
    running = {x.decode() for x in r.lrange("test:started", 0, -1)}
    p.send_signal(signal.SIGTERM)
    assert p.wait(20) == 0
    _, err = p.communicate()
    assert "requeueing 4 unfinished tasks" in err
    pending = [x.decode() for x in r.lrange(keys.pending("default"), 0, -1)]
    assert sorted(pending) == sorted(ids)
    # RPOPLPUSH takes from the right: the requeued tasks are the next ones to run.
    assert set(pending[-4:]) == running
    for task_id in ids:
        assert r.hget(keys.task("default", task_id), "state") == b"pending"
        # Requeued tasks count toward the queue's latency again.
        assert r.hget(keys.task("default", task_id), "pending_since") is not None
        m = wire.decode_task(r.hget(keys.task("default", task_id), "msg"), task_id)
        assert m.retried == 0 and m.error_msg == ""
    assert r.llen(keys.active("default")) == 0 and r.zcard(keys.lease("default")) == 0
    assert r.get("asynq:{default}:processed") is None
    assert r.get("asynq:{default}:failed") is None
    assert r.zcard(keys.ALL_SERVERS) == 0 and r.zcard(keys.ALL_WORKERS) == 0
    assert r.llen("test:runs") == 0


def test_second_signal_stops_at_once(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    c = qops.Client(redis_url)
    ids = [c.enqueue("arecord", {"sleep": 60}).id for _ in range(2)]
    procs.append(p := start_worker(redis_url, "--shutdown-timeout", "60"))
    wait_for(lambda: r.llen("test:started") == 2, timeout=20)
    p.send_signal(signal.SIGTERM)
    wait_for(lambda: _status(r) == "closed", timeout=10)
    p.send_signal(signal.SIGINT)
    assert p.wait(10) == 0
    assert sorted(x.decode() for x in r.lrange(keys.pending("default"), 0, -1)) == sorted(ids)


def _status(r: redis.Redis) -> str | None:
    for key in r.zrange(keys.ALL_SERVERS, 0, -1):
        raw = r.get(key)
        if raw:
            return str(wire.decode(wire.ServerInfoMessage, raw, "server").status)
    return None


def test_kill_9_loses_nothing(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    n = 60
    c = qops.Client(redis_url)
    results = c.enqueue_many(qops.Task("record", {"sleep": 0.05}) for _ in range(n))
    ids = {t.id for t in results if isinstance(t, qops.TaskInfo)}
    assert len(ids) == n
    procs.append(first := start_worker(redis_url, "--concurrency", "5", *FAST_RECOVERY))
    wait_for(lambda: r.llen("test:runs") >= 15, timeout=30)
    first.kill()
    first.wait(10)
    active_at_kill = {x.decode() for x in r.lrange(keys.active("default"), 0, -1)}
    assert active_at_kill, "the kill should catch tasks in flight"
    procs.append(second := start_worker(redis_url, "--concurrency", "5", *FAST_RECOVERY))
    wait_for(lambda: not any(r.exists(keys.task("default", i)) for i in ids), timeout=60)
    runs = Counter(x.decode() for x in r.lrange("test:runs", 0, -1))
    assert set(runs) == ids
    twice = {i for i, k in runs.items() if k > 1}
    assert twice <= active_at_kill
    assert all(k <= 2 for k in runs.values())
    assert r.llen(keys.active("default")) == 0 and r.zcard(keys.lease("default")) == 0
    # Recovered tasks count as failures (lease expired), as in Asynq.
    assert int(r.get("asynq:{default}:failed") or 0) == len(active_at_kill)
    second.send_signal(signal.SIGTERM)
    assert second.wait(20) == 0


def test_killed_workers_tasks_run_again_within_40_s_with_default_settings(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    """The product bound: lease 30 s + skew 5 s + recoverer interval 5 s = 40 s after a kill."""
    n = 8
    c = qops.Client(redis_url)
    ids = {c.enqueue("hold", {"sleep": 600}).id for _ in range(n)}
    procs.append(first := start_worker(redis_url))
    wait_for(lambda: r.llen("test:started") == n, timeout=20)
    # Kill right after a heartbeat renewed the leases (30 s ahead): close to the worst case.
    taken = max(score for _, score in r.zrange(keys.lease("default"), 0, -1, withscores=True))
    wait_for(lambda: r.zscore(keys.lease("default"), next(iter(ids))) > taken, timeout=10)
    first.kill()
    killed = time.time()
    first.wait(10)
    leases = dict(r.zrange(keys.lease("default"), 0, -1, withscores=True))
    assert {i.decode() for i in leases} == ids
    procs.append(second := start_worker(redis_url))  # every recovery setting at its default

    wait_for(lambda: r.llen("test:runs") == n, timeout=max(0.0, killed + 45 - time.time()))
    took = time.time() - killed
    print(f"\ntasks of a worker killed with -9 ran again {took:.1f} s after the kill")
    assert took <= 45
    # Not before the lease (plus the 5 s skew allowance) had passed: no double run of a live task.
    assert killed + took >= min(leases.values()) + 5 - 1
    runs = Counter(x.decode() for x in r.lrange("test:runs", 0, -1))
    assert runs == dict.fromkeys(ids, 1)
    wait_for(lambda: not any(r.exists(keys.task("default", i)) for i in ids), timeout=10)
    assert int(r.get("asynq:{default}:failed") or 0) == n  # each recovery counts as a failure
    second.send_signal(signal.SIGTERM)
    assert second.wait(20) == 0


def test_processes_are_supervised_and_restarted(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    procs.append(p := start_worker(redis_url, "--processes", "2"))
    wait_for(lambda: len(_pids(r)) == 2, timeout=30)
    pids = _pids(r)
    assert p.pid not in pids
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    # The supervisor starts a replacement (after a 1 s backoff); the dead one's entry expires.
    wait_for(lambda: len(_pids(r) - pids) == 1, timeout=30)
    info = qops.Client(redis_url).enqueue("record", {})
    wait_for(lambda: r.lrange("test:runs", 0, -1) == [info.id.encode()], timeout=20)
    p.send_signal(signal.SIGTERM)
    assert p.wait(30) == 0
    _, err = p.communicate()
    assert "exited with code -9; restarting" in err
    live = _pids(r) - {victim}
    assert live == set(), live


def _pids(r: redis.Redis) -> set[int]:
    pids = set()
    for key in r.zrangebyscore(keys.ALL_SERVERS, "-inf", "+inf"):
        raw = r.get(key)
        if raw:
            pids.add(int(wire.decode(wire.ServerInfoMessage, raw, "server").pid))
    return pids
