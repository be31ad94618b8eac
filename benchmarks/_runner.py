"""Run one measurement in a process of its own, bounded in time.

Each measurement imports only its own queue library, under the interpreter of the virtualenv
that library lives in (``benchmarks/venvs.py``), and a hang or crash costs one figure, not
the whole run:
``python -m benchmarks._runner MODULE FUNCTION ARGS_JSON`` calls ``MODULE.FUNCTION(*ARGS)``
and prints its result as one JSON line after `MARK`.

Nothing from qops is imported: the peers' virtualenv does not have it.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from benchmarks import venvs
from benchmarks.peers._common import BenchError, Unsupported

MARK = "BENCH-RESULT "
# After a timeout, SIGTERM first, so that the measurement stops the worker it started.
GRACE = 20.0


@dataclass(frozen=True)
class Failed:
    """A measurement that produced no figure, and why."""

    reason: str

    def __str__(self) -> str:
        return f"failed: {self.reason}"


@dataclass(frozen=True)
class NotOffered:
    """The queue offers nothing to measure here."""

    reason: str

    def __str__(self) -> str:
        return f"n/a: {self.reason}"


Outcome = Any  # the function's JSON result, or Failed / NotOffered


def run(python: str, module: str, function: str, args: list[Any], timeout: float) -> Outcome:
    """``module.function(*args)`` in a child process of ``python``, one of the `venvs`'
    interpreters, within ``timeout`` s."""
    argv = [python, "-m", "benchmarks._runner", module, function, json.dumps(args)]
    proc = subprocess.Popen(
        argv,
        cwd=venvs.REPO,
        env=venvs.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        return Failed(f"no result within {timeout:.0f} s")
    for line in reversed(out.splitlines()):
        if line.startswith(MARK):
            reply = json.loads(line[len(MARK) :])
            if "result" in reply:
                return reply["result"]
            if reply.get("unsupported"):
                return NotOffered(reply["error"])
            return Failed(reply["error"])
    tail = " | ".join(err.strip().splitlines()[-3:])
    return Failed(f"exit status {proc.returncode}: {tail or 'no output'}")


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    module, function, args = argv[0], argv[1], json.loads(argv[2])
    signal.signal(signal.SIGTERM, _stop)
    try:
        result = getattr(importlib.import_module(module), function)(*args)
    except Exception as exc:
        # The queue libraries' own errors arrive here too: each is this figure's failure.
        if not isinstance(exc, BenchError):
            traceback.print_exc()
        error = str(exc) or type(exc).__name__
        unsupported = isinstance(exc, Unsupported)
        print(MARK + json.dumps({"error": error, "unsupported": unsupported}), flush=True)
        return 1
    print(MARK + json.dumps({"result": result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
