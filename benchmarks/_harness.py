"""What the benchmark scripts share: a private redis-server, who runs under which
interpreter, and the printing of figures."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from benchmarks import _runner, venvs
from benchmarks.peers import PEERS
from tests.redis_server import RedisServer

QOPS = "qops"


def parse_only(value: str | None, known: Sequence[str]) -> list[str]:
    """The ``--only`` list, checked against the known names (all of them by default)."""
    if value is None:
        return list(known)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"--only: unknown {', '.join(unknown)} (choose from {', '.join(known)})")
    return names


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free loopback port, stopped afterwards."""
    server = RedisServer().start()
    try:
        info = redis.Redis.from_url(server.url).info("server")
        print(f"redis-server {info['redis_version']} at {server.url}", flush=True)
        yield server.url
    finally:
        server.cleanup()


def venv_of(name: str) -> venvs.Venv:
    """The virtualenv the named queue's measurements and workers run in."""
    own = name != QOPS and PEERS[name].own_venv
    return venvs.PEERS if own else venvs.BENCH


@functools.cache
def _setup(venv: venvs.Venv) -> tuple[str, str] | _runner.Failed:
    """The venv's interpreter and what it runs on, made current and checked once per run
    (`venvs.Venv.describe`), so that every figure of a run comes from the same code."""
    try:
        python = venv.python()
        return python, venv.describe(python)
    except venvs.VenvError as exc:
        return _runner.Failed(f"{venv.name}: {exc}")


def announce(names: Sequence[str]) -> None:
    """Print which interpreter each queue runs under, making the venvs when needed."""
    print("interpreters:", flush=True)
    for venv in (venvs.BENCH, venvs.PEERS):
        queues = ", ".join(n for n in names if venv_of(n) is venv)
        if queues:
            setup = _setup(venv)
            shown = setup if isinstance(setup, _runner.Failed) else setup[1]
            print(f"  {queues}: {shown}", flush=True)


def qops_executable() -> str:
    """The ``qops`` command as users install it (``benchmarks/.venv-bench``), for the scripts
    that measure a ``qops`` process; says which it is, and exits when it cannot be had."""
    setup = _setup(venvs.BENCH)
    if isinstance(setup, _runner.Failed):
        sys.exit(str(setup))
    print(f"qops: {setup[1]}", flush=True)
    return str(Path(setup[0]).parent / "qops")


def measure(
    url: str,
    name: str,
    qops_modules: dict[str, str],
    function: str,
    args: list[Any],
    timeout: float,
) -> Any:
    """``function(*args)`` of the named queue's module, on a flushed database, under the
    queue's virtualenv; qops's modules are named in ``qops_modules``."""
    redis.Redis.from_url(url).flushall()
    module = qops_modules[name] if name in qops_modules else PEERS[name].module
    setup = _setup(venv_of(name))
    if isinstance(setup, _runner.Failed):
        return setup
    return _runner.run(setup[0], module, function, args, timeout)


def rate(n: int, seconds: Any) -> Any:
    """Tasks per second from a duration outcome; failures pass through."""
    return n / seconds if isinstance(seconds, float | int) and seconds > 0 else seconds


def per_second(value: Any) -> str:
    """A rate for the progress lines, or the failure in full."""
    return f"{value:,.0f} tasks/s" if isinstance(value, float | int) else str(value)


class Notes:
    """Missing figures stand in tables as ``failed [k]`` or ``n/a [k]``, with their reasons
    listed below."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def cell(self, value: Any, digits: int = 0) -> str:
        if isinstance(value, float | int):
            return f"{value:,.{digits}f}"
        if isinstance(value, _runner.Failed | _runner.NotOffered):
            self.reasons.append(str(value))
            word = "failed" if isinstance(value, _runner.Failed) else "n/a"
            return f"{word} [{len(self.reasons)}]"
        return str(value)

    def __str__(self) -> str:
        return "\n".join(f"[{i}] {r}" for i, r in enumerate(self.reasons, 1))


def ratio(value: Any, base: Any) -> str:
    if isinstance(value, float | int) and isinstance(base, float | int) and base > 0:
        return f"{value / base:.2f}"
    return "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, aligned for reading in a terminal too."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])
