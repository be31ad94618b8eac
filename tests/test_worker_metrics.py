"""Worker metrics: ``qops worker --metrics-port`` scraped after real work on real Redis, the
multiprocess endpoint of ``--processes``, and the observer hooks behind them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

import qops
from qops.storage import keys
from qops.worker.observer import WorkerObserver
from tests.helpers import async_wait_for, modules_loaded, wait_for
from tests.redis_server import RedisServer, free_port
from tests.worker_helpers import serving, start_worker

KIND = "metrics:"  # the handler pattern: the type label of every metrics:<x> task

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Endpoint:
    def __init__(self, port: int) -> None:
        self.port = port

    def scrape(self) -> Samples:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = resp.read().decode()
        samples: Samples = {}
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return samples

    def up(self) -> bool:
        try:
            self.scrape()
        except OSError:
            return False
        return True


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def task_counts(samples: Samples, queue: str, kind: str) -> dict[str, float]:
    names = ("started", "succeeded", "failed", "retried", "archived", "requeued")
    return {n: value(samples, f"qops_worker_tasks_{n}_total", queue=queue, type=kind)
            for n in names}  # fmt: skip


def orphan(r: redis.Redis, queue: str, task_id: str) -> None:
    """Make a pending task look like one a dead worker was running (lease long past)."""
    r.lrem(keys.pending(queue), 0, task_id)
    r.lpush(keys.active(queue), task_id)
    r.zadd(keys.lease(queue), {task_id: int(time.time()) - 60})
    r.hset(keys.task(queue, task_id), "state", "active")


def test_single_process_endpoint_counts_exactly(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    c = qops.Client(redis_url)
    for i in range(18):
        c.enqueue("metrics:ok", {"n": i}, queue="m")
    c.enqueue("metrics:ok", {"n": "scheduled"}, queue="m", process_in=1)
    lost = c.enqueue("metrics:ok", {"n": "recovered"}, queue="m")
    orphan(r, "m", lost.id)
    for retry in (1, 1, 0):  # two failures go to retry, the last one is archived
        c.enqueue("metrics:bad", {}, queue="m", max_retry=retry)
    c.enqueue("nobody:42", {}, queue="m", max_retry=0)
    c.enqueue("hold", {"sleep": 600}, queue="slow")
    port = free_port()
    args = [
        "--queues", "m,slow", "--metrics-port", str(port), "--retry-delay", "3600",
        "--forward-interval", "0.2", "--lease-duration", "3", "--shutdown-timeout", "0",
    ]  # fmt: skip
    procs.append(start_worker(redis_url, *args))
    endpoint = Endpoint(port)
    wait_for(endpoint.up, timeout=20)
    samples = wait_for(
        lambda: (
            (s := endpoint.scrape())
            and value(s, "qops_worker_tasks_succeeded_total", queue="m", type=KIND) == 20
            and value(s, "qops_worker_tasks_archived_total", queue="m", type="unhandled") == 1
            and value(s, "qops_worker_lease_extensions_total", queue="slow") >= 2
            and s
        ),
        timeout=30,
    )

    assert task_counts(samples, "m", KIND) == {
        "started": 23, "succeeded": 20, "failed": 3, "retried": 2, "archived": 1, "requeued": 0,
    }  # fmt: skip
    assert task_counts(samples, "m", "unhandled") == {
        "started": 1, "succeeded": 0, "failed": 1, "retried": 0, "archived": 1, "requeued": 0,
    }  # fmt: skip
    assert task_counts(samples, "slow", "hold")["started"] == 1
    # Patterns nothing ran under are there too, at 0, ready for rate().
    assert ("qops_worker_tasks_started_total", (("queue", "slow"), ("type", "echo"))) in samples
    duration = "qops_worker_task_duration_seconds"
    assert value(samples, f"{duration}_count", queue="m", type=KIND) == 23
    assert value(samples, f"{duration}_count", queue="m", type="unhandled") == 1
    assert value(samples, f"{duration}_bucket", queue="m", type=KIND, le="+Inf") == 23
    assert value(samples, f"{duration}_sum", queue="m", type=KIND) > 0
    # Every task of m came with its pending_since (enqueued, forwarded or recovered).
    latency = "qops_worker_dequeue_latency_seconds"
    assert value(samples, f"{latency}_count", queue="m") == 24
    assert 0 < value(samples, f"{latency}_sum", queue="m") < 24 * 60
    assert value(samples, "qops_worker_tasks_in_flight", queue="m") == 0
    assert value(samples, "qops_worker_tasks_in_flight", queue="slow") == 1
    assert value(samples, "qops_worker_tasks_forwarded_total", queue="m", source="scheduled") == 1
    assert value(samples, "qops_worker_tasks_forwarded_total", queue="m", source="retry") == 0
    assert value(samples, "qops_worker_tasks_recovered_total", queue="m", outcome="pending") == 1
    assert value(samples, "qops_worker_leases_lapsed_total", queue="slow") == 0
    assert value(samples, "qops_worker_lease_extension_failures_total") == 0
    assert value(samples, "process_resident_memory_bytes") > 0
    # The same numbers as Redis keeps.
    assert r.zcard(keys.retry("m")) == 2 and r.zcard(keys.archived("m")) == 2
    assert int(r.get(keys.failed_total("m")) or 0) == 3 + 1 + 1  # the recovery was a failure


def test_multiprocess_endpoint_sums_every_process(
    redis_url: str, r: redis.Redis, procs: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    args = [
        "--queues", "m,slow", "--processes", "2", "--concurrency", "2",
        "--metrics-port", str(port), "--shutdown-timeout", "0",
    ]  # fmt: skip
    procs.append(sup := start_worker(redis_url, *args))
    endpoint = Endpoint(port)
    wait_for(endpoint.up, timeout=20)
    wait_for(lambda: r.zcard(keys.ALL_SERVERS) == 2, timeout=30)
    c = qops.Client(redis_url)
    for i in range(20):
        c.enqueue("metrics:ok", {"n": i, "sleep": 0.05}, queue="m")
    for _ in range(3):
        c.enqueue("metrics:bad", {}, queue="m", max_retry=0)
    wait_for(lambda: r.llen("test:pids") == 23, timeout=30)
    assert len(set(r.lrange("test:pids", 0, -1))) == 2, "both processes should have run tasks"

    samples = wait_for(
        lambda: (
            (s := endpoint.scrape())
            and value(s, "qops_worker_tasks_archived_total", queue="m", type=KIND) == 3
            and s
        ),
        timeout=10,
    )
    assert task_counts(samples, "m", KIND) == {
        "started": 23, "succeeded": 20, "failed": 3, "retried": 0, "archived": 3, "requeued": 0,
    }  # fmt: skip
    assert value(samples, "qops_worker_task_duration_seconds_count", queue="m", type=KIND) == 23
    assert value(samples, "qops_worker_dequeue_latency_seconds_count", queue="m") == 23

    # A child stopped by SIGTERM requeues its task; its counts stay in the totals.
    c.enqueue("hold", {"sleep": 600}, queue="slow")
    wait_for(lambda: r.llen("test:holders") == 1, timeout=20)
    in_flight = {"queue": "slow"}
    wait_for(lambda: value(endpoint.scrape(), "qops_worker_tasks_in_flight", **in_flight) == 1)
    os.kill(int(r.lindex("test:holders", 0)), signal.SIGTERM)
    wait_for(
        lambda: value(endpoint.scrape(), "qops_worker_tasks_requeued_total", queue="slow",
                      type="hold") == 1,
        timeout=20,
    )  # fmt: skip
    # The other process takes the requeued task; kill -9 it: its live gauge goes with it.
    wait_for(lambda: r.llen("test:holders") == 2, timeout=20)
    holder = int(r.lindex("test:holders", 1))
    wait_for(lambda: value(endpoint.scrape(), "qops_worker_tasks_in_flight", **in_flight) == 1)
    os.kill(holder, signal.SIGKILL)
    wait_for(
        lambda: value(endpoint.scrape(), "qops_worker_tasks_in_flight", **in_flight) == 0,
        timeout=20,
    )
    samples = endpoint.scrape()
    assert task_counts(samples, "slow", "hold") == {
        "started": 2, "succeeded": 0, "failed": 0, "retried": 0, "archived": 0, "requeued": 1,
    }  # fmt: skip
    assert value(samples, "qops_worker_tasks_succeeded_total", queue="m", type=KIND) == 20

    sup.send_signal(signal.SIGTERM)
    assert sup.wait(30) == 0
    _, err = sup.communicate()
    assert "restarting" in err


def test_metrics_port_in_use_exits_1_with_one_line(
    redis_url: str, procs: list[subprocess.Popen[str]]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for extra in ([], ["--processes", "2"]):
            procs.append(p := start_worker(redis_url, "--metrics-port", port, *extra))
            _, err = p.communicate(timeout=30)
            assert p.returncode == 1, err
            lines = err.strip().splitlines()
            assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], err


def test_worker_without_metrics_loads_no_prometheus(redis_url: str) -> None:
    code = (
        "import sys, qops\n"
        "w = qops.Worker(qops.Handlers(), redis_url=sys.argv[1])\n"
        "assert w.observer is None\n"
    )
    assert modules_loaded(code, "prometheus_client", argv=(redis_url,)) == []


# -- the observer interface, in process ----------------------------------------------------


class Recording(WorkerObserver):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def serving(self, queues: Sequence[str], kinds: Sequence[str]) -> None:
        self.calls.append(("serving", list(queues), list(kinds)))

    def task_started(self, queue: str, kind: str, waited: float | None) -> None:
        self.calls.append(("started", queue, kind))

    def task_finished(self, queue: str, kind: str, outcome: str, seconds: float) -> None:
        self.calls.append(("finished", queue, kind, outcome))

    def lease_extension_failed(self, count: int) -> None:
        self.calls.append(("extension_failed", count))

    def leases_lapsed(self, queue: str, count: int) -> None:
        self.calls.append(("lapsed", queue, count))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == name]


async def test_lost_redis_shows_as_failed_extensions_and_a_lapsed_lease() -> None:
    server = RedisServer().start()
    try:
        h = qops.Handlers()

        @h.task("long")
        async def long(task: qops.Task) -> None:
            await asyncio.sleep(60)

        qops.Client(server.url).enqueue("long", b"")
        observer = Recording()
        w = qops.Worker(h, redis_url=server.url, lease_duration=2, observer=observer)
        async with serving(w):
            await async_wait_for(lambda: observer.named("started"))
            server.stop()
            await async_wait_for(lambda: observer.named("lapsed"), timeout=10)
            server.start()
        assert observer.calls[0] == ("serving", ["default"], ["long"])
        assert observer.named("started") == [("started", "default", "long")]
        assert observer.named("extension_failed")[0] == ("extension_failed", 1)
        assert observer.named("lapsed") == [("lapsed", "default", 1)]
        assert observer.named("finished") == [("finished", "default", "long", "lapsed")]
    finally:
        server.cleanup()


async def test_a_failing_observer_loses_no_task(
    redis_url: str, r: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(WorkerObserver):
        def task_started(self, queue: str, kind: str, waited: float | None) -> None:
            raise RuntimeError("observer bug")

    h = qops.Handlers()
    ran: list[str] = []

    @h.task("t")
    async def t(task: qops.Task) -> None:
        ran.append(task.id)

    ids = [qops.Client(redis_url).enqueue("t", {"i": i}).id for i in range(5)]
    async with serving(qops.Worker(h, redis_url=redis_url, observer=Broken())):
        await async_wait_for(
            lambda: len(ran) == 5 and not r.exists(*(keys.task("default", i) for i in ids))
        )
    assert sorted(ran) == sorted(ids)
    lines = [rec.getMessage() for rec in caplog.records if "observer hook" in rec.getMessage()]
    assert lines == ["observer hook task_started failed: RuntimeError: observer bug"]


def test_observer_must_be_a_worker_observer() -> None:
    with pytest.raises(qops.errors.InvalidInputError, match="observer must be a"):
        qops.Worker(qops.Handlers(), observer=object())  # type: ignore[arg-type]
