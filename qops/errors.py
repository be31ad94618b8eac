"""Every error qops raises on purpose.

    QopsError                       exit 1
    ├── InvalidInputError           exit 2  (also a ValueError)
    │   ├── InvalidTaskError                bad task type, option or payload
    │   ├── ConfigError                     bad config file, profile or URL
    │   ├── InvalidArgumentError            bad Inspector argument: state, page, day count
    │   ├── InvalidScheduleError            bad cron spec, time zone or periodic entry
    │   └── InvalidQueuesError              a worker's queue list or priority spec
    ├── ConnectionFailedError       exit 4  Redis unreachable, or authentication refused
    ├── NotFoundError               exit 3
    │   ├── QueueNotFoundError
    │   ├── TaskNotFoundError
    │   └── SchedulerEntryNotFoundError     no periodic entry with that id in the scheduler
    ├── EnqueueRefusedError         exit 1
    │   ├── DuplicateTaskError              a unique lock for the same task is held
    │   └── TaskIdConflictError             a task with that id exists in the queue
    ├── TaskStateError              exit 1  the operation is not allowed in the task's state
    ├── QueueStateError             exit 1  already paused / not paused
    ├── QueueNotEmptyError          exit 1  delete a queue that still holds tasks
    ├── CorruptTaskError            exit 1  a stored message that cannot be decoded
    └── LeaseExpiredError           exit 1  a running task's worker stopped renewing its lease

`exit_code` on each class is what the `qops` command exits with when it stops on that error.
"""

from __future__ import annotations


class QopsError(Exception):
    """Root of every error qops raises on purpose."""

    exit_code = 1


class InvalidInputError(QopsError, ValueError):
    """Input that qops refuses before anything is written."""

    exit_code = 2


class InvalidTaskError(InvalidInputError):
    """A task type, payload or option is not valid."""


class ConfigError(InvalidInputError):
    """A config file, profile or Redis URL is not valid."""


class InvalidArgumentError(InvalidInputError):
    """An Inspector argument is not one of the allowed values (a task state, a page)."""


class InvalidScheduleError(InvalidInputError):
    """A cron spec, a time zone or a periodic entry is not valid."""


class InvalidQueuesError(InvalidInputError):
    """A queue list or priority spec that a worker cannot serve."""


class ConnectionFailedError(QopsError):
    """Redis cannot be reached, or refused the credentials."""

    exit_code = 4

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot connect to Redis at {url}: {reason}")


class NotFoundError(QopsError):
    exit_code = 3


class QueueNotFoundError(NotFoundError):
    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(f"queue {queue!r} not found")


class TaskNotFoundError(NotFoundError):
    def __init__(self, queue: str, task_id: str) -> None:
        self.queue = queue
        self.task_id = task_id
        super().__init__(f"task {task_id!r} not found in queue {queue!r}")


class SchedulerEntryNotFoundError(NotFoundError):
    def __init__(self, entry_id: str) -> None:
        self.entry_id = entry_id
        super().__init__(f"no periodic entry {entry_id!r} in this scheduler")


class EnqueueRefusedError(QopsError):
    """Redis refused a task that was valid on its own."""


class DuplicateTaskError(EnqueueRefusedError):
    def __init__(self, queue: str, unique_key: str) -> None:
        self.queue = queue
        self.unique_key = unique_key
        super().__init__(f"a duplicate task holds the unique lock {unique_key!r}")


class TaskIdConflictError(EnqueueRefusedError):
    def __init__(self, queue: str, task_id: str) -> None:
        self.queue = queue
        self.task_id = task_id
        super().__init__(f"task id {task_id!r} is already used in queue {queue!r}")


class TaskStateError(QopsError):
    """The operation is not allowed while the task is in its current state."""


class QueueStateError(QopsError):
    """The queue is already in the state the operation asks for."""


class QueueNotEmptyError(QopsError):
    def __init__(self, queue: str, reason: str = "it still holds tasks; use force") -> None:
        self.queue = queue
        super().__init__(f"queue {queue!r} cannot be deleted: {reason}")


class CorruptTaskError(QopsError):
    """A task message stored in Redis cannot be decoded."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"corrupt task message at {key}: {reason}")


class LeaseExpiredError(QopsError):
    """The worker running a task stopped renewing its lease: it crashed or lost Redis.

    The task counts as failed and is retried or archived; retry-delay functions receive this
    error for such tasks.
    """

    def __init__(self) -> None:
        super().__init__("task lease expired")
