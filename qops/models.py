"""What qops reads out of Redis, as frozen values.

``to_json()`` on each model is the one JSON schema the CLI prints with ``--json``: the same
field names everywhere, times as ISO 8601 UTC strings (``null`` when unset), durations in
seconds, payloads and results as text when they are UTF-8 and base64 otherwise.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class TaskState(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    AGGREGATING = "aggregating"
    SCHEDULED = "scheduled"
    RETRY = "retry"
    ARCHIVED = "archived"
    COMPLETED = "completed"


def utc_from_unix(seconds: float) -> datetime | None:
    """A datetime for a unix time, ``None`` for Asynq's "unset" (0 or Go's zero time)."""
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bytes_json(data: bytes | None) -> dict[str, Any] | None:
    """Bytes for a JSON document: JSON stays structured, text stays text, the rest is base64."""
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"encoding": "base64", "data": base64.b64encode(data).decode("ascii")}
    try:
        return (
            {"encoding": "json", "data": json.loads(text)}
            if text
            else {
                "encoding": "text",
                "data": "",
            }
        )
    except ValueError:
        return {"encoding": "text", "data": text}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, bytes):
        return bytes_json(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


class _JSONModel:
    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = _jsonable(self)
        return result


@dataclasses.dataclass(frozen=True, slots=True)
class TaskInfo(_JSONModel):
    """A task as stored in Redis."""

    id: str
    queue: str
    type: str
    payload: bytes
    state: TaskState
    max_retry: int
    retried: int = 0
    last_error: str = ""
    last_failed_at: datetime | None = None
    timeout: int = 0
    """Seconds; 0 when the task has only a deadline."""
    deadline: datetime | None = None
    group: str = ""
    unique_key: str = ""
    retention: int = 0
    """Seconds the task is kept as completed after it succeeds."""
    completed_at: datetime | None = None
    next_process_at: datetime | None = None
    """When the task runs next: its scheduled or retry time, now for pending tasks."""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    result: bytes | None = None
    is_orphaned: bool = False
    """An active task whose lease expired: its worker is gone and recovery is due."""
    corrupt: str = ""
    """Why the stored message could not be decoded; empty for a sound task."""
    pending_since: datetime | None = None
    """When a pending task became pending (enqueued, forwarded or run); None otherwise."""


@dataclasses.dataclass(frozen=True, slots=True)
class QueueInfo(_JSONModel):
    queue: str
    size: int
    pending: int
    active: int
    scheduled: int
    retry: int
    archived: int
    completed: int
    aggregating: int
    groups: int
    processed: int
    """Processed today (UTC), successes and failures."""
    failed: int
    """Failed today (UTC)."""
    processed_total: int
    failed_total: int
    paused: bool
    latency: float
    """Seconds the oldest pending task has waited; 0 when nothing is pending."""
    memory_usage: int
    """Approximate bytes used by the queue's keys, from a sample of its tasks."""
    timestamp: datetime
    overdue: float = 0.0
    """Seconds the earliest due scheduled or retry task is late (still not moved to pending,
    which a worker serving the queue does every few seconds); 0 when none is due."""

    @property
    def error_rate(self) -> float:
        return self.failed / self.processed if self.processed else 0.0

    def to_json(self) -> dict[str, Any]:
        # Zero-argument super() fails in slotted dataclasses (the class is rebuilt).
        data = _JSONModel.to_json(self)
        data["error_rate"] = round(self.error_rate, 4)
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class DailyStats(_JSONModel):
    queue: str
    date: str
    """UTC day, YYYY-MM-DD."""
    processed: int
    failed: int


@dataclasses.dataclass(frozen=True, slots=True)
class GroupInfo(_JSONModel):
    group: str
    size: int


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerInfo(_JSONModel):
    """A task being processed right now, as its server reports it on each heartbeat."""

    server_id: str
    host: str
    pid: int
    task_id: str
    task_type: str
    task_payload: bytes
    queue: str
    started: datetime | None
    deadline: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class ServerInfo(_JSONModel):
    id: str
    host: str
    pid: int
    concurrency: int
    queues: dict[str, int]
    strict_priority: bool
    status: str
    started: datetime | None
    active_workers: list[WorkerInfo]


@dataclasses.dataclass(frozen=True, slots=True)
class SchedulerEntry(_JSONModel):
    id: str
    spec: str
    task_type: str
    task_payload: bytes
    options: list[str]
    next_enqueue_at: datetime | None
    prev_enqueue_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class SchedulerEnqueueEvent(_JSONModel):
    task_id: str
    enqueued_at: datetime | None
