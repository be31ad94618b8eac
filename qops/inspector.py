"""`Inspector`: read and administer queues. The CLI and the TUI touch Redis only through it.

CONTRACT FILE: the signatures below are fixed; the bodies are being written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Self

from qops import connection
from qops.models import (
    DailyStats,
    GroupInfo,
    QueueInfo,
    SchedulerEnqueueEvent,
    SchedulerEntry,
    ServerInfo,
    TaskInfo,
    TaskState,
)
from qops.storage.broker import Broker


class Inspector:
    """Reads queues, tasks, servers and scheduler entries, and acts on them.

    Args:
        redis_url: as for `qops.Client`.
        profile: config profile to read the URL from.
    """

    def __init__(self, redis_url: str | None = None, *, profile: str | None = None) -> None:
        target = connection.resolve(redis_url, profile)
        self.url = target.url
        self.embedded = target.embedded
        self.broker = Broker.from_url(target.url)

    def close(self) -> None:
        self.broker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> None:
        """Raises ConnectionFailedError when Redis cannot be reached."""
        self.broker.ping()

    # -- queues ---------------------------------------------------------------------------
    def queues(self) -> list[str]:
        """Every queue name, sorted."""
        raise NotImplementedError

    def queue_info(self, queue: str) -> QueueInfo:
        """Raises QueueNotFoundError."""
        raise NotImplementedError

    def queue_infos(self, queues: Sequence[str] | None = None) -> list[QueueInfo]:
        """Info of many queues (all when None) in one pipelined round trip, sorted by name."""
        raise NotImplementedError

    def history(self, queue: str, days: int = 7) -> list[DailyStats]:
        """Processed/failed per UTC day, today first."""
        raise NotImplementedError

    def groups(self, queue: str) -> list[GroupInfo]:
        raise NotImplementedError

    def pause(self, queue: str) -> None:
        """Raises QueueNotFoundError, QueueStateError (already paused)."""
        raise NotImplementedError

    def unpause(self, queue: str) -> None:
        """Raises QueueNotFoundError, QueueStateError (not paused)."""
        raise NotImplementedError

    def delete_queue(self, queue: str, *, force: bool = False) -> None:
        """Raises QueueNotFoundError, QueueNotEmptyError."""
        raise NotImplementedError

    # -- tasks ----------------------------------------------------------------------------
    def list_tasks(
        self,
        queue: str,
        state: TaskState | str,
        *,
        page: int = 1,
        page_size: int = 30,
        group: str | None = None,
        task_type: str | None = None,
    ) -> list[TaskInfo]:
        """One page of tasks in ``state`` (1-based pages), O(page) in Redis.

        Order is Asynq's: pending and active next-to-run first; scheduled and retry by next
        run; archived and completed oldest first. ``aggregating`` lists all groups, or
        ``group``. A stored message that cannot be decoded is listed with ``corrupt`` set.
        """
        raise NotImplementedError

    def iter_tasks(
        self,
        queue: str,
        state: TaskState | str,
        *,
        batch: int = 1000,
        task_type: str | None = None,
    ) -> Iterator[TaskInfo]:
        """Every task in ``state``, fetched ``batch`` at a time (constant memory)."""
        raise NotImplementedError

    def count_tasks(
        self, queue: str, state: TaskState | str, *, task_type: str | None = None
    ) -> int:
        raise NotImplementedError

    def get_task(self, queue: str, task_id: str) -> TaskInfo:
        """Raises QueueNotFoundError, TaskNotFoundError, CorruptTaskError."""
        raise NotImplementedError

    def delete_task(self, queue: str, task_id: str) -> None:
        """Not for active tasks (TaskStateError)."""
        raise NotImplementedError

    def run_task(self, queue: str, task_id: str) -> None:
        """Move a scheduled, retry, archived, completed or aggregating task to pending."""
        raise NotImplementedError

    def archive_task(self, queue: str, task_id: str) -> None:
        """Move a pending, scheduled, retry or aggregating task to archived."""
        raise NotImplementedError

    def cancel_task(self, task_id: str) -> None:
        """Ask the worker running ``task_id`` to cancel it (Asynq's cancel channel)."""
        raise NotImplementedError

    def delete_all(
        self,
        queue: str,
        state: TaskState | str,
        *,
        task_type: str | None = None,
        group: str | None = None,
    ) -> int:
        raise NotImplementedError

    def run_all(
        self,
        queue: str,
        state: TaskState | str,
        *,
        task_type: str | None = None,
        group: str | None = None,
    ) -> int:
        raise NotImplementedError

    def archive_all(
        self,
        queue: str,
        state: TaskState | str,
        *,
        task_type: str | None = None,
        group: str | None = None,
    ) -> int:
        raise NotImplementedError

    # -- servers and scheduler ------------------------------------------------------------
    def servers(self) -> list[ServerInfo]:
        """Live servers with their active workers."""
        raise NotImplementedError

    def scheduler_entries(self) -> list[SchedulerEntry]:
        raise NotImplementedError

    def scheduler_history(
        self, entry_id: str, *, page: int = 1, page_size: int = 30
    ) -> list[SchedulerEnqueueEvent]:
        """Newest first."""
        raise NotImplementedError

    def redis_info(self) -> dict[str, str]:
        """Redis INFO: version, uptime, clients, memory."""
        raise NotImplementedError
