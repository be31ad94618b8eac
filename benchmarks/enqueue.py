"""Enqueue throughput of qops and its peers, in one run on one private redis-server.

For each queue: ``n`` single enqueue calls (one at a time), then ``n`` tasks through its
bulk API, each best of ``--repeat`` rounds on a flushed database, in a fresh process; the
rounds go over all queues in turn.

    python -m benchmarks.enqueue [--n 20000] [--repeat 3] [--only qops,huey] [--quick]
"""

from __future__ import annotations

import argparse

from benchmarks import _harness
from benchmarks._harness import QOPS
from benchmarks._runner import Failed, NotOffered
from benchmarks.peers import PEERS

DEFAULT = [QOPS, "huey", "dramatiq", "rq", "celery", "arq", "saq"]
QOPS_MODULES = {QOPS: "benchmarks.enqueue_qops"}
MODES = {"one": "enqueue_one", "bulk": "enqueue_bulk"}
TIMEOUT = 180.0
QOPS_BULK = "Client.enqueue_many(tasks): one round trip"
# qops's bulk figure is held against this; its one-at-a-time figure against the fastest peer.
BULK_TARGET = 50_000


def best(outcomes: list[object]) -> object:
    """The shortest duration; a failure when there is none."""
    times = [o for o in outcomes if isinstance(o, float | int)]
    return min(times) if times else outcomes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(DEFAULT)}")
    parser.add_argument("--quick", action="store_true", help="--n 2000 --repeat 1")
    args = parser.parse_args()
    n, repeat = (2000, 1) if args.quick else (args.n, args.repeat)
    names = _harness.parse_only(args.only, DEFAULT)
    _harness.announce(names)

    # Rounds go over every queue in turn, so that load from other processes on a shared
    # machine falls on all of them alike instead of on whichever ran at a bad moment.
    outcomes: dict[tuple[str, str], list[object]] = {}
    with _harness.redis_server() as url:
        print(f"n={n}, best of {repeat}, rounds interleaved", flush=True)
        for round_ in range(repeat):
            for name in names:
                for mode, function in MODES.items():
                    done = outcomes.setdefault((name, mode), [])
                    if done and isinstance(done[-1], Failed | NotOffered):
                        continue
                    outcome = _harness.measure(url, name, QOPS_MODULES, function, [url, n], TIMEOUT)
                    done.append(outcome)
                    rate = _harness.per_second(_harness.rate(n, outcome))
                    print(f"  round {round_ + 1}: {name:<9} {mode:<5} {rate}", flush=True)
    rates = {key: _harness.rate(n, best(done)) for key, done in outcomes.items()}

    notes = _harness.Notes()
    rows = [
        [
            name,
            notes.cell(rates[name, "one"]),
            _harness.ratio(rates[name, "one"], rates.get((QOPS, "one"))),
            notes.cell(rates[name, "bulk"]),
            _harness.ratio(rates[name, "bulk"], rates.get((QOPS, "bulk"))),
        ]
        for name in names
    ]
    header = ["queue", "one at a time /s", "ratio", "bulk /s", "ratio"]
    print()
    print(_harness.table(header, rows))
    if notes.reasons:
        print(notes)
    print("ratio: the queue's figure / qops's (below 1: qops is faster)")
    print("bulk APIs:")
    for name in names:
        bulk = QOPS_BULK if name == QOPS else PEERS[name].bulk
        print(f"  {name}: {bulk}")
    _targets(names, rates)


def _targets(names: list[str], rates: dict[tuple[str, str], object]) -> None:
    one, bulk = rates.get((QOPS, "one")), rates.get((QOPS, "bulk"))
    peers = {n: rates[n, "one"] for n in names if n != QOPS}
    measured = {n: r for n, r in peers.items() if isinstance(r, float)}
    if isinstance(one, float) and measured:
        fastest = max(measured, key=lambda k: measured[k])
        verdict = "met" if one >= measured[fastest] else "NOT met"
        print(f"target one at a time >= fastest peer ({fastest} {measured[fastest]:,.0f}/s):"
              f" qops {one:,.0f}/s, {verdict}")  # fmt: skip
    if isinstance(bulk, float):
        verdict = "met" if bulk >= BULK_TARGET else "NOT met"
        print(f"target enqueue_many >= {BULK_TARGET:,}/s: qops {bulk:,.0f}/s, {verdict}")


if __name__ == "__main__":
    main()
