"""Running workers in tests: a `qops.Worker` in an asyncio test, or ``qops worker`` processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import qops
from tests.helpers import async_wait_for
from tests.qops_cli import QOPS

ROOT = Path(__file__).resolve().parent.parent
APP = "tests.worker_app:handlers"


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


def start_worker(
    redis_url: str, *args: str, stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE
) -> subprocess.Popen[str]:
    """``qops worker --app tests.worker_app:handlers ARGS`` on ``redis_url``; a later --app wins."""
    return subprocess.Popen(
        [QOPS, "worker", "--app", APP, *args],
        cwd=ROOT,
        env={**os.environ, "QOPS_REDIS_URL": redis_url},
        stdout=stdout,
        stderr=stderr,
        text=True,
    )


def run_worker(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``qops worker ARGS`` on ``redis_url`` to its end, for runs that stop at startup."""
    return subprocess.run(
        [QOPS, "worker", *args],
        cwd=ROOT,
        env={**os.environ, "QOPS_REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
