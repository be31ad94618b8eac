"""qops's side of the drain benchmark: drain throughput, enqueue-to-start latency, worker RSS.

The worker is a real ``qops worker`` process (concurrency 10 unless told otherwise) serving
``benchmarks/drain_qops_app.py``, whose no-op handler does nothing at all: completion is read
from the queue's own ``processed`` counter, which the worker writes when it records each
task's outcome. Run alone it starts a private redis-server and prints the figures:

    python benchmarks/drain_qops.py [--n 20000] [--samples 500] [--concurrency 10]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from benchmarks.peers import _common
from qops import Client, Task

APP = "benchmarks.drain_qops_app:handlers"
NOOP = "bench:noop"
STAMP = "bench:stamp"
PROCESSED = "asynq:{default}:processed"
ENQUEUE_CHUNK = 10_000


def _argv(url: str, concurrency: int) -> list[str]:
    return [_common.executable("qops"), "worker", "--app", APP, "--redis-url", url,
            "--concurrency", str(concurrency), "--quiet"]  # fmt: skip


def drain(redis_url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    """Enqueue ``n`` no-op tasks, then time one fresh worker process until all have run.

    Returns:
        ``tasks_per_s``: n / seconds from the worker's start to the last task, as the peers
        are measured (startup included); ``drain_tasks_per_s``: from the first task to the
        last; ``startup_s``; ``peak_rss_mb`` of the worker process; ``seconds``.
    """
    r = redis.Redis.from_url(redis_url)
    with Client(redis_url) as client:
        for start in range(0, n, ENQUEUE_CHUNK):
            count = min(ENQUEUE_CHUNK, n - start)
            client.enqueue_many(Task(NOOP) for _ in range(count))
    with _common.Worker(_argv(redis_url, concurrency), redis_url) as worker:
        first: float | None = None
        done_at_first = 0
        polls = 0
        while True:
            done = int(r.get(PROCESSED) or 0)
            now = time.monotonic()
            if done and first is None:
                first, done_at_first = now, done
            if done >= n:
                break
            worker.check_alive()
            if now - worker.started > timeout:
                raise _common.BenchError(f"timed out: {done} of {n} ran in {timeout:.0f} s")
            if polls % 5 == 0:
                worker.sample_rss()
            polls += 1
            time.sleep(0.005)
        worker.final_rss()
    assert first is not None
    elapsed = now - worker.started
    return {
        "tasks_per_s": n / elapsed,
        "drain_tasks_per_s": (n - done_at_first) / max(now - first, 1e-9),
        "startup_s": first - worker.started,
        "peak_rss_mb": worker.peak_rss_mb,
        "seconds": elapsed,
    }


def latency(redis_url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    """An idle worker gets one task at a time; time from the enqueue call to handler start.

    Returns:
        ``p50_ms``, ``p99_ms`` and the number of ``samples`` taken.
    """
    with Client(redis_url) as client:
        client.enqueue(STAMP, b"0")  # connect and load the scripts before timing

        def send(sent: float) -> None:
            client.enqueue(STAMP, repr(sent).encode())

        redis.Redis.from_url(redis_url).delete(_common.LATENCY_KEY)
        return _common.latency(redis_url, samples, _argv(redis_url, 10), send, timeout)


def main() -> None:
    import argparse

    from benchmarks import _harness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks to drain")
    parser.add_argument("--samples", type=int, default=500, help="latency samples")
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    with _harness.redis_server() as url:
        redis.Redis.from_url(url).flushall()
        d = drain(url, args.n, args.concurrency)
        print(
            f"drain n={args.n} concurrency={args.concurrency}: "
            f"{d['tasks_per_s']:,.0f} tasks/s from worker start "
            f"({d['drain_tasks_per_s']:,.0f} tasks/s from first task to last, "
            f"startup {d['startup_s']:.2f} s), peak RSS {d['peak_rss_mb']:.1f} MB",
            flush=True,
        )
        redis.Redis.from_url(url).flushall()
        lat = latency(url, args.samples)
        print(
            f"latency enqueue->start, idle worker, {lat['samples']} samples: "
            f"p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms"
        )


if __name__ == "__main__":
    main()
