"""Polling with a timeout, for tests that wait on something another process or task does."""

from __future__ import annotations

import asyncio
import inspect
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
