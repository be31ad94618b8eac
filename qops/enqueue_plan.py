"""How tasks become Redis calls: `EnqueuePlan`, shared by everything that enqueues.

The client, the scheduler (which claims a tick and enqueues in one script) and the
aggregator (which enqueues the task a group became) all write tasks the same way. Plain tasks
of one queue travel together in one script call, so a batch of N tasks costs about N/500
script runs in a single round trip.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from qops.errors import DuplicateTaskError, QopsError, TaskIdConflictError
from qops.models import TaskInfo, TaskState
from qops.storage import keys, wire
from qops.storage.calls import Call, cmd, lua
from qops.task import Task

BATCH = 500


class PreparedTask:
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
        since: datetime | None = None
        if self.state is TaskState.PENDING:
            next_at = since = datetime.fromtimestamp(self.now, UTC)
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
            pending_since=since,
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


class EnqueuePlan:
    """The Redis calls that enqueue ``tasks``, and how to read their replies."""

    def __init__(self, tasks: Sequence[Task], known_queues: set[str]) -> None:
        now = time.time()
        self.prepared = [PreparedTask(t, now) for t in tasks]
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
