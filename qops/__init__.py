"""qops: a Redis task queue for Python that shares Asynq's storage.

The public API is re-exported here and loaded on first use, so ``import qops`` stays cheap
for the CLI's fast paths.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Client": "qops.client",
    "AsyncClient": "qops.client",
    "Inspector": "qops.inspector",
    "Task": "qops.task",
    "TaskInfo": "qops.models",
    "TaskState": "qops.models",
    "QueueInfo": "qops.models",
    "DailyStats": "qops.models",
    "GroupInfo": "qops.models",
    "ServerInfo": "qops.models",
    "WorkerInfo": "qops.models",
    "SchedulerEntry": "qops.models",
    "SchedulerEnqueueEvent": "qops.models",
    "Handlers": "qops.worker.handlers",
    "SkipRetry": "qops.worker.handlers",
    "Worker": "qops.worker.runtime",
    "Scheduler": "qops.scheduler",
    "QopsError": "qops.errors",
    "InvalidInputError": "qops.errors",
    "InvalidTaskError": "qops.errors",
    "ConfigError": "qops.errors",
    "InvalidArgumentError": "qops.errors",
    "InvalidScheduleError": "qops.errors",
    "InvalidQueuesError": "qops.errors",
    "ConnectionFailedError": "qops.errors",
    "NotFoundError": "qops.errors",
    "QueueNotFoundError": "qops.errors",
    "TaskNotFoundError": "qops.errors",
    "SchedulerEntryNotFoundError": "qops.errors",
    "EnqueueRefusedError": "qops.errors",
    "DuplicateTaskError": "qops.errors",
    "TaskIdConflictError": "qops.errors",
    "TaskStateError": "qops.errors",
    "QueueStateError": "qops.errors",
    "QueueNotEmptyError": "qops.errors",
    "CorruptTaskError": "qops.errors",
    "LeaseExpiredError": "qops.errors",
}

__all__ = [
    "AsyncClient",
    "Client",
    "ConfigError",
    "ConnectionFailedError",
    "CorruptTaskError",
    "DailyStats",
    "DuplicateTaskError",
    "EnqueueRefusedError",
    "GroupInfo",
    "Handlers",
    "Inspector",
    "InvalidArgumentError",
    "InvalidInputError",
    "InvalidQueuesError",
    "InvalidScheduleError",
    "InvalidTaskError",
    "LeaseExpiredError",
    "NotFoundError",
    "QopsError",
    "QueueInfo",
    "QueueNotEmptyError",
    "QueueNotFoundError",
    "QueueStateError",
    "Scheduler",
    "SchedulerEnqueueEvent",
    "SchedulerEntry",
    "SchedulerEntryNotFoundError",
    "ServerInfo",
    "SkipRetry",
    "Task",
    "TaskIdConflictError",
    "TaskInfo",
    "TaskNotFoundError",
    "TaskState",
    "TaskStateError",
    "Worker",
    "WorkerInfo",
]

if TYPE_CHECKING:
    from qops.client import AsyncClient, Client
    from qops.errors import (
        ConfigError,
        ConnectionFailedError,
        CorruptTaskError,
        DuplicateTaskError,
        EnqueueRefusedError,
        InvalidArgumentError,
        InvalidInputError,
        InvalidQueuesError,
        InvalidScheduleError,
        InvalidTaskError,
        LeaseExpiredError,
        NotFoundError,
        QopsError,
        QueueNotEmptyError,
        QueueNotFoundError,
        QueueStateError,
        SchedulerEntryNotFoundError,
        TaskIdConflictError,
        TaskNotFoundError,
        TaskStateError,
    )
    from qops.inspector import Inspector
    from qops.models import (
        DailyStats,
        GroupInfo,
        QueueInfo,
        SchedulerEnqueueEvent,
        SchedulerEntry,
        ServerInfo,
        TaskInfo,
        TaskState,
        WorkerInfo,
    )
    from qops.scheduler import Scheduler
    from qops.task import Task
    from qops.worker.handlers import Handlers, SkipRetry
    from qops.worker.runtime import Worker


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
