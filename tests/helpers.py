"""Small test utilities shared by test modules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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
    pred: Callable[[], Awaitable[Any]],
    timeout: float = 5.0,  # noqa: ASYNC109 - the same signature as wait_for
    interval: float = 0.01,
) -> Any:
    """`wait_for` for asyncio tests: ``pred`` is awaited and the loop keeps running."""
    deadline = time.monotonic() + timeout
    while True:
        result = await pred()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
