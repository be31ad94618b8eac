"""`Janitor`: deletes completed tasks whose retention is over."""

from __future__ import annotations

import time
from collections.abc import Sequence

from qops.storage import keys
from qops.storage.broker import AsyncBroker
from qops.storage.calls import Call, lua
from qops.task import Duration
from qops.worker.options import count
from qops.worker.periodic import Clock, Periodic

DEFAULT_INTERVAL = 8.0
BATCH = 100


class Janitor(Periodic):
    """Deletes completed tasks (hash and ``completed`` entry) once their retention ends.

    Args:
        broker: Redis access.
        queues: The queues to serve.
        interval: Seconds between passes (Asynq's ``JanitorInterval``, 8 s).
        batch_size: Tasks deleted per script call; calls repeat until none are expired.
        clock: Unix time source.
    """

    name = "janitor"

    def __init__(
        self,
        broker: AsyncBroker,
        queues: Sequence[str],
        *,
        interval: Duration = DEFAULT_INTERVAL,
        batch_size: int = BATCH,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(broker, queues, interval=interval, clock=clock)
        self.batch_size = count(batch_size, "janitor batch size", minimum=1)

    async def run_once(self) -> int:
        """Delete every expired completed task of the served queues.

        Returns:
            How many tasks were deleted.
        """
        now = int(self.clock())

        def call(q: str) -> Call:
            return lua("janitor", [keys.completed(q)], [now, keys.task_prefix(q), self.batch_size])

        deleted = await self.drain(self.queues, call, self.batch_size)
        return sum(deleted.values())
