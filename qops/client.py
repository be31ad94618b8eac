"""`Client` and `AsyncClient`: put tasks into queues.

Both build the same plan of Redis calls (`_EnqueuePlan`) and differ only in how they run it.
Plain tasks of one queue travel together in one script call, so a batch of N tasks costs
about N/500 script runs in a single round trip.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Self

from qops import connection
from qops.errors import DuplicateTaskError, InvalidTaskError, QopsError, TaskIdConflictError
from qops.models import TaskInfo, TaskState
from qops.storage import keys, wire
from qops.storage.broker import AsyncBroker, Broker
from qops.storage.calls import Call, cmd, lua
from qops.task import Payload, Task

BATCH = 500

EnqueueHook = Callable[[Task], object]
"""Called with each task before it is written; it may change the task's headers."""


def _as_task(task: Task | str, payload: Payload | None, options: dict[str, Any]) -> Task:
    if isinstance(task, Task):
        if payload is not None or options:
            raise TypeError("pass options to Task(...) when enqueueing a Task object")
        return task
    return Task(task, payload, **options)


class _Prepared:
    """One task turned into what Redis stores, with the state it will land in."""

    __slots__ = ("id", "msg", "now", "score", "state", "task", "unique_key", "unique_ttl")

    def __init__(self, task: Task, now: float) -> None:
        self.task = task
        self.now = now
        self.id = task.task_id or str(uuid.uuid4())
        at = task._process_at
        if at is not None and at > now:
            self.state, self.score = TaskState.SCHEDULED, int(at)
        elif task.group is not None:
            self.state, self.score = TaskState.AGGREGATING, 0
        else:
            self.state, self.score = TaskState.PENDING, 0
        self.unique_key = ""
        self.unique_ttl = 0
        if task.unique is not None:
            self.unique_key = keys.unique(task.queue, task.type, task.payload)
            base = at if self.state is TaskState.SCHEDULED and at is not None else now
            self.unique_ttl = max(1, int(base + task.unique - now))
        m = wire.TaskMessage(
            type=task.type,
            payload=task.payload,
            id=self.id,
            queue=task.queue,
            retry=task.max_retry,
            timeout=task.timeout,
            deadline=int(task._deadline or 0),
            unique_key=self.unique_key,
            group_key=task.group or "",
            retention=int(task.retention),
        )
        if task.headers:
            m.headers.update(task.headers)
        self.msg = wire.encode(m)

    def info(self) -> TaskInfo:
        t = self.task
        next_at: datetime | None = None
        if self.state is TaskState.PENDING:
            next_at = datetime.fromtimestamp(self.now, UTC)
        elif self.state is TaskState.SCHEDULED:
            next_at = t.process_at
        return TaskInfo(
            id=self.id,
            queue=t.queue,
            type=t.type,
            payload=t.payload,
            state=self.state,
            max_retry=t.max_retry,
            timeout=t.timeout,
            deadline=t.deadline,
            group=t.group or "",
            unique_key=self.unique_key,
            retention=int(t.retention),
            next_process_at=next_at,
            headers=dict(t.headers),
        )

    def call(self) -> Call:
        """The single-task script call for unique and grouped tasks."""
        t, q = self.task, self.task.queue
        if self.state is TaskState.AGGREGATING:
            assert t.group is not None
            k = [keys.task(q, self.id), keys.group(q, t.group), keys.all_groups(q)]
            a: list[str | bytes | int] = [self.msg, self.id, int(self.now), t.group]
            if self.unique_key:
                k.append(self.unique_key)
                a.append(self.unique_ttl)
            return lua("add_to_group", k, a)
        container = keys.scheduled(q) if self.state is TaskState.SCHEDULED else keys.pending(q)
        return lua(
            "enqueue_unique",
            [self.unique_key, keys.task(q, self.id), container],
            [
                self.id,
                self.unique_ttl,
                self.msg,
                time.time_ns(),
                self.score if self.state is TaskState.SCHEDULED else "",
                keys.wake_channel(q),
                t.group or "",
            ],
        )


class _EnqueuePlan:
    """The Redis calls that enqueue ``tasks``, and how to read their replies."""

    def __init__(self, tasks: Sequence[Task], known_queues: set[str]) -> None:
        now = time.time()
        self.prepared = [_Prepared(t, now) for t in tasks]
        self.calls: list[Call] = []
        # For each call: the indexes of the tasks its reply covers (None: nothing to read).
        self.covers: list[list[int] | None] = []
        for q in dict.fromkeys(t.queue for t in tasks):
            if q not in known_queues:
                self.calls.append(cmd("SADD", keys.ALL_QUEUES, q))
                self.covers.append(None)
        self.new_queues = {t.queue for t in tasks} - known_queues
        # Plain tasks of a queue share one script call; a unique or grouped task of the same
        # queue closes the open batch first, so tasks land in the order they were given.
        self._now_ns = time.time_ns()
        batches: dict[str, list[int]] = {}
        for i, p in enumerate(self.prepared):
            q = p.task.queue
            if p.unique_key or p.state is TaskState.AGGREGATING:
                self._flush(q, batches.pop(q, []))
                self.calls.append(p.call())
                self.covers.append([i])
            else:
                batch = batches.setdefault(q, [])
                batch.append(i)
                if len(batch) == BATCH:
                    self._flush(q, batches.pop(q))
        for q, idxs in batches.items():
            self._flush(q, idxs)

    def _flush(self, q: str, idxs: list[int]) -> None:
        if not idxs:
            return
        task_keys = [keys.task(q, self.prepared[i].id) for i in idxs]
        argv: list[str | bytes | int] = [self._now_ns, keys.wake_channel(q)]
        for i in idxs:
            p = self.prepared[i]
            scheduled = p.state is TaskState.SCHEDULED
            group = p.task.group if scheduled and p.task.group else ""
            argv += [p.msg, p.id, p.score if scheduled else "", group]
        self.calls.append(lua("enqueue", [keys.pending(q), keys.scheduled(q), *task_keys], argv))
        self.covers.append(idxs)

    def outcomes(self, replies: list[Any]) -> list[TaskInfo | QopsError]:
        out: list[TaskInfo | QopsError | None] = [None] * len(self.prepared)
        for cover, reply in zip(self.covers, replies, strict=True):
            if cover is None:
                continue
            codes = reply if isinstance(reply, list) else [reply]
            for i, code in zip(cover, codes, strict=True):
                p = self.prepared[i]
                if code == 1:
                    out[i] = p.info()
                elif code == -1:
                    out[i] = DuplicateTaskError(p.task.queue, p.unique_key)
                else:
                    out[i] = TaskIdConflictError(p.task.queue, p.id)
        assert all(o is not None for o in out)
        return out  # type: ignore[return-value]


def _run_hooks(hooks: tuple[EnqueueHook, ...], tasks: list[Task]) -> None:
    for task in tasks:
        for hook in hooks:
            hook(task)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in task.headers.items()):
            raise InvalidTaskError(
                f"a before_enqueue hook left headers that are not strings on task {task.type!r}"
            )


def _one(outcomes: list[TaskInfo | QopsError]) -> TaskInfo:
    result = outcomes[0]
    if isinstance(result, QopsError):
        raise result
    return result


class Client:
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
        target = connection.resolve(redis_url, profile)
        self.broker = Broker.from_url(target.url)
        self._known_queues: set[str] = set()
        self.before_enqueue = tuple(before_enqueue)

    def enqueue(self, task: Task | str, payload: Payload | None = None, **options: Any) -> TaskInfo:
        """Enqueue one task, given as a `Task` or as a type with payload and options.

        Raises:
            InvalidTaskError: an option is invalid; nothing was written.
            DuplicateTaskError: ``unique`` is set and an identical task holds the lock.
            TaskIdConflictError: ``task_id`` is already used in the queue.
        """
        return _one(self._run([_as_task(task, payload, options)]))

    def enqueue_many(self, tasks: Iterable[Task]) -> list[TaskInfo | QopsError]:
        """Enqueue many tasks in one round trip; one result per task, in order.

        A task Redis refuses (duplicate, id conflict) gets its error in the list; the rest
        are enqueued.
        """
        return self._run(list(tasks))

    def _run(self, tasks: list[Task]) -> list[TaskInfo | QopsError]:
        if not tasks:
            return []
        if self.before_enqueue:
            _run_hooks(self.before_enqueue, tasks)
        plan = _EnqueuePlan(tasks, self._known_queues)
        if len(plan.calls) == 1:
            replies = [self.broker.call_script(plan.calls[0])]
        else:
            replies = self.broker.run(plan.calls)
        outcomes = plan.outcomes(replies)
        self._known_queues |= plan.new_queues
        return outcomes

    def ping(self) -> None:
        self.broker.ping()

    def close(self) -> None:
        self.broker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """`Client` for asyncio code: the same methods and arguments, awaited."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        profile: str | None = None,
        before_enqueue: Iterable[EnqueueHook] = (),
    ) -> None:
        target = connection.resolve(redis_url, profile)
        self.broker = AsyncBroker.from_url(target.url)
        self._known_queues: set[str] = set()
        self.before_enqueue = tuple(before_enqueue)

    async def enqueue(
        self, task: Task | str, payload: Payload | None = None, **options: Any
    ) -> TaskInfo:
        """See `Client.enqueue`."""
        return _one(await self._run([_as_task(task, payload, options)]))

    async def enqueue_many(self, tasks: Iterable[Task]) -> list[TaskInfo | QopsError]:
        """See `Client.enqueue_many`."""
        return await self._run(list(tasks))

    async def _run(self, tasks: list[Task]) -> list[TaskInfo | QopsError]:
        if not tasks:
            return []
        if self.before_enqueue:
            _run_hooks(self.before_enqueue, tasks)
        plan = _EnqueuePlan(tasks, self._known_queues)
        outcomes = plan.outcomes(await self.broker.run(plan.calls))
        self._known_queues |= plan.new_queues
        return outcomes

    async def ping(self) -> None:
        await self.broker.ping()

    async def close(self) -> None:
        await self.broker.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
