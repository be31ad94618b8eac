"""What one Prometheus scrape of ``qops metrics serve`` costs, at a few and at many queues.

For each queue count, on one private redis-server: every queue gets a few tasks (2 pending,
1 scheduled, 1 in a group), a real ``qops metrics serve`` process is scraped over HTTP
(``--min-interval 0``, so every scrape reads Redis), and the figures per scrape are:

- wall: HTTP request to last byte, median and worst of ``--scrapes``;
- commands and Redis time: deltas of INFO commandstats (the INFO calls left out; commands
  run inside Lua scripts count too);
- round trips: counted in this process around the same collection the exporter runs
  (`read_snapshot`), by counting the requests redis-py sends (a pipeline is one);
- for comparison, the per-queue way Asynq's collector reads the same data: the queue list,
  then one request per queue (``Inspector.queue_info`` in a loop).

The exporter is the ``qops`` of ``benchmarks/.venv-bench``, installed as users install it
(``benchmarks/venvs.py``); the collection timed in this process runs under the interpreter
this script runs under.

    python -m benchmarks.metrics_scrape [--queues 10,500] [--scrapes 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.connection import AbstractConnection

import qops
from benchmarks import _harness, venvs
from qops.metrics.queue_collector import read_snapshot
from tests.redis_server import free_port


def seed(url: str, queues: int) -> None:
    with qops.Client(url) as client:
        tasks = []
        for i in range(queues):
            q = f"q{i:04d}"
            tasks += [
                qops.Task("work", {"n": 1}, queue=q),
                qops.Task("work", {"n": 2}, queue=q),
                qops.Task("work", {"n": 3}, queue=q, process_in=3600),
                qops.Task("work", {"n": 4}, queue=q, group="g"),
            ]
        for result in client.enqueue_many(tasks):
            assert isinstance(result, qops.TaskInfo), result


def command_stats(r: redis.Redis) -> tuple[int, int]:
    """Commands run and microseconds spent, over every command but INFO."""
    stats = r.info("commandstats")
    calls = usec = 0
    for name, v in stats.items():
        if name != "cmdstat_info":
            calls += int(v["calls"])
            usec += int(v["usec"])
    return calls, usec


@contextmanager
def exporter(qops_bin: str, url: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [qops_bin, "metrics", "serve", "--port", str(port), "--min-interval", "0",
         "--redis-url", url, "--quiet"],
        stderr=subprocess.DEVNULL,
        env=venvs.env(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                scrape(port)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("qops metrics serve did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def scrape(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        body: bytes = resp.read()
    assert b"qops_metrics_scrape_ok 1.0" in body, "a scrape was served stale"
    return body


@contextmanager
def counted_requests() -> Iterator[list[int]]:
    """Counts what redis-py sends: one per single command, one per pipeline."""
    count = [0]
    original = AbstractConnection.send_packed_command

    def send(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        count[0] += 1
        original(self, command, check_health)

    AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
    try:
        yield count
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


def per_call(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Round trips per call and median milliseconds, after one warm-up call."""
    fn()
    times = []
    with counted_requests() as count:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return count[0] / repeat, statistics.median(times) * 1000


def measure(qops_bin: str, url: str, queues: int, scrapes: int) -> list[str]:
    r = redis.Redis.from_url(url)
    r.flushall()
    seed(url, queues)
    with exporter(qops_bin, url) as port:
        scrape(port)
        before = command_stats(r)
        walls, sizes = [], []
        for _ in range(scrapes):
            start = time.perf_counter()
            sizes.append(len(scrape(port)))
            walls.append(time.perf_counter() - start)
        after = command_stats(r)
    commands = (after[0] - before[0]) / scrapes
    redis_ms = (after[1] - before[1]) / scrapes / 1000
    with qops.Inspector(url) as inspector:
        trips, collect_ms = per_call(lambda: read_snapshot(inspector), scrapes)
        per_queue_trips, per_queue_ms = per_call(
            lambda: [inspector.queue_info(q) for q in inspector.queues()], min(scrapes, 5)
        )
    r.close()
    return [
        f"{queues}",
        f"{statistics.median(walls) * 1000:.1f}",
        f"{max(walls) * 1000:.1f}",
        f"{collect_ms:.1f}",
        f"{trips:.0f}",
        f"{commands:.0f}",
        f"{redis_ms:.2f}",
        f"{statistics.median(sizes) / 1024:.0f}",
        f"{per_queue_trips:.0f}",
        f"{per_queue_ms:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", default="10,500", help="comma-separated queue counts")
    parser.add_argument("--scrapes", type=int, default=20, help="scrapes per queue count")
    args = parser.parse_args()
    counts = [int(c) for c in args.queues.split(",")]
    rows = []
    qops_bin = _harness.qops_executable()
    with _harness.redis_server() as url:
        for n in counts:
            rows.append(measure(qops_bin, url, n, args.scrapes))
            print(f"  {n} queues done", flush=True)
    header = [
        "queues", "scrape ms", "worst ms", "collect ms", "round trips", "commands",
        "redis ms", "body KiB", "per-queue round trips", "per-queue ms",
    ]  # fmt: skip
    print()
    print(_harness.table(header, rows))
    print(
        "scrape ms: median HTTP scrape of qops metrics serve (collection and formatting);\n"
        "collect ms / round trips: the collection alone, in this process (median; 3 round trips\n"
        "  when servers are alive, 2 when none are);\n"
        "commands: per scrape, counting those inside scripts; redis ms: Redis's time on them;\n"
        "per-queue: the same data read one request per queue, as Asynq's exporter does; on a\n"
        "  network each of its round trips adds the network's latency (500 x 1 ms = 0.5 s)."
    )


if __name__ == "__main__":
    main()
