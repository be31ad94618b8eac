"""qops's side of the drain benchmark: drain throughput, enqueue-to-start latency, worker RSS.

The worker is a real ``qops worker`` process (concurrency 10 unless told otherwise) serving
``benchmarks/drain_qops_app.py``, whose tasks are those of the peers: a no-op that does
nothing at all, a marker and a stamp. It is measured exactly as they are
(``benchmarks/peers/_common.py``), and the Inspector then confirms that every task ran. Run
alone it starts a private redis-server and prints the figures, measured as in
``benchmarks/drain.py``: under ``benchmarks/.venv-bench`` (``benchmarks/venvs.py``).

    python benchmarks/drain_qops.py [--n 20000] [--samples 500] [--concurrency 10]

It also measures the latency of tasks from a producer that does not publish on the wake
channel, as Go Asynq's client does not: the idle worker then finds them by its fallback poll.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import time
import uuid

import redis

from benchmarks.peers import _common
from qops import Client, Inspector, Task
from qops.storage import keys, wire

APP = "benchmarks.drain_qops_app:handlers"
NOOP = "bench:noop"
MARK = "bench:mark"
STAMP = "bench:stamp"
QUEUE = "default"
ENQUEUE_CHUNK = 10_000


def _argv(url: str, concurrency: int) -> list[str]:
    return [_common.executable("qops"), "worker", "--app", APP, "--redis-url", url,
            "--concurrency", str(concurrency), "--quiet"]  # fmt: skip


def _fill(client: Client, n: int) -> None:
    for start in range(0, n, ENQUEUE_CHUNK):
        count = min(ENQUEUE_CHUNK, n - start)
        client.enqueue_many(Task(NOOP) for _ in range(count))


def _unfinished(inspector: Inspector, total: int) -> str | None:
    info = inspector.queue_info(QUEUE)
    left = {
        "pending": info.pending,
        "active": info.active,
        "scheduled": info.scheduled,
        "retry": info.retry,
        "archived": info.archived,
    }
    return _common.shortfall(total, left, ran=info.processed_total, failed=info.failed_total)


def drain(redis_url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    """Enqueue ``n`` no-op tasks between two markers; time one fresh worker process until the
    last marker runs, then check the queue's counters. See `benchmarks.peers._common.drain`.
    """
    with Client(redis_url) as client, Inspector(redis_url) as inspector:
        return _common.drain(
            redis_url,
            n,
            _argv(redis_url, concurrency),
            lambda k: _fill(client, k),
            lambda key: client.enqueue(MARK, key.encode()),
            lambda total: _unfinished(inspector, total),
            timeout,
        )


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


def latency_unannounced(redis_url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    """`latency` for tasks written as Go Asynq's client writes them: the same hash and LPUSH,
    but no publish on the wake channel, so the idle worker finds them by its fallback poll.
    """
    r = redis.Redis.from_url(redis_url)
    r.sadd(keys.ALL_QUEUES, QUEUE)

    def send(sent: float) -> None:
        task_id = str(uuid.uuid4())
        msg = wire.encode(
            wire.TaskMessage(
                type=STAMP, payload=repr(sent).encode(), id=task_id, queue=QUEUE, retry=25,
                timeout=1800,
            )
        )  # fmt: skip
        pipe = r.pipeline(transaction=True)
        pipe.hset(
            keys.task(QUEUE, task_id),
            mapping={"msg": msg, "state": "pending", "pending_since": time.time_ns()},
        )
        pipe.lpush(keys.pending(QUEUE), task_id)
        pipe.execute()

    r.delete(_common.LATENCY_KEY)
    return _common.latency(redis_url, samples, _argv(redis_url, 10), send, timeout)


def main() -> None:
    import argparse

    from benchmarks import _harness
    from benchmarks.drain import DRAIN_TIMEOUT, LATENCY_TIMEOUT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks to drain")
    parser.add_argument("--samples", type=int, default=500, help="latency samples")
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    modules = {_harness.QOPS: "benchmarks.drain_qops"}
    _harness.announce([_harness.QOPS])
    with _harness.redis_server() as url:
        d = _harness.measure(
            url, _harness.QOPS, modules, "drain", [url, args.n, args.concurrency], DRAIN_TIMEOUT
        )
        if isinstance(d, dict):
            print(
                f"drain n={args.n} concurrency={args.concurrency}: "
                f"{d['tasks_per_s']:,.0f} tasks/s from worker start "
                f"({d['drain_tasks_per_s']:,.0f} tasks/s from the first marker to the last, "
                f"startup {d['startup_s']:.2f} s), peak RSS {d['peak_rss_mb']:.1f} MB "
                f"({d['running_rss_mb']:.1f} MB once tasks run)",
                flush=True,
            )
        else:
            print(f"drain: {d}", flush=True)
        lat = _harness.measure(
            url, _harness.QOPS, modules, "latency", [url, args.samples], LATENCY_TIMEOUT
        )
        if isinstance(lat, dict):
            print(
                f"latency enqueue->start, idle worker, {lat['samples']} samples: "
                f"p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms"
            )
        else:
            print(f"latency: {lat}")
        go_samples = min(args.samples, 200)
        go = _harness.measure(
            url, _harness.QOPS, modules, "latency_unannounced", [url, go_samples], LATENCY_TIMEOUT
        )
        if isinstance(go, dict):
            print(
                f"latency, producer that does not publish (as Go Asynq's client), "
                f"{go['samples']} samples: p50 {go['p50_ms']:.2f} ms, p99 {go['p99_ms']:.2f} ms, "
                f"mean {go['mean_ms']:.2f} ms"
            )
        else:
            print(f"latency, producer that does not publish: {go}")


if __name__ == "__main__":
    main()
