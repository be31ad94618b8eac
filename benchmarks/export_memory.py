"""Peak memory of ``qops export``: it streams, so it must not grow with the number of tasks.

Seeds ``--small`` and then ``--n`` pending tasks (about 200-byte JSON payloads) on a private
redis-server, runs ``qops export`` in a subprocess for each, and prints the subprocess's peak
RSS (from ``wait4``), its wall time and the size of the file written. ``qops`` is the one in
``benchmarks/.venv-bench``, installed as users install it (``benchmarks/venvs.py``).

    python -m benchmarks.export_memory [--n 100000] [--small 1000] [--format jsonl|csv]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from benchmarks import _harness, venvs
from qops import Client, Task

QUEUE = "export-bench"
CHUNK = 5000


def seed(url: str, n: int) -> None:
    redis.Redis.from_url(url).flushall()
    note = "x" * 160
    with Client(url) as client:
        for start in range(0, n, CHUNK):
            tasks = [
                Task("bench:export", {"i": i, "note": note}, queue=QUEUE)
                for i in range(start, min(n, start + CHUNK))
            ]
            failures = [r for r in client.enqueue_many(tasks) if isinstance(r, Exception)]
            if failures:
                raise SystemExit(f"seeding failed: {failures[0]}")


def export(qops_bin: str, url: str, fmt: str, out: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one ``qops export`` run."""
    args = [qops_bin, "export", "-q", QUEUE, "-s", "pending", "-f", fmt, "-o", str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        args,
        env={**venvs.env(), "QOPS_REDIS_URL": url},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"qops export failed: {err.strip()}")
    return usage.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="tasks in the large run")
    parser.add_argument("--small", type=int, default=1000, help="tasks in the baseline run")
    parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    args = parser.parse_args()
    qops_bin = _harness.qops_executable()
    with _harness.redis_server() as url, tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in (args.small, args.n):
            seed(url, n)
            out = Path(tmp) / f"export-{n}.{args.format}"
            rss, seconds = export(qops_bin, url, args.format, out)
            lines = sum(1 for _ in out.open())
            assert lines == n + (args.format == "csv"), f"exported {lines} lines for {n} tasks"
            size_mib = out.stat().st_size / 2**20
            rows.append(
                [
                    f"{n:,}",
                    f"{rss:.1f} MiB",
                    f"{seconds:.2f} s",
                    f"{n / seconds:,.0f}/s",
                    f"{size_mib:.1f} MiB",
                ]
            )
        print(f"qops export -f {args.format}, peak RSS of the qops process:")
        print(_harness.table(["tasks", "peak RSS", "time", "rate", "file"], rows))


if __name__ == "__main__":
    main()
