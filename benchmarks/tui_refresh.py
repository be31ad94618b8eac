"""What one refresh of ``qops tui`` costs on a big database, on one private redis-server.

Enqueues ``--tasks`` tasks over ``--queues`` queues with ``Client.enqueue_many`` (a tenth of
them scheduled), then measures through the dashboard's own `RedisSource`:

- the overview's poll (``queue_infos`` then ``redis_info``, what runs every refresh):
  round trips (requests that wait on the socket), commands and script calls sent, the time
  Redis spent on them (INFO commandstats of the commands sent; a script's time includes what
  it runs), and wall milliseconds;
- the whole refresh inside the app (headless, 120x40): from ``refresh_now()`` until the
  queue table shows the new data, rendering included;
- the queue screen: the first and the last page of one queue's pending tasks (50 per page).

Figures are medians of ``--repeat`` runs after a warm-up.

    python -m benchmarks.tui_refresh [--tasks 1000000] [--queues 100] [--repeat 15] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.connection import Connection

import qops
from benchmarks import _harness
from qops.inspector import Inspector
from qops.models import TaskState
from qops.tui.app import QopsApp
from qops.tui.source import RedisSource
from qops.tui.widgets.live_table import LiveTable

BATCH = 50_000


class Wire:
    """Counts what redis-py sends: requests (a pipeline goes out as one) and the commands in
    them, by name."""

    def __init__(self) -> None:
        self.requests = 0
        self.commands: Counter[str] = Counter()

    @contextmanager
    def counting(self) -> Iterator[None]:
        send, one, many = (
            Connection.send_packed_command,
            Connection.send_command,
            Connection.pack_commands,
        )

        def counted_send(conn: Connection, command: Any, check_health: bool = True) -> None:
            self.requests += 1
            send(conn, command, check_health)

        def counted_one(conn: Connection, *args: Any, **kwargs: Any) -> None:
            self.commands[str(args[0]).split()[0].lower()] += 1
            one(conn, *args, **kwargs)

        def counted_many(conn: Connection, commands: Any) -> Any:
            for args in commands:
                self.commands[str(args[0]).split()[0].lower()] += 1
            return many(conn, commands)

        Connection.send_packed_command = counted_send  # type: ignore[method-assign]
        Connection.send_command = counted_one  # type: ignore[method-assign]
        Connection.pack_commands = counted_many  # type: ignore[method-assign]
        try:
            yield
        finally:
            Connection.send_packed_command = send  # type: ignore[method-assign]
            Connection.send_command = one  # type: ignore[method-assign]
            Connection.pack_commands = many  # type: ignore[method-assign]


def seed(url: str, n_tasks: int, n_queues: int) -> None:
    client = qops.Client(url)
    started = time.perf_counter()
    per_queue = n_tasks // n_queues
    done = 0
    batch: list[qops.Task] = []
    for q in range(n_queues):
        queue = f"q{q:03d}"
        for i in range(per_queue):
            delay = {"process_in": 3600} if i % 10 == 0 else {}
            batch.append(qops.Task("email:send", {"user": i}, queue=queue, **delay))
            if len(batch) == BATCH:
                client.enqueue_many(batch)
                done += len(batch)
                batch = []
    if batch:
        client.enqueue_many(batch)
        done += len(batch)
    elapsed = time.perf_counter() - started
    print(f"seeded {done:,} tasks in {n_queues} queues in {elapsed:.1f} s "
          f"({done / elapsed:,.0f} tasks/s)", flush=True)  # fmt: skip


def usec(r: redis.Redis, names: set[str]) -> int:
    """Microseconds Redis has spent so far on the commands ``names`` (INFO commandstats;
    a script's time includes the commands it runs)."""
    stats = r.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{n}", {}).get("usec", 0)) for n in names)


def measure(fn: Callable[[], Any], r: redis.Redis, repeat: int) -> dict[str, float]:
    fn()  # warm-up: scripts loaded, queue names learnt
    probe = Wire()
    with probe.counting():
        fn()
    names = set(probe.commands)
    runs: list[dict[str, float]] = []
    for _ in range(repeat):
        wire = Wire()
        before = usec(r, names)
        with wire.counting():
            t0 = time.perf_counter()
            fn()
            wall = (time.perf_counter() - t0) * 1000
        runs.append({
            "round trips": wire.requests,
            "commands": sum(wire.commands.values()),
            "scripts": wire.commands["evalsha"],
            "redis ms": (usec(r, names) - before) / 1000,
            "wall ms": wall,
        })  # fmt: skip
    return {k: statistics.median(run[k] for run in runs) for k in runs[0]}


async def app_refresh(url: str, repeat: int) -> list[float]:
    """Wall ms from ``refresh_now()`` until the overview table holds the new poll."""
    app = QopsApp(RedisSource(Inspector(url)), refresh=3600)
    times: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        for _ in range(repeat):
            table = app.screen.query_one("#queues", LiveTable)
            t0 = time.perf_counter()
            app.refresh_now()
            # The poll's worker ends once its results were shown on the UI thread.
            await app.workers.wait_for_complete()
            await pilot.pause()
            times.append((time.perf_counter() - t0) * 1000)
            assert table.row_count > 0
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="10,000 tasks, 5 runs")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.repeat = 10_000, 5
    with _harness.redis_server() as url:
        r = redis.Redis.from_url(url)
        seed(url, args.tasks, args.queues)
        source = RedisSource(Inspector(url))

        def overview_poll() -> None:
            assert len(source.queue_infos()) == args.queues
            source.redis_info()

        rows = [
            ("overview poll (queue_infos + redis_info)", measure(overview_poll, r, args.repeat))
        ]
        rows.append(("  queue_infos alone", measure(source.queue_infos, r, args.repeat)))
        pending = source.count_tasks("q000", TaskState.PENDING, task_type=None)
        for page in (1, max(1, -(-pending // 50))):
            rows.append((
                f"queue screen, pending page {page}",
                measure(lambda page=page: source.list_tasks(
                    "q000", TaskState.PENDING, page=page, page_size=50, task_type=None
                ), r, args.repeat),
            ))  # fmt: skip
        print(f"\n{args.tasks:,} tasks, {args.queues} queues, median of {args.repeat} runs\n")
        print(
            f"{'':44} {'round trips':>11} {'commands':>9} {'scripts':>8} {'redis ms':>9} "
            f"{'wall ms':>8}"
        )
        for name, m in rows:
            print(
                f"{name:44} {m['round trips']:>11.0f} {m['commands']:>9.0f} "
                f"{m['scripts']:>8.0f} {m['redis ms']:>9.2f} {m['wall ms']:>8.2f}"
            )
        times = asyncio.run(app_refresh(url, args.repeat))
        label = "whole refresh in the app, rendering included"
        print(f"{label:44} {'':>11} {'':>9} {'':>8} {'':>9} {statistics.median(times):>8.2f}")
        source.close()


if __name__ == "__main__":
    main()
