"""One module per peer, each with the same functions:

- ``enqueue_one(url, n) -> seconds`` for ``n`` single enqueue calls;
- ``enqueue_bulk(url, n) -> seconds`` for ``n`` tasks through the peer's bulk API;
- ``drain(url, n, concurrency=10) -> {tasks_per_s, drain_tasks_per_s, peak_rss_mb,
  running_rss_mb, startup_s, seconds}`` (see `_common.drain`);
- ``latency(url, samples) -> {p50_ms, p99_ms, samples}``;

`PEERS` says how each worker runs and what its bulk API is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    name: str
    module: str
    worker: str
    bulk: str
    # Whether it needs benchmarks/.venv-peers (its redis-py range excludes ours).
    own_venv: bool = False


PEERS = {
    p.name: p
    for p in (
        Peer(
            "arq", "benchmarks.peers.arq_peer",
            worker="arq, WorkerSettings.max_jobs=10: 1 process, asyncio, polls every 0.5 s",
            bulk="none", own_venv=True,
        ),
        Peer(
            "rq", "benchmarks.peers.rq_peer",
            worker="rq worker-pool -n 10 -w rq.worker.SimpleWorker: 10 processes, no fork per job",
            bulk="Queue.enqueue_many (one pipeline)",
        ),
        Peer(
            "celery", "benchmarks.peers.celery_peer",
            worker="celery worker --pool threads -c 10 --without-mingle --without-gossip",
            bulk="group(signatures).apply_async()",
        ),
        Peer(
            "dramatiq", "benchmarks.peers.dramatiq_peer",
            worker="dramatiq --processes 1 --threads 10",
            bulk="group(messages).run(): one enqueue each",
        ),
        Peer(
            "huey", "benchmarks.peers.huey_peer",
            worker="huey_consumer -w 10 -k thread: 1 process, 10 threads",
            bulk="task.map(items): one LPUSH each",
        ),
        Peer(
            "saq", "benchmarks.peers.saq_peer",
            worker="saq, settings concurrency=10: 1 process, asyncio",
            bulk="none", own_venv=True,
        ),
    )
}  # fmt: skip
