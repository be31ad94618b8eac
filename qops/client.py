"""`Client` and `AsyncClient`: put tasks into queues.

Both build the same plan of Redis calls (`qops.enqueue_plan.EnqueuePlan`) and differ only in
how they run it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Self

from qops import connection
from qops.enqueue_plan import EnqueuePlan
from qops.errors import InvalidTaskError, QopsError
from qops.models import TaskInfo
from qops.storage.broker import AsyncBroker, Broker
from qops.task import Payload, Task, task_from

EnqueueHook = Callable[[Task], object]
"""Called with each task before it is written; it may change the task's headers."""


def _one(outcomes: list[TaskInfo | QopsError]) -> TaskInfo:
    result = outcomes[0]
    if isinstance(result, QopsError):
        raise result
    return result


class _Producer:
    """What `Client` and `AsyncClient` share: the hooks, and the queues known to be listed."""

    def __init__(self, before_enqueue: Iterable[EnqueueHook]) -> None:
        self.before_enqueue = tuple(before_enqueue)
        # Queues already added to asynq:queues by this client: later plans skip their SADD.
        self._known_queues: set[str] = set()

    def _plan(self, tasks: list[Task]) -> EnqueuePlan:
        if self.before_enqueue:
            for task in tasks:
                self._run_hooks(task)
        return EnqueuePlan(tasks, self._known_queues)

    def _run_hooks(self, task: Task) -> None:
        for hook in self.before_enqueue:
            hook(task)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in task.headers.items()):
            raise InvalidTaskError(
                f"a before_enqueue hook left headers that are not strings on task {task.type!r}"
            )

    def _outcomes(self, plan: EnqueuePlan, replies: list[Any]) -> list[TaskInfo | QopsError]:
        outcomes = plan.outcomes(replies)
        self._known_queues |= plan.new_queues
        return outcomes


class Client(_Producer):
    """Enqueues tasks (blocking calls).

    Args:
        redis_url: ``redis://``, ``rediss://`` or ``unix://`` URL. Without one, the
            ``QOPS_REDIS_URL`` variable, then the config profile, then the embedded Redis.
        profile: Config profile to read the URL from.
        before_enqueue: Functions called with each `Task`, in order, just before it is
            written; they may change its headers (``qops.otel.inject_headers`` adds the
            current trace context). A `Task` you pass in is changed in place.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        profile: str | None = None,
        before_enqueue: Iterable[EnqueueHook] = (),
    ) -> None:
        super().__init__(before_enqueue)
        self.broker = Broker.from_url(connection.resolve(redis_url, profile).url)

    def enqueue(self, task: Task | str, payload: Payload | None = None, **options: Any) -> TaskInfo:
        """Enqueue one task, given as a `Task` or as a type with payload and options.

        Raises:
            InvalidTaskError: an option is invalid; nothing was written.
            DuplicateTaskError: ``unique`` is set and an identical task holds the lock.
            TaskIdConflictError: ``task_id`` is already used in the queue.
        """
        return _one(self._run([task_from(task, payload, options)]))

    def enqueue_many(self, tasks: Iterable[Task]) -> list[TaskInfo | QopsError]:
        """Enqueue many tasks in one round trip; one result per task, in order.

        A task Redis refuses (duplicate, id conflict) gets its error in the list; the rest
        are enqueued.
        """
        return self._run(list(tasks))

    def _run(self, tasks: list[Task]) -> list[TaskInfo | QopsError]:
        if not tasks:
            return []
        plan = self._plan(tasks)
        if len(plan.calls) == 1:
            replies = [self.broker.call_script(plan.calls[0])]
        else:
            replies = self.broker.run(plan.calls)
        return self._outcomes(plan, replies)

    def ping(self) -> None:
        self.broker.ping()

    def close(self) -> None:
        self.broker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Producer):
    """`Client` for asyncio code: the same methods and arguments, awaited."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        profile: str | None = None,
        before_enqueue: Iterable[EnqueueHook] = (),
    ) -> None:
        super().__init__(before_enqueue)
        self.broker = AsyncBroker.from_url(connection.resolve(redis_url, profile).url)

    async def enqueue(
        self, task: Task | str, payload: Payload | None = None, **options: Any
    ) -> TaskInfo:
        """See `Client.enqueue`."""
        return _one(await self._run([task_from(task, payload, options)]))

    async def enqueue_many(self, tasks: Iterable[Task]) -> list[TaskInfo | QopsError]:
        """See `Client.enqueue_many`."""
        return await self._run(list(tasks))

    async def _run(self, tasks: list[Task]) -> list[TaskInfo | QopsError]:
        if not tasks:
            return []
        plan = self._plan(tasks)
        return self._outcomes(plan, await self.broker.run(plan.calls))

    async def ping(self) -> None:
        await self.broker.ping()

    async def close(self) -> None:
        await self.broker.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
