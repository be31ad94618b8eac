"""`Aggregator`: combines the tasks waiting in a group into one task, as Asynq does.

Each pass lists the groups of every served queue and runs the aggregation check on each. A
group is due when it holds ``max_size`` tasks, when its oldest task has waited ``max_delay``,
or when its newest task is older than ``grace_period``. The due tasks move atomically into an
aggregation set (``asynq:{q}:g:<group>:<uuid>``, registered in ``aggregation_sets`` with a
deadline 2 minutes ahead); the user's function turns them into one task, which is enqueued to
the same queue, and then the set and the original tasks are deleted.

Nothing is lost when a step fails: if the function raises, the enqueue is refused, or the
worker dies, the set stays until its deadline and the recoverer puts its tasks back into the
group for a later pass. A worker dying between the enqueue and the delete can therefore
aggregate the same tasks twice (at least once, never zero times).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import time
import uuid
from collections.abc import Sequence
from typing import Any

from qops.enqueue_plan import EnqueuePlan
from qops.errors import InvalidInputError, QopsError
from qops.storage import keys, wire
from qops.storage.broker import AsyncBroker
from qops.storage.calls import cmd, lua
from qops.task import Duration, Task
from qops.worker.handlers import Aggregate
from qops.worker.options import count, duration
from qops.worker.periodic import Clock, Periodic

DEFAULT_GRACE_PERIOD = 60.0
MAX_INTERVAL = 7.0
SET_TIMEOUT = 120
"""Seconds an aggregation set may take before the recoverer returns its tasks to the group."""


class Aggregator(Periodic):
    """Runs group aggregation for the served queues.

    Without an aggregate function nothing is aggregated; grouped tasks wait in state
    ``aggregating``, and the first pass that finds groups logs one warning saying so.

    Args:
        broker: Redis access.
        queues: The queues to serve.
        aggregate: ``fn(group, tasks) -> Task``. It gets the group's tasks in the order they
            joined (type, payload and headers of each) and returns the task to run instead;
            that task goes to the group's queue with its own options.
        grace_period: Aggregate a group once its newest task is this old (at least 1 s).
        max_delay: Aggregate a group once its oldest task is this old; 0 for no limit.
        max_size: Aggregate as soon as a group holds this many tasks, and never more at
            once; 0 for no limit.
        interval: Seconds between passes; ``min(7, grace_period)`` by default.
        clock: Unix time source.
    """

    name = "aggregator"

    def __init__(
        self,
        broker: AsyncBroker,
        queues: Sequence[str],
        *,
        aggregate: Aggregate | None = None,
        grace_period: Duration = DEFAULT_GRACE_PERIOD,
        max_delay: Duration = 0.0,
        max_size: int = 0,
        interval: Duration | None = None,
        clock: Clock = time.time,
    ) -> None:
        if aggregate is not None and not callable(aggregate):
            raise InvalidInputError("aggregate function must be callable")
        grace = duration(grace_period, "group grace period", minimum=1.0)
        every = min(MAX_INTERVAL, grace) if interval is None else interval
        super().__init__(broker, queues, interval=every, clock=clock)
        self.aggregate = aggregate
        self.grace_period = grace
        self.max_delay = duration(max_delay, "group max delay")
        self.max_size = count(max_size, "group max size")
        self._warned = False

    async def run_once(self) -> int:
        """Check every group of the served queues and aggregate those that are due.

        Returns:
            How many aggregated tasks were enqueued.
        """
        if self.aggregate is None:
            await self._warn_unaggregated()
            return 0
        made = 0
        for queue in self.queues:
            names = await self.broker.call(cmd("SMEMBERS", keys.all_groups(queue)))
            for raw in sorted(names):
                try:
                    group = raw.decode()
                except UnicodeDecodeError:
                    continue  # not a name qops can build keys from; Go clients only
                made += await self._drain(queue, group)
        return made

    async def _drain(self, queue: str, group: str) -> int:
        """Aggregate ``group`` while it is due: a group over the max size takes several sets."""
        made = 0
        while (due := await self._check(queue, group)) is not None:
            if not await self._aggregate(queue, group, *due):
                break  # the set waits for the recoverer; more sets now would fail alike
            made += 1
        return made

    async def _check(self, queue: str, group: str) -> tuple[str, int] | None:
        """Run the aggregation check; the new set's id and deadline when the group was due."""
        set_id = str(uuid.uuid4())
        now = self.clock()
        deadline = int(now) + SET_TIMEOUT
        created = await self.broker.call(
            lua(
                "aggregation_check",
                [
                    keys.group(queue, group),
                    keys.aggregation_set(queue, group, set_id),
                    keys.all_aggregation_sets(queue),
                    keys.all_groups(queue),
                ],
                [
                    self.max_size,
                    self.max_delay,
                    self.grace_period,
                    deadline,
                    int(now),
                    group,
                ],
            )
        )
        return (set_id, deadline) if created == 1 else None

    async def _aggregate(self, queue: str, group: str, set_id: str, deadline: int) -> int:
        set_key = keys.aggregation_set(queue, group, set_id)
        raws = await self.broker.call(
            lua("read_aggregation_set", [set_key], [keys.task_prefix(queue)])
        )
        where = f"group {group!r} of queue {queue!r}"
        if not raws:
            await self._delete(queue, set_key)
            return 0
        try:
            msgs = [wire.decode_task(raw, set_key) for raw in raws]
            tasks = [Task(m.type, m.payload, queue=queue, headers=dict(m.headers)) for m in msgs]
        except QopsError as exc:
            self.log.error("cannot aggregate %s: %s", where, exc)
            return 0
        try:
            result = await self._call(group, tasks)
        except Exception:
            self.log.exception("aggregate function failed for %s", where)
            return 0
        if not isinstance(result, Task):
            self.log.error(
                "aggregate function returned %s for %s; it must return a Task",
                type(result).__name__,
                where,
            )
            return 0
        task = copy.copy(result)
        task.queue = queue
        # Shielded: stopping between the enqueue and the delete would aggregate twice.
        write = asyncio.ensure_future(self._enqueue(queue, set_key, deadline, task, where))
        try:
            return await asyncio.shield(write)
        except asyncio.CancelledError:
            await asyncio.wait({write})
            raise

    async def _call(self, group: str, tasks: list[Task]) -> Any:
        fn = self.aggregate
        assert fn is not None
        if inspect.iscoroutinefunction(fn):
            return await fn(group, tasks)
        # Also covers objects whose __call__ is async: the coroutine is awaited here.
        result = await asyncio.to_thread(fn, group, tasks)
        return await result if inspect.isawaitable(result) else result

    async def _enqueue(
        self, queue: str, set_key: str, deadline: int, task: Task, where: str
    ) -> int:
        if self.clock() >= deadline:
            # The recoverer may already have put the tasks back: enqueueing now could make
            # two aggregated tasks of them.
            self.log.error(
                "aggregation of %s took over %d s; it runs again later", where, SET_TIMEOUT
            )
            return 0
        plan = EnqueuePlan([task], set())
        outcome = plan.outcomes(await self.broker.run(plan.calls))[0]
        if isinstance(outcome, QopsError):
            self.log.error(
                "aggregated task of %s was refused (%s); its tasks go back to the group "
                "within %d s",
                where,
                outcome,
                SET_TIMEOUT,
            )
            return 0
        await self._delete(queue, set_key)
        self.log.info("aggregated %s into task %s (%s)", where, outcome.id, outcome.type)
        return 1

    async def _delete(self, queue: str, set_key: str) -> None:
        await self.broker.call(
            lua(
                "delete_aggregation_set",
                [set_key, keys.all_aggregation_sets(queue)],
                [keys.task_prefix(queue)],
            )
        )

    async def _warn_unaggregated(self) -> None:
        if self._warned:
            return
        counts = await self.broker.run([cmd("SCARD", keys.all_groups(q)) for q in self.queues])
        waiting = [f"{q!r} ({n})" for q, n in zip(self.queues, counts, strict=True) if n]
        if waiting:
            self._warned = True
            self.log.warning(
                "groups of tasks wait in queue %s but no aggregate function is registered; "
                "they stay in state aggregating until one is",
                ", ".join(waiting),
            )
