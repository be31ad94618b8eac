"""What every peer's measurements share: its worker as a subprocess, the worker's memory,
drain timing from marker tasks, latency read back from Redis, percentiles.

Every queue, qops included, drains the same no-op task, which touches nothing. Completion is
seen through a marker task that SETs ``time.time()`` under the key it is given: one is
enqueued before the no-ops and one after them, so in a FIFO queue the last marker runs once
every no-op has started. The queue's own API then confirms that nothing is left. The stamp
task takes the time it was sent and RPUSHes ``time.time() - sent`` to `LATENCY_KEY` as its
first act. Worker and driver run on one machine, so their clocks are one.

Only the standard library and redis-py are used here: the modules run under the peers' own
virtualenv too (see ``benchmarks/venvs.py``). Workers inherit the measuring process's
environment, and with it its virtualenv's ``sys.path``.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import redis

URL_ENV = "BENCH_REDIS_URL"
FIRST_KEY = "bench:first"
LAST_KEY = "bench:last"
LATENCY_KEY = "bench:latency"
REPO = Path(__file__).resolve().parents[2]
# Untimed enqueues first, so connecting and loading scripts are not counted.
WARMUP = 20
# Workers that take longer than this to run their first task are reported as failed.
STARTUP_TIMEOUT = 60.0
POLL = 0.02
# After the last marker ran, the tasks still in flight have this long to finish.
SETTLE_TIMEOUT = 15.0
# Between the markers and the no-ops while filling, so that queues ordering by a
# millisecond timestamp (arq) cannot put a marker among the no-ops.
ORDER_GAP = 0.005
_PAGE = os.sysconf("SC_PAGE_SIZE")
# Starts the worker (argv after -c) in a session of its own and reports its pid, the time just
# before it started, and at its end its lifetime high-water mark, which an exec keeps (qops
# worker's CLI execs into the worker proper, and VmHWM starts afresh there). It runs with
# python -S, so the high-water mark it passes on at fork is a few MB, below any worker's: a
# worker forked from the measuring process would start out with the measuring process's.
_LAUNCHER = """
import os, resource, sys, time
argv = sys.argv[1:]
started_at = time.time()
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        os.dup2(2, 1)
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"cannot start {argv[0]}: {exc}", file=sys.stderr, flush=True)
    os._exit(127)
print(pid, repr(started_at), flush=True)
_, status = os.waitpid(pid, 0)
maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(maxrss_kb, os.waitstatus_to_exitcode(status), flush=True)
"""


class BenchError(Exception):
    """A measurement could not be completed; the message says why."""


class Unsupported(BenchError):
    """The peer offers nothing to measure here (no bulk enqueue API, for one)."""


def load_app(module: str, url: str) -> ModuleType:
    """Import the app module a peer's worker loads, configured for ``url`` as the worker is."""
    if module in sys.modules and os.environ.get(URL_ENV) != url:
        raise BenchError(f"{module} is already configured for {os.environ.get(URL_ENV)}")
    os.environ[URL_ENV] = url
    return importlib.import_module(module)


def app_url() -> str:
    """The Redis URL an app module is configured with (set by `load_app` or the worker env)."""
    url = os.environ.get(URL_ENV)
    if not url:
        raise BenchError(f"{URL_ENV} is not set")
    return url


def executable(name: str) -> str:
    """A console script installed beside the running interpreter: the queue's own CLI, from
    the virtualenv the measurement runs in."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise BenchError(f"{name} is not installed beside {sys.executable}")
    return str(path)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name: state ppid pgrp session ...
        if int(stat.rsplit(")", 1)[1].split()[3]) == sid:
            members.append(int(entry))
    return members


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Worker:
    """A peer's worker started as its users start it: its own CLI, in a process session of
    its own so that it and every process it forks can be measured and stopped together. A
    small launcher process (`_LAUNCHER`) forks it and reports its lifetime high-water mark.

    Args:
        argv: The command line.
        url: The Redis URL, given to the app module as ``BENCH_REDIS_URL``.
    """

    def __init__(self, argv: Sequence[str], url: str) -> None:
        self.argv = list(argv)
        log_fd, self.log = tempfile.mkstemp(prefix="bench-worker-", suffix=".log")
        env = {**os.environ, URL_ENV: url}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, *self.argv],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_fd,
            text=True,
        )
        os.close(log_fd)
        assert self.proc.stdout is not None
        started = self.proc.stdout.readline().split()
        if len(started) != 2:
            self.proc.wait()
            reason = self.log_tail()
            os.unlink(self.log)
            raise BenchError(f"the worker's launcher failed: {reason}")
        self.pid = int(started[0])
        # The markers record wall-clock time.
        self.started_at = float(started[1])
        self.peak_rss_mb = 0.0
        self.running_rss_mb = 0.0
        self._end: tuple[int, str] | None = None

    def log_tail(self, lines: int = 8) -> str:
        text = Path(self.log).read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def _ended(self) -> tuple[int, str]:
        """The launcher's last words, once it exited: lifetime high-water mark in KiB, and
        the worker's exit status (``?`` when the launcher was killed first)."""
        if self._end is None:
            assert self.proc.stdout is not None
            words = self.proc.stdout.read().split()
            self._end = (int(words[0]), words[1]) if len(words) == 2 else (0, "?")
        return self._end

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            status = self._ended()[1]
            raise BenchError(f"worker exited with status {status}: {self.log_tail()}")

    def sample_rss(self, running: bool) -> None:
        """Add the current resident memory of the worker's processes to the peak, and to the
        running peak once ``running`` (a task has run)."""
        total = sum(_status_kb(pid, "VmRSS") for pid in _session_members(self.pid)) / 1024
        self.peak_rss_mb = max(self.peak_rss_mb, total)
        if running:
            self.running_rss_mb = max(self.running_rss_mb, total)

    def final_rss(self) -> None:
        """Add each process's own high-water mark, which catches peaks between samples. An
        exec resets it: it covers the process image that runs the tasks."""
        total = sum(_status_kb(pid, "VmHWM") for pid in _session_members(self.pid)) / 1024
        self.running_rss_mb = max(self.running_rss_mb, total)
        self.peak_rss_mb = max(self.peak_rss_mb, total)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops a worker; SIGKILL what is left after 15 s.
        Then the worker's lifetime high-water mark joins the peak."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
        deadline = time.monotonic() + 5
        while _session_members(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait()
        self.peak_rss_mb = max(self.peak_rss_mb, self._ended()[0] / 1024)
        os.unlink(self.log)

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def shortfall(
    total: int, left: dict[str, int], ran: int | None = None, failed: int = 0
) -> str | None:
    """What a queue's own counts say is unfinished, or None when all ``total`` tasks ran.

    Args:
        total: Tasks enqueued (the no-ops and both markers).
        left: Counts of tasks not yet finished, by the queue's name for their state.
        ran: Tasks the queue records as run, for queues that count them.
        failed: Tasks the queue records as failed.
    """
    problems = [f"{count} {state}" for state, count in left.items() if count]
    if ran is not None and ran != total:
        problems.append(f"{ran} of {total} recorded as run")
    if failed:
        problems.append(f"{failed} failed")
    return ", ".join(problems) or None


def _settle(unfinished: Callable[[int], str | None], total: int, worker: Worker) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (left := unfinished(total)) is not None:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"the last marker ran, but after {SETTLE_TIMEOUT:.0f} s: {left}")
        time.sleep(POLL)


def drain(
    url: str,
    n: int,
    argv: Sequence[str],
    fill: Callable[[int], object],
    mark: Callable[[str], object],
    unfinished: Callable[[int], str | None],
    timeout: float,
) -> dict[str, Any]:
    """Enqueue a marker, ``n`` no-op tasks and a last marker; time a fresh worker from its
    start until the last marker runs, then check with the queue's own API that all ran.

    Args:
        url: The Redis URL.
        n: No-op tasks.
        argv: The worker's command line.
        fill: Enqueues that many no-op tasks.
        mark: Enqueues one marker task that SETs ``time.time()`` under the key given.
        unfinished: Given the number of tasks enqueued, None when the queue's own counts say
            all of them ran, else what is left (see `shortfall`).
        timeout: Seconds the worker has to run the last marker.

    Returns:
        ``tasks_per_s``: n / seconds from the worker's start until the last marker ran,
        start-up included; ``drain_tasks_per_s``: n / seconds from the first marker to the
        last; ``startup_s`` until the first marker ran; ``peak_rss_mb``, the most the
        worker's processes held together over their whole lives, start-up included;
        ``running_rss_mb``, the same once tasks run (see `Worker.final_rss`); ``seconds``
        from start to the last marker.

    Raises:
        BenchError: The worker died, did not start or finish in time, or the queue does not
            confirm that every task ran.
    """
    r = redis.Redis.from_url(url)
    mark(FIRST_KEY)
    time.sleep(ORDER_GAP)
    fill(n)
    time.sleep(ORDER_GAP)
    mark(LAST_KEY)
    total = n + 2
    with Worker(argv, url) as worker:
        polls = 0
        while True:
            first, last = r.mget([FIRST_KEY, LAST_KEY])
            if last is not None:
                break
            worker.check_alive()
            waited = time.monotonic() - worker.started
            if first is None and waited > STARTUP_TIMEOUT:
                raise BenchError(f"no task ran within {STARTUP_TIMEOUT:.0f} s of worker start")
            if waited > timeout:
                left = unfinished(total) or "nothing left, yet the marker never ran"
                raise BenchError(f"the last marker did not run within {timeout:.0f} s: {left}")
            if polls % 5 == 0:
                worker.sample_rss(running=first is not None)
            polls += 1
            time.sleep(POLL)
        _settle(unfinished, total, worker)
        worker.final_rss()
    if first is None:
        raise BenchError("the last marker ran before the first")
    started, ended = float(first) - worker.started_at, float(last) - worker.started_at
    return {
        "tasks_per_s": n / ended,
        "drain_tasks_per_s": n / (ended - started),
        "peak_rss_mb": worker.peak_rss_mb,
        "running_rss_mb": worker.running_rss_mb,
        "startup_s": started,
        "seconds": ended,
    }


def _await_stamp(r: redis.Redis, worker: Worker, deadline: float) -> float:
    while True:
        reply = r.blpop([LATENCY_KEY], timeout=0.5)
        if reply is not None:
            return float(reply[1])
        worker.check_alive()
        if time.monotonic() > deadline:
            raise BenchError("a stamp task did not run in time")


def latency(
    url: str,
    samples: int,
    argv: Sequence[str],
    send: Callable[[float], object],
    timeout: float,
) -> dict[str, Any]:
    """Send stamp tasks one at a time to an idle worker; each waits for the one before.

    Returns:
        ``p50_ms`` and ``p99_ms`` from the call to enqueue until the task starts, and how many
        ``samples`` were taken (fewer than asked when ``timeout`` seconds ran out).
    """
    r = redis.Redis.from_url(url)
    with Worker(argv, url) as worker:
        # The first task only shows that the worker is up.
        send(time.time())
        _await_stamp(r, worker, worker.started + STARTUP_TIMEOUT)
        values: list[float] = []
        end = time.monotonic() + timeout
        while len(values) < samples and time.monotonic() < end:
            send(time.time())
            values.append(_await_stamp(r, worker, time.monotonic() + 30))
    return {
        "p50_ms": percentile(values, 50) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "mean_ms": sum(values) / len(values) * 1000 if values else 0.0,
        "samples": len(values),
    }
