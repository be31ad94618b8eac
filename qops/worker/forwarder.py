"""`Forwarder`: makes scheduled and retry tasks runnable once their time has come."""

from __future__ import annotations

import time
from collections.abc import Sequence

from qops.storage import keys
from qops.storage.broker import AsyncBroker
from qops.storage.calls import Call, lua
from qops.task import Duration
from qops.worker.observer import WorkerObserver
from qops.worker.options import count
from qops.worker.periodic import Clock, Periodic

DEFAULT_INTERVAL = 5.0
BATCH = 100
SOURCES = ("scheduled", "retry")


class Forwarder(Periodic):
    """Moves due scheduled and retry tasks to pending, or into their group.

    A task whose hash names a group goes to that group (state ``aggregating``) and the group
    is listed in the queue's groups set, so the aggregator sees it. Idle workers are woken
    through the queue's wake channel as soon as tasks become pending.

    Args:
        broker: Redis access.
        queues: The queues to serve.
        interval: Seconds between passes (Asynq's ``DelayedTaskCheckInterval``, 5 s).
        batch_size: Tasks moved per script call; calls repeat until none are due.
        clock: Unix time source.
        observer: Told how many tasks each pass moved, per queue and source.
    """

    name = "forwarder"

    def __init__(
        self,
        broker: AsyncBroker,
        queues: Sequence[str],
        *,
        interval: Duration = DEFAULT_INTERVAL,
        batch_size: int = BATCH,
        clock: Clock = time.time,
        observer: WorkerObserver | None = None,
    ) -> None:
        super().__init__(broker, queues, interval=interval, clock=clock)
        self.batch_size = count(batch_size, "forwarder batch size", minimum=1)
        self.observer = observer

    async def run_once(self) -> int:
        """Forward every task of the served queues that is due now.

        Scheduled tasks go before retry tasks of the same queue, oldest first.

        Returns:
            How many tasks were moved.
        """
        now = self.clock()
        moved = await self.drain(
            [(q, source) for q in self.queues for source in SOURCES],
            lambda part: self._call(*part, now),
            self.batch_size,
        )
        if self.observer is not None:
            for (q, src), n in moved.items():
                if n:
                    self.observer.tasks_forwarded(q, src, n)
        return sum(moved.values())

    def _call(self, queue: str, source: str, now: float) -> Call:
        source_key = keys.scheduled(queue) if source == "scheduled" else keys.retry(queue)
        return lua(
            "forward",
            [source_key, keys.pending(queue), keys.all_groups(queue)],
            [
                int(now),
                int(now * 1_000_000_000),
                keys.task_prefix(queue),
                keys.group_prefix(queue),
                self.batch_size,
                keys.wake_channel(queue),
            ],
        )
