"""`Job`: one task this worker has taken from Redis, from dequeue until its outcome is written."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from qops.task import DEFAULT_TIMEOUT, Task
from qops.worker.observer import UNHANDLED

# Why the runtime stopped a running job; None while it runs undisturbed.
ABORT_CANCEL = "cancel"  # a cancel request on asynq:cancel
ABORT_LEASE = "lease"  # the lease could not be extended in time: someone else may own it now
ABORT_SHUTDOWN = "shutdown"  # shutdown timeout: requeue


class Job:
    """A task owned by this worker: it sits in the queue's active list under our lease.

    Also the run context behind `Task.cancelled` and `Task.write_result`.
    """

    __slots__ = (
        "_on_result",
        "abort",
        "atask",
        "cancelled",
        "deadline",
        "entered",
        "finished",
        "id",
        "kind",
        "lease_until",
        "msg",
        "queue",
        "started",
        "task",
    )

    def __init__(
        self,
        msg: Any,
        queue: str,
        lease_until: float,
        on_result: Callable[[Job, bytes], None],
    ) -> None:
        self.msg = msg
        self.id: str = msg.id
        self.queue = queue
        # The matched handler pattern, set when an observer wants it.
        self.kind = UNHANDLED
        self.lease_until = lease_until
        self.cancelled = False
        self.finished = False
        self.entered = False
        self.abort: str | None = None
        self.atask: asyncio.Task[None] | None = None
        self._on_result = on_result
        self.started = time.time()
        self.deadline = processing_deadline(self.started, msg.timeout, msg.deadline)
        self.task = Task._from_message(msg, self)

    def write_result(self, data: bytes) -> None:
        self._on_result(self, data)


def processing_deadline(start: float, timeout: int, deadline: int) -> float:
    """Asynq's rule: the earlier of start + timeout and the deadline; 30 min if neither is set."""
    if timeout > 0 and deadline > 0:
        return min(start + timeout, float(deadline))
    if timeout > 0:
        return start + timeout
    if deadline > 0:
        return float(deadline)
    return start + DEFAULT_TIMEOUT
