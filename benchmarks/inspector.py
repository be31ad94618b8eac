"""What the Inspector costs on a big database, on one private redis-server.

Fills ``--queues`` queues with ``--tasks`` tasks in all (pending, scheduled, retry and
archived, a quarter each), plus one queue with ``--groups`` groups of aggregating tasks,
then measures: ``queue_infos()`` over every queue (what the dashboard polls every 2 s),
a deep ``list_tasks`` page, a page filtered by a rare type, and ``archive_all`` /
``delete_all`` of one big queue. "redis" columns are the time Redis spent in the calls
(from INFO commandstats), "longest" the longest single script call (from SLOWLOG), which is
how long Redis was blocked for everyone else.

    python -m benchmarks.inspector [--tasks 1000000] [--queues 100] [--groups 100000] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis

from benchmarks import _harness
from qops.inspector import Inspector
from qops.storage import keys, wire

# Builds ``n`` tasks server-side (the benchmark only): ids are ``<prefix><9 digits>``, so the
# protobuf can be assembled from fixed pieces around the id.
_FILL = """
local kind, prefix, n, head, tail = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local state, task_prefix, score = ARGV[6], ARGV[7], tonumber(ARGV[8])
local batch = {}
for i = 1, n do
    local id = prefix .. string.format("%09d", i)
    redis.call("HSET", task_prefix .. id, "msg", head .. id .. tail, "state", state)
    if kind == "list" then
        batch[#batch + 1] = id
    else
        batch[#batch + 1] = score + i
        batch[#batch + 1] = id
    end
    if #batch >= 1000 or i == n then
        if kind == "list" then
            redis.call("LPUSH", KEYS[1], unpack(batch))
        else
            redis.call("ZADD", KEYS[1], unpack(batch))
        end
        batch = {}
    end
end
return n
"""


def _pieces(queue: str, prefix: str, task_type: str) -> tuple[bytes, bytes]:
    marker = prefix + "#" * 9
    msg = wire.encode(
        wire.TaskMessage(
            type=task_type,
            payload=b'{"user":12345}',
            id=marker,
            queue=queue,
            retry=25,
            timeout=1800,
        )
    )
    head, tail = msg.split(marker.encode())
    return head, tail


def fill(r: redis.Redis, queue: str, state: str, n: int, prefix: str, task_type: str) -> None:
    kind = "list" if state == "pending" else "zset"
    done = 0
    while done < n:
        step = min(50_000, n - done)
        chunk_prefix = f"{prefix}{done // 50_000:02d}"
        head, tail = _pieces(queue, chunk_prefix, task_type)
        r.eval(
            _FILL,
            1,
            keys.state_key(queue, state),
            kind,
            chunk_prefix,
            step,
            head,
            tail,
            state,
            keys.task_prefix(queue),
            time.time() - n + done,
        )
        done += step
    r.sadd(keys.ALL_QUEUES, queue)


def fill_groups(r: redis.Redis, queue: str, groups: int) -> None:
    pipe = r.pipeline(transaction=False)
    head, tail = _pieces(queue, "g", "agg")
    for i in range(groups):
        task_id = f"g{i:09d}"
        name = f"grp{i}"
        pipe.hset(
            keys.task(queue, task_id),
            mapping={"msg": head + task_id.encode() + tail, "state": "aggregating", "group": name},
        )
        pipe.zadd(keys.group(queue, name), {task_id: time.time()})
        pipe.sadd(keys.all_groups(queue), name)
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    r.sadd(keys.ALL_QUEUES, queue)


class RedisClock:
    """Time Redis spends in commands, and its longest single command, between resets."""

    def __init__(self, r: redis.Redis) -> None:
        self.r = r
        r.config_set("slowlog-log-slower-than", 0)
        r.config_set("slowlog-max-len", 100_000)

    def reset(self) -> None:
        self.r.config_resetstat()
        self.r.slowlog_reset()

    def spent_ms(self) -> float:
        stats = self.r.info("commandstats")
        total = sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_eval"))
        return float(total) / 1000

    def longest_ms(self) -> float:
        entries = self.r.slowlog_get(100_000)
        durations = [e["duration"] for e in entries if b"EVAL" in e["command"].upper()[:8]]
        return max(durations, default=0) / 1000


def timed(clock: RedisClock, fn: Callable[[], Any], repeat: int) -> tuple[float, float, float, Any]:
    """Median wall ms, Redis ms per call, longest script ms, and the last result."""
    walls = []
    clock.reset()
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        walls.append((time.perf_counter() - t) * 1000)
    return statistics.median(walls), clock.spent_ms() / repeat, clock.longest_ms(), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="--tasks 100000 --groups 10000")
    args = parser.parse_args()
    tasks, groups = (100_000, 10_000) if args.quick else (args.tasks, args.groups)
    queues = args.queues

    with _harness.redis_server() as url:
        r = redis.Redis.from_url(url)
        t0 = time.perf_counter()
        # Half the tasks in one big queue, the rest spread over the others.
        big = "big"
        per_state = tasks // 2 // 4
        for state in ("pending", "scheduled", "retry", "archived"):
            fill(r, big, state, per_state, state[0], "work")
        fill(r, big, "pending", 10, "z", "rare")
        rest = tasks - 4 * per_state
        for i in range(queues - 2):
            for state in ("pending", "scheduled", "retry", "archived"):
                fill(r, f"q{i:03d}", state, rest // (queues - 2) // 4, state[0], "work")
        fill_groups(r, "grouped", groups)
        print(
            f"filled {r.dbsize():,} keys in {queues} queues "
            f"({groups:,} groups in one) in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )

        clock = RedisClock(r)
        with Inspector(url) as insp:
            insp.queue_infos()
            rows = []
            wall, spent, longest, infos = timed(clock, insp.queue_infos, 20)
            rows.append((f"queue_infos() of {len(infos)} queues", wall, spent, longest))
            deep = per_state // 30
            wall, spent, longest, _ = timed(
                clock, lambda: insp.list_tasks(big, "pending", page=deep), 20
            )
            rows.append((f"list_tasks pending page {deep:,} of 30", wall, spent, longest))
            wall, spent, longest, _ = timed(
                clock, lambda: insp.list_tasks(big, "archived", page=deep), 20
            )
            rows.append((f"list_tasks archived page {deep:,} of 30", wall, spent, longest))
            wall, spent, longest, found = timed(
                clock, lambda: insp.list_tasks(big, "pending", task_type="rare"), 1
            )
            rows.append(
                (f"list_tasks type filter, {len(found)} in {per_state:,}", wall, spent, longest)
            )
            wall, spent, longest, n = timed(clock, lambda: insp.archive_all(big, "retry"), 1)
            rows.append((f"archive_all retry ({n:,} tasks)", wall, spent, longest))
            wall, spent, longest, n = timed(clock, lambda: insp.delete_all(big, "scheduled"), 1)
            rows.append((f"delete_all scheduled ({n:,} tasks)", wall, spent, longest))

        print(f"{'operation':<44} {'wall ms':>9} {'redis ms':>9} {'longest ms':>11}")
        for name, wall, spent, longest in rows:
            print(f"{name:<44} {wall:>9.1f} {spent:>9.1f} {longest:>11.2f}")


if __name__ == "__main__":
    main()
