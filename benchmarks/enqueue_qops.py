"""qops's side of the enqueue benchmark, with the peers' interface: ``Client.enqueue`` one
call per task, and ``Client.enqueue_many`` for all tasks at once."""

from __future__ import annotations

from benchmarks.peers import _common
from qops import Client, Task

TYPE = "bench:noop"


def enqueue_one(url: str, n: int) -> float:
    with Client(url) as client:
        for _ in range(_common.WARMUP):
            client.enqueue(TYPE)
        return _common.timed(lambda: [client.enqueue(TYPE) for _ in range(n)])


def enqueue_bulk(url: str, n: int) -> float:
    with Client(url) as client:
        client.enqueue_many(Task(TYPE) for _ in range(_common.WARMUP))
        # Building the tasks counts, as the peers' bulk calls build their messages too.
        return _common.timed(lambda: client.enqueue_many(Task(TYPE) for _ in range(n)))
