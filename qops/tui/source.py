"""Where the dashboard gets its data: the `DataSource` protocol and its Redis implementation.

Every method may block; the app calls them from worker threads, never from the event loop.
`FakeSource` serves fixed data at a fixed time: screenshots and demos are taken with it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Protocol

from qops.connection import mask_url
from qops.errors import TaskNotFoundError
from qops.inspector import Inspector
from qops.models import QueueInfo, ServerInfo, TaskInfo, TaskState, WorkerInfo


class DataSource(Protocol):
    """What the dashboard reads and changes. Errors are qops errors (`qops.errors`)."""

    @property
    def label(self) -> str:
        """Where the data comes from, safe to show (no password)."""
        ...

    def queue_infos(self) -> list[QueueInfo]: ...
    def redis_info(self) -> dict[str, str]: ...
    def list_tasks(
        self, queue: str, state: TaskState, *, page: int, page_size: int, task_type: str | None
    ) -> list[TaskInfo]: ...
    def count_tasks(self, queue: str, state: TaskState, *, task_type: str | None) -> int: ...
    def get_task(self, queue: str, task_id: str) -> TaskInfo: ...
    def servers(self) -> list[ServerInfo]: ...
    def run_task(self, queue: str, task_id: str) -> None: ...
    def archive_task(self, queue: str, task_id: str) -> None: ...
    def delete_task(self, queue: str, task_id: str) -> None: ...
    def cancel_task(self, task_id: str) -> None: ...
    def run_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int: ...
    def archive_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int: ...
    def delete_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int: ...
    def pause(self, queue: str) -> None: ...
    def unpause(self, queue: str) -> None: ...
    def close(self) -> None: ...


class RedisSource:
    """A `DataSource` over a live Redis, through `qops.Inspector` only.

    Args:
        inspector: an open inspector; the source closes it on `close`.
    """

    def __init__(self, inspector: Inspector) -> None:
        self.inspector = inspector
        embedded = " (embedded)" if inspector.embedded else ""
        self._label = mask_url(inspector.url) + embedded

    @property
    def label(self) -> str:
        return self._label

    def queue_infos(self) -> list[QueueInfo]:
        return self.inspector.queue_infos()

    def redis_info(self) -> dict[str, str]:
        return self.inspector.redis_info()

    def list_tasks(
        self, queue: str, state: TaskState, *, page: int, page_size: int, task_type: str | None
    ) -> list[TaskInfo]:
        return self.inspector.list_tasks(
            queue, state, page=page, page_size=page_size, task_type=task_type
        )

    def count_tasks(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        return self.inspector.count_tasks(queue, state, task_type=task_type)

    def get_task(self, queue: str, task_id: str) -> TaskInfo:
        return self.inspector.get_task(queue, task_id)

    def servers(self) -> list[ServerInfo]:
        return self.inspector.servers()

    def run_task(self, queue: str, task_id: str) -> None:
        self.inspector.run_task(queue, task_id)

    def archive_task(self, queue: str, task_id: str) -> None:
        self.inspector.archive_task(queue, task_id)

    def delete_task(self, queue: str, task_id: str) -> None:
        self.inspector.delete_task(queue, task_id)

    def cancel_task(self, task_id: str) -> None:
        self.inspector.cancel_task(task_id)

    def run_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        return self.inspector.run_all(queue, state, task_type=task_type)

    def archive_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        return self.inspector.archive_all(queue, state, task_type=task_type)

    def delete_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        return self.inspector.delete_all(queue, state, task_type=task_type)

    def pause(self, queue: str) -> None:
        self.inspector.pause(queue)

    def unpause(self, queue: str) -> None:
        self.inspector.unpause(queue)

    def close(self) -> None:
        self.inspector.close()


FAKE_NOW = 1_768_478_400.0
"""2026-01-15 12:00:00 UTC: the fixed "now" of `FakeSource`."""

_TYPES = ("email:send", "report:build", "webhook:deliver", "image:resize")
_ERRORS = (
    "smtp: 421 4.7.0 try again later",
    "context deadline exceeded",
    'POST https://hooks.example.com/orders: 503 Service Unavailable: {"retry_after": 30}',
    "image decode: unexpected EOF",
)
# queue -> (pending, active, scheduled, retry, archived, completed, aggregating, paused)
_QUEUES: dict[str, tuple[int, int, int, int, int, int, int, bool]] = {
    "critical": (0, 3, 0, 1, 0, 240, 0, False),
    "default": (1_234_567, 6, 312, 45, 17, 5_210, 8, False),
    "emails": (8_420, 0, 64, 230, 1_020, 0, 0, False),
    "reports": (73, 0, 12, 0, 3, 88, 0, True),
    "webhooks": (310, 2, 0, 912, 4_511, 0, 0, False),
}


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _frame(now: float, i: int, last: int) -> list[QueueInfo]:
    """Queue infos of the ``i``-th of ``last + 1`` refreshes, 2 s apart and ending at ``now``:
    steady traffic, ``webhooks`` failing more and more, ``emails`` with no worker (latency
    climbing), ``reports`` paused."""
    out = []
    for n, (name, (pend, act, sched, retry, arch, done, aggr, paused)) in enumerate(
        _QUEUES.items()
    ):
        wave = (i * 7 + n * 3) % 11
        processed = 0 if name == "emails" else i * (40 + 9 * n) + wave * 5
        failed = 2 * max(0, i - 19) ** 2 if name == "webhooks" else (i + n) // 4
        latency = {"emails": 95.0 + 2 * i, "default": 40.0 + wave, "reports": 3600.0}
        latency |= {"critical": 0.4, "webhooks": 12.0 + wave}
        out.append(
            QueueInfo(
                queue=name,
                size=pend + act + sched + retry + arch + done + aggr,
                pending=pend,
                active=act,
                scheduled=sched,
                retry=retry,
                archived=arch,
                completed=done,
                aggregating=aggr,
                groups=2 if aggr else 0,
                processed=20_000 + processed * (n + 1),
                failed=(4_800 if name == "webhooks" else 300 * n) + failed,
                processed_total=900_000 + processed,
                failed_total=9_000 + failed,
                paused=paused,
                latency=latency.get(name, 0.0) if pend else 0.0,
                memory_usage=(pend + sched + retry + arch + done) * 610 + 4096,
                timestamp=_at(now - 2 * (last - i)),
            )
        )
    return out


class FakeSource:
    """A `DataSource` with fixed data at a fixed time; changes are recorded, not applied.

    Each `queue_infos` call returns the next of ``frames`` refreshes (then the last again),
    so a few refreshes give the throughput chart and the trouble markers something to show.
    With ``empty`` there are no queues and no servers, as on a fresh Redis.
    """

    label = "redis://redis.example:6379/0"

    def __init__(self, now: float = FAKE_NOW, frames: int = 30, *, empty: bool = False) -> None:
        self.now = now
        self.empty = empty
        self.frames = [[] if empty else _frame(now, i, frames - 1) for i in range(frames)]
        self.calls: list[tuple[str, ...]] = []
        self._served = 0

    def queue_infos(self) -> list[QueueInfo]:
        frame = self.frames[min(self._served, len(self.frames) - 1)]
        self._served += 1
        return frame

    def redis_info(self) -> dict[str, str]:
        return {"redis_version": "7.2.4", "used_memory": str(734_003_200)}

    def _task(self, queue: str, state: TaskState, i: int) -> TaskInfo:
        task_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"qops:{queue}:{state}:{i}"))
        kind = _TYPES[(i + len(queue)) % len(_TYPES)]
        payload = (
            b"\x89PNG\r\n\x1a\n" + bytes(range(i % 7, 60))
            if kind == "image:resize"
            else json.dumps({"id": 1000 + i, "to": f"user{i}@example.com", "kind": kind}).encode()
        )
        failed = state in (TaskState.RETRY, TaskState.ARCHIVED)
        next_at = {
            TaskState.PENDING: self.now,
            TaskState.SCHEDULED: self.now + 60 + 37 * i,
            TaskState.RETRY: self.now + 20 + 13 * i,
        }.get(state)
        return TaskInfo(
            id=task_id,
            queue=queue,
            type=kind,
            payload=payload,
            state=state,
            max_retry=25,
            retried=(i % 25) if failed else 0,
            last_error=_ERRORS[i % len(_ERRORS)] if failed else "",
            last_failed_at=_at(self.now - 30 - 41 * i) if failed else None,
            timeout=1800,
            group="batch-7" if state is TaskState.AGGREGATING else "",
            retention=86_400 if state is TaskState.COMPLETED else 0,
            completed_at=_at(self.now - 90 * i) if state is TaskState.COMPLETED else None,
            next_process_at=_at(next_at) if next_at is not None else None,
            headers={"trace-id": f"{i:016x}"},
            result=b'{"ok": true}' if state is TaskState.COMPLETED else None,
            pending_since=self._pending_since(queue, i) if state is TaskState.PENDING else None,
        )

    def _pending_since(self, queue: str, i: int) -> datetime:
        # The next task to run has waited as long as the queue's latency says; later ones less.
        info = next(q for q in self.frames[-1] if q.queue == queue)
        return _at(self.now - info.latency * 20 / (20 + i))

    def _total(self, queue: str, state: TaskState) -> int:
        info = next(q for q in self.frames[0] if q.queue == queue)
        return int(getattr(info, state.value))

    def list_tasks(
        self, queue: str, state: TaskState, *, page: int, page_size: int, task_type: str | None
    ) -> list[TaskInfo]:
        start = (page - 1) * page_size
        end = min(self._total(queue, state), start + page_size)
        tasks = [self._task(queue, state, i) for i in range(start, end)]
        return [t for t in tasks if task_type is None or t.type == task_type]

    def count_tasks(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        total = self._total(queue, state)
        return total if task_type is None else total // len(_TYPES)

    def get_task(self, queue: str, task_id: str) -> TaskInfo:
        for state in TaskState:
            for i in range(min(self._total(queue, state), 200)):
                task = self._task(queue, state, i)
                if task.id == task_id:
                    return task
        raise TaskNotFoundError(queue, task_id)

    def servers(self) -> list[ServerInfo]:
        if self.empty:
            return []
        out = []
        for n, (host, queues) in enumerate(
            (
                ("worker-a", {"critical": 6, "default": 3, "webhooks": 1}),
                ("worker-b", {"default": 1}),
            )
        ):
            pid = 4100 + n
            active = [
                self._task(q, TaskState.ACTIVE, i)
                for q in queues
                for i in range(self._total(q, TaskState.ACTIVE))
                if i % 2 == n
            ]
            workers = [
                WorkerInfo(
                    server_id=f"srv-{n}",
                    host=host,
                    pid=pid,
                    task_id=t.id,
                    task_type=t.type,
                    task_payload=t.payload,
                    queue=t.queue,
                    started=_at(self.now - 5 - 17 * k),
                    deadline=_at(self.now + 1795 - 17 * k),
                )
                for k, t in enumerate(active)
            ]
            out.append(
                ServerInfo(
                    id=f"srv-{n}",
                    host=host,
                    pid=pid,
                    concurrency=10 * (n + 1),
                    queues=queues,
                    strict_priority=False,
                    status="active",
                    started=_at(self.now - 7200 * (n + 1)),
                    active_workers=workers,
                )
            )
        return out

    def _record(self, *call: str) -> None:
        self.calls.append(call)

    def run_task(self, queue: str, task_id: str) -> None:
        self._record("run_task", queue, task_id)

    def archive_task(self, queue: str, task_id: str) -> None:
        self._record("archive_task", queue, task_id)

    def delete_task(self, queue: str, task_id: str) -> None:
        self._record("delete_task", queue, task_id)

    def cancel_task(self, task_id: str) -> None:
        self._record("cancel_task", task_id)

    def run_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        self._record("run_all", queue, state, task_type or "")
        return self.count_tasks(queue, state, task_type=task_type)

    def archive_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        self._record("archive_all", queue, state, task_type or "")
        return self.count_tasks(queue, state, task_type=task_type)

    def delete_all(self, queue: str, state: TaskState, *, task_type: str | None) -> int:
        self._record("delete_all", queue, state, task_type or "")
        return self.count_tasks(queue, state, task_type=task_type)

    def pause(self, queue: str) -> None:
        self._record("pause", queue)

    def unpause(self, queue: str) -> None:
        self._record("unpause", queue)

    def close(self) -> None:
        self._record("close")
