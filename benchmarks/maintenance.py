"""Throughput of the worker's maintenance jobs on one private redis-server.

forward: ``n`` due scheduled tasks moved to pending by one forwarder pass. recover: ``n``
active tasks whose lease expired sent to retry by one recoverer pass. janitor: ``n`` expired
completed tasks deleted by one janitor pass. aggregate: groups of ``--group-size`` tasks, ``n``
tasks in all, aggregated by one aggregator pass. Each is timed from the start to the end of
the pass, on a flushed database filled beforehand.

    python -m benchmarks.maintenance [--n 20000] [--group-size 100] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import redis

from benchmarks import _harness
from qops.storage import keys, wire
from qops.storage.broker import AsyncBroker
from qops.task import Task
from qops.worker.aggregator import Aggregator
from qops.worker.forwarder import Forwarder
from qops.worker.janitor import Janitor
from qops.worker.recoverer import Recoverer

Q = "default"


def _fill(r: redis.Redis, n: int, state: str, score: float, group_size: int = 0) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        task_id = f"t{i:07}"
        msg = wire.encode(wire.TaskMessage(type="noop", id=task_id, queue=Q, retry=25))
        key = keys.task(Q, task_id)
        pipe.hset(key, mapping={"msg": msg, "state": state})
        if state == "active":
            pipe.lpush(keys.active(Q), task_id)
            pipe.zadd(keys.lease(Q), {task_id: score})
        elif state == "aggregating":
            group = f"g{i // group_size}"
            pipe.hset(key, "group", group)
            pipe.zadd(keys.group(Q, group), {task_id: score})
            pipe.sadd(keys.all_groups(Q), group)
        else:
            pipe.zadd(keys.state_key(Q, state), {task_id: score})
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


async def _timed(url: str, run: Callable[[AsyncBroker], Awaitable[object]]) -> float:
    broker = AsyncBroker.from_url(url)
    try:
        start = time.perf_counter()
        await run(broker)
        return time.perf_counter() - start
    finally:
        await broker.close()


def _combine(group: str, tasks: list[Task]) -> Task:
    return Task("batch", b"".join(t.payload for t in tasks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks per job")
    parser.add_argument("--group-size", type=int, default=100, help="tasks per group")
    parser.add_argument("--quick", action="store_true", help="--n 2000")
    args = parser.parse_args()
    n = 2000 if args.quick else args.n
    now = time.time()
    jobs: list[tuple[str, str, float, Callable[[AsyncBroker], Awaitable[object]]]] = [
        ("forward", "scheduled", now - 1, lambda b: Forwarder(b, [Q]).run_once()),
        ("recover", "active", now - 60, lambda b: Recoverer(b, [Q]).run_once()),
        ("janitor", "completed", now - 1, lambda b: Janitor(b, [Q]).run_once()),
        (
            "aggregate",
            "aggregating",
            now - 120,
            lambda b: Aggregator(b, [Q], aggregate=_combine).run_once(),
        ),
    ]
    with _harness.redis_server() as url:
        r = redis.Redis.from_url(url)
        print(f"{'job':<10} {'tasks':>8} {'seconds':>8} {'tasks/s':>10}")
        for name, state, score, run in jobs:
            r.flushall()
            _fill(r, n, state, score, args.group_size)
            seconds = asyncio.run(_timed(url, run))
            print(f"{name:<10} {n:>8,} {seconds:>8.2f} {n / seconds:>10,.0f}", flush=True)


if __name__ == "__main__":
    main()
