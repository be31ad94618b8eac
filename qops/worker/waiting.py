"""`wait_at_most`: the pause between two rounds of the worker's loops."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Return once ``event`` is set, or after ``seconds``, whichever comes first.

    The worker's loops sleep this way so that stopping (or a wake-up) cuts the sleep short.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
