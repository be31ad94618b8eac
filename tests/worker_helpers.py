"""Running a `qops.Worker` inside an asyncio test, and waiting on Redis state."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import qops


async def until(pred: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """Poll a sync ``pred`` while the loop keeps running; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = pred()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def serving(worker: qops.Worker) -> AsyncIterator[qops.Worker]:
    """Serve ``worker`` in this loop for the block; stop it gracefully afterwards."""
    task = asyncio.create_task(worker.serve())
    await until(lambda: worker.processor is not None or task.done())
    if task.done():
        task.result()
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


def state(r: Any, queue: str, task_id: str) -> str | None:
    value = r.hget(f"asynq:{{{queue}}}:t:{task_id}", "state")
    return None if value is None else value.decode()
