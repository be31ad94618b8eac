"""One module per peer, each with the same functions:

- ``enqueue_one(url, n) -> seconds`` for ``n`` single enqueue calls;
- ``enqueue_bulk(url, n) -> seconds`` for ``n`` tasks through the peer's bulk API;
- ``drain(url, n, concurrency=10) -> {tasks_per_s, peak_rss_mb, startup_s, seconds}``;
- ``latency(url, samples) -> {p50_ms, p99_ms, samples}``;

and ``WORKER`` / ``BULK`` saying how the peer's worker runs and what its bulk API is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    name: str
    module: str
    # Whether it needs benchmarks/.venv-peers (its redis-py range excludes ours).
    own_venv: bool = False


PEERS = {
    p.name: p
    for p in (
        Peer("arq", "benchmarks.peers.arq_peer", own_venv=True),
        Peer("rq", "benchmarks.peers.rq_peer"),
        Peer("celery", "benchmarks.peers.celery_peer"),
        Peer("dramatiq", "benchmarks.peers.dramatiq_peer"),
        Peer("huey", "benchmarks.peers.huey_peer"),
        Peer("saq", "benchmarks.peers.saq_peer", own_venv=True),
    )
}
