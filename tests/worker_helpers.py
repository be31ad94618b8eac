"""Running a `qops.Worker` inside an asyncio test, and waiting on Redis state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import qops
from tests.helpers import async_wait_for


@contextlib.asynccontextmanager
async def serving(worker: qops.Worker) -> AsyncIterator[qops.Worker]:
    """Serve ``worker`` in this loop for the block; stop it gracefully afterwards."""
    task = asyncio.create_task(worker.serve())
    await async_wait_for(lambda: worker.processor is not None or task.done())
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
