"""Test utilities: polling with a timeout, and what a fresh interpreter imports."""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any


def wait_for(pred: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll ``pred`` until it returns something truthy, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = pred()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


async def async_wait_for(
    pred: Callable[[], Any],
    timeout: float = 10.0,  # noqa: ASYNC109 - the same signature as wait_for
    interval: float = 0.005,
) -> Any:
    """`wait_for` for asyncio tests: the loop keeps running between polls.

    ``pred`` may be a plain function or return an awaitable (an ``async def``), which is
    awaited.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = pred()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def modules_loaded(code: str, *packages: str, argv: tuple[str, ...] = ()) -> list[str]:
    """The modules of ``packages`` loaded by a fresh interpreter once it has run ``code``."""
    probe = (
        f"{code}\n"
        "import json as _json, sys as _sys\n"
        f"_packages = {packages!r}\n"
        "print(_json.dumps(sorted(m for m in _sys.modules "
        "if any(m == p or m.startswith(p + '.') for p in _packages))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(out.stdout.splitlines()[-1])
    return loaded
