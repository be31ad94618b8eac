"""`Periodic`: the loop the worker's maintenance jobs share (forwarder, recoverer, janitor,
aggregator).

A job runs one pass at once and then one pass per interval until the worker stops. A pass that
fails (Redis down, a script error) is logged at most once per `COMPLAINT_INTERVAL` and the loop
carries on: every pass starts from what Redis holds, so a missed pass only delays work.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import math
import time
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from qops.connection import mask_url
from qops.errors import ConnectionFailedError
from qops.storage.broker import AsyncBroker, RedisError
from qops.storage.calls import Call
from qops.task import Duration, validate_queue
from qops.worker.options import duration
from qops.worker.waiting import wait_at_most

Clock = Callable[[], float]
"""Returns the time in unix seconds; tests pass one set ahead to make time pass."""

COMPLAINT_INTERVAL = 5.0
"""Seconds between two log lines about failing passes of one job."""

K = TypeVar("K", bound=Hashable)


class Periodic(abc.ABC):
    """A maintenance job over the queues a worker serves, run every ``interval`` seconds.

    Args:
        broker: Redis access; the job never closes it.
        queues: The served queues; duplicates are ignored.
        interval: Seconds between the end of one pass and the start of the next.
        clock: Unix time source.
    """

    name = "maintenance"

    def __init__(
        self, broker: AsyncBroker, queues: Sequence[str], *, interval: Duration, clock: Clock
    ) -> None:
        self.broker = broker
        self.queues = list(dict.fromkeys(validate_queue(q) for q in queues))
        self.interval = duration(interval, f"{self.name} interval", positive=True)
        self.clock = clock
        self.log = logging.getLogger(type(self).__module__)
        self._complained_at = -math.inf

    @abc.abstractmethod
    async def run_once(self) -> object:
        """One pass over every served queue."""

    async def run(self, stopping: asyncio.Event) -> None:
        """Run a pass now and then every ``interval`` until ``stopping`` is set.

        Never raises for a failing pass. When ``stopping`` is set mid-pass, the pass is
        cancelled between Redis writes (each write is one atomic script) and this returns.
        """
        while not stopping.is_set():
            await self._pass(stopping)
            await wait_at_most(stopping, self.interval)

    async def _pass(self, stopping: asyncio.Event) -> None:
        job = asyncio.ensure_future(self.run_once())
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({job, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not job.done():
                job.cancel()
                # The job may hold a write that must not be cut in half; let it finish.
                await asyncio.wait({job})
        if not job.cancelled() and (exc := job.exception()) is not None:
            self.complain(exc)

    async def drain(
        self, parts: Sequence[K], call: Callable[[K], Call], batch: int
    ) -> dict[K, int]:
        """Run ``call(part)`` for every part, repeating for those whose reply was a full batch.

        Each round is one round trip; a part drops out once its script moved fewer than
        ``batch`` tasks, so a backlog is worked off in one pass without one long script.

        Returns:
            The replies summed per part.
        """
        total = dict.fromkeys(parts, 0)
        todo = list(total)
        while todo:
            replies = await self.broker.run([call(part) for part in todo])
            for part, n in zip(todo, replies, strict=True):
                total[part] += n
            todo = [part for part, n in zip(todo, replies, strict=True) if n >= batch]
        return total

    def complain(self, exc: BaseException) -> None:
        """Log ``exc`` unless this job logged a failure less than a few seconds ago."""
        now = time.monotonic()
        if now - self._complained_at < COMPLAINT_INTERVAL:
            return
        self._complained_at = now
        if isinstance(exc, ConnectionFailedError):
            self.log.warning("%s: %s; trying again every %gs", self.name, exc, self.interval)
        elif isinstance(exc, RedisError):
            url = mask_url(self.broker.url)
            self.log.warning("%s: Redis at %s failed: %s", self.name, url, exc)
        else:
            self.log.error("%s: pass failed", self.name, exc_info=exc)
