"""qops's drain doing exactly the peers' work per task.

The handler in ``benchmarks/drain_qops.py`` does nothing; each peer's no-op task INCRs a
Redis counter, one round trip more per task. Here qops's handler INCRs the same counter, and
completion is read from it, as for the peers (``benchmarks/peers/_common.py``), so this row
compares like with like. Its latency is that of ``benchmarks/drain_qops.py``.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio

from benchmarks import drain_qops
from benchmarks.peers import _common
from qops import Client, Handlers, Task

NOOP = "bench:noop"

handlers = Handlers()
_redis: list[redis.asyncio.Redis] = []


@handlers.task(NOOP)
async def noop(task: Task) -> None:
    if not _redis:
        _redis.append(redis.asyncio.Redis.from_url(_common.app_url()))
    await _redis[0].incr(_common.DONE_KEY)


def _fill(url: str, n: int) -> None:
    with Client(url) as client:
        client.enqueue_many(Task(NOOP) for _ in range(n))


def drain(url: str, n: int, concurrency: int = 10, timeout: float = 300) -> dict[str, Any]:
    """See `benchmarks.peers._common.drain`."""
    argv = [_common.executable("qops"), "worker", "--app", f"{__name__}:handlers",
            "--redis-url", url, "--concurrency", str(concurrency), "--quiet"]  # fmt: skip
    return _common.drain(url, n, argv, lambda k: _fill(url, k), timeout)


def latency(url: str, samples: int, timeout: float = 120) -> dict[str, Any]:
    return drain_qops.latency(url, samples, timeout)
