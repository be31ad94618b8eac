"""Drain throughput, latency and worker memory of qops and its peers, in one run on one
private redis-server.

drain: a marker task, ``n`` no-op tasks and a last marker are enqueued first; one worker
(concurrency 10) is started and timed from its start until the last marker has run, then the
queue's own API must confirm that every task ran, or the figure is a failure. latency: an
idle worker gets one task at a time; each measures the time from the call to enqueue until it
starts. Every measurement runs in a fresh process on a flushed database, its worker as a real
subprocess started by its own CLI.

    python -m benchmarks.drain [--n 20000] [--samples 500] [--repeat 1] [--only qops,huey]
                               [--quick]

With ``--repeat K`` the rounds go over all queues in turn; a queue's drain figure is its best
round and its latency figures those of the round with the median p99.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks import _harness
from benchmarks._harness import QOPS
from benchmarks.peers import PEERS

DEFAULT = [QOPS, "arq", "rq", "celery", "dramatiq", "huey", "saq"]
QOPS_MODULES = {QOPS: "benchmarks.drain_qops"}
QOPS_WORKER = "qops worker --concurrency 10 --quiet: 1 process, asyncio"
# The peers stop themselves well before these; they bound a measurement that hangs.
DRAIN_TIMEOUT = 360.0
LATENCY_TIMEOUT = 180.0


def _measure(url: str, name: str, function: str, args: list[Any], timeout: float) -> Any:
    return _harness.measure(url, name, QOPS_MODULES, function, args, timeout)


def _rate(outcome: Any) -> Any:
    return outcome.get("tasks_per_s") if isinstance(outcome, dict) else None


def _describe(outcome: Any, keys: dict[str, str]) -> str:
    if not isinstance(outcome, dict):
        return str(outcome)
    return ", ".join(f"{label} {_figure(outcome.get(key))}" for key, label in keys.items())


def _best_drain(runs: list[Any]) -> Any:
    """The fastest round; the first failure when no round gave a figure."""
    measured = [r for r in runs if _rate(r) is not None]
    return max(measured, key=_rate) if measured else runs[0]


def _median_latency(runs: list[Any]) -> Any:
    """The round with the median p99, so one lucky or unlucky round does not decide."""
    measured = sorted((r for r in runs if isinstance(r, dict)), key=lambda r: r["p99_ms"])
    return measured[(len(measured) - 1) // 2] if measured else runs[0]


def _figure(value: Any) -> str:
    if not isinstance(value, float | int):
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks to drain")
    parser.add_argument("--samples", type=int, default=500, help="latency samples")
    parser.add_argument("--concurrency", type=int, default=10, help="worker concurrency")
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(DEFAULT)}")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; drain keeps the best")
    parser.add_argument("--quick", action="store_true", help="--n 2000 --samples 100")
    args = parser.parse_args()
    n, samples = (2000, 100) if args.quick else (args.n, args.samples)
    names = _harness.parse_only(args.only, DEFAULT)
    _harness.announce(names)

    drain_runs: dict[str, list[Any]] = {name: [] for name in names}
    latency_runs: dict[str, list[Any]] = {name: [] for name in names}
    with _harness.redis_server() as url:
        print(f"n={n}, samples={samples}, concurrency={args.concurrency}", flush=True)
        # Rounds go over every queue in turn, so load drift on a shared machine falls on all.
        for round_ in range(args.repeat):
            for name in names:
                outcome = _measure(url, name, "drain", [url, n, args.concurrency], DRAIN_TIMEOUT)
                drain_runs[name].append(outcome)
                shown = _describe(
                    outcome,
                    {
                        "tasks_per_s": "tasks/s",
                        "drain_tasks_per_s": "after startup /s",
                        "startup_s": "startup s",
                        "peak_rss_mb": "peak RSS MB",
                        "running_rss_mb": "running RSS MB",
                    },
                )
                print(f"  round {round_ + 1}: {name:<9} drain    {shown}", flush=True)
                outcome = _measure(url, name, "latency", [url, samples], LATENCY_TIMEOUT)
                latency_runs[name].append(outcome)
                shown = _describe(outcome, {"p50_ms": "p50 ms", "p99_ms": "p99 ms"})
                print(f"  round {round_ + 1}: {name:<9} latency  {shown}", flush=True)
    drains = {name: _best_drain(runs) for name, runs in drain_runs.items()}
    latencies = {name: _median_latency(runs) for name, runs in latency_runs.items()}
    _report(names, drains, latencies)


def _report(names: list[str], drains: dict[str, Any], latencies: dict[str, Any]) -> None:
    notes = _harness.Notes()
    qops_rate = _rate(drains.get(QOPS))
    rows = []
    for name in names:
        d, lat = drains[name], latencies[name]
        row = [name]
        if isinstance(d, dict):
            row += [
                _figure(d.get("tasks_per_s")),
                _harness.ratio(d.get("tasks_per_s"), qops_rate),
                _figure(d.get("drain_tasks_per_s")),
                _figure(d.get("startup_s")),
                _figure(d.get("peak_rss_mb")),
                _figure(d.get("running_rss_mb")),
            ]
        else:
            row += [notes.cell(d), "-", "-", "-", "-", "-"]
        if isinstance(lat, dict):
            row += [
                _figure(lat.get("p50_ms")),
                _figure(lat.get("p99_ms")),
                str(lat.get("samples", "-")),
            ]
        else:
            row += [notes.cell(lat), "-", "-"]
        rows.append(row)
    header = ["queue", "drain tasks/s", "ratio", "after startup /s", "startup s", "peak RSS MB",
              "running RSS MB", "p50 ms", "p99 ms", "samples"]  # fmt: skip
    print()
    print(_harness.table(header, rows))
    if notes.reasons:
        print(notes)
    print("ratio: the queue's drain rate / qops's (below 1: qops is faster);")
    print("after startup: n / time from the first marker to the last")
    print("peak RSS: the worker's processes over their whole lives, start-up included (a CLI")
    print("  that execs into the worker counts); running RSS: once tasks run")
    print("workers:")
    for name in names:
        print(f"  {name}: {QOPS_WORKER if name == QOPS else PEERS[name].worker}")


if __name__ == "__main__":
    main()
