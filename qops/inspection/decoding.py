"""Redis replies and stored protobufs turned into the models the Inspector returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from qops.errors import CorruptTaskError
from qops.models import (
    SchedulerEnqueueEvent,
    SchedulerEntry,
    ServerInfo,
    TaskInfo,
    TaskState,
    WorkerInfo,
    utc_from_unix,
)
from qops.storage import keys, wire

# States whose zset score is the time the task runs next.
_TIMED = (TaskState.SCHEDULED, TaskState.RETRY)


def text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def number(value: Any) -> float | None:
    """A Redis score or counter as a float; None when absent or not a number."""
    if value is None or value is False:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def moment(seconds: float) -> datetime | None:
    try:
        return utc_from_unix(seconds)
    except (OverflowError, OSError, ValueError):
        return None


def from_unix_ns(value: Any) -> datetime | None:
    """A unix-nanoseconds field such as ``pending_since``; None when absent or malformed."""
    ns = number(value)
    return None if ns is None else moment(ns / 1e9)


def timestamp(msg: Any, field: str) -> datetime | None:
    """A google.protobuf.Timestamp field; None when unset or Go's zero time."""
    if not msg.HasField(field):
        return None
    ts = getattr(msg, field)
    return moment(ts.seconds + ts.nanos / 1e9)


def task_info(
    queue: str,
    task_id: str,
    state: TaskState,
    msg: bytes | None,
    result: bytes | None,
    score: float | None,
    now: float,
    since: bytes | None = None,
) -> TaskInfo:
    """The task stored under ``task_id``; raises CorruptTaskError when ``msg`` is unreadable.

    ``score`` is the scheduled or retry time, or the lease expiry of an active task;
    ``since`` the hash's ``pending_since`` field (unix ns), kept for a pending task only. The
    id and queue are those the task is stored under, which address every operation on it.
    """
    m = wire.decode_task(msg, keys.task(queue, task_id))
    next_at: datetime | None = None
    if state in _TIMED and score is not None:
        next_at = moment(score)
    elif state is TaskState.PENDING:
        next_at = moment(now)
    return TaskInfo(
        id=task_id,
        queue=queue,
        type=m.type,
        payload=m.payload,
        state=state,
        max_retry=m.retry,
        retried=m.retried,
        last_error=m.error_msg,
        last_failed_at=moment(m.last_failed_at),
        timeout=m.timeout,
        deadline=moment(m.deadline),
        group=m.group_key,
        unique_key=m.unique_key,
        retention=m.retention,
        completed_at=moment(m.completed_at),
        next_process_at=next_at,
        headers=dict(m.headers),
        result=result,
        # No lease at all is as orphaned as an expired one: nothing will ever recover it.
        is_orphaned=state is TaskState.ACTIVE and (score is None or score <= now),
        pending_since=from_unix_ns(since) if state is TaskState.PENDING else None,
    )


def listed_task(
    queue: str,
    task_id: str,
    state: TaskState,
    msg: bytes | None,
    result: bytes | None,
    score: float | None,
    problem: str,
    now: float,
    since: bytes | None = None,
) -> TaskInfo:
    """Like `task_info`, but an unreadable task comes back with ``corrupt`` set instead."""
    try:
        if problem:
            raise CorruptTaskError(keys.task(queue, task_id), problem)
        return task_info(queue, task_id, state, msg, result, score, now, since)
    except CorruptTaskError as exc:
        return TaskInfo(
            id=task_id,
            queue=queue,
            type="",
            payload=b"",
            state=state,
            max_retry=0,
            result=result,
            corrupt=exc.reason,
        )


def _parse(cls: Any, data: bytes, where: str) -> Any | None:
    try:
        return wire.decode(cls, data, where)
    except CorruptTaskError:
        return None


def worker(data: bytes, where: str) -> WorkerInfo | None:
    m = _parse(wire.WorkerInfoMessage, data, where)
    if m is None or not m.task_id:
        return None
    return WorkerInfo(
        server_id=m.server_id,
        host=m.host,
        pid=m.pid,
        task_id=m.task_id,
        task_type=m.task_type,
        task_payload=m.task_payload,
        queue=m.queue,
        started=timestamp(m, "start_time"),
        deadline=timestamp(m, "deadline"),
    )


def server(data: bytes, where: str, workers: list[WorkerInfo]) -> ServerInfo | None:
    m = _parse(wire.ServerInfoMessage, data, where)
    if m is None or not m.server_id:
        return None
    return ServerInfo(
        id=m.server_id,
        host=m.host,
        pid=m.pid,
        concurrency=m.concurrency,
        queues=dict(sorted(m.queues.items())),
        strict_priority=m.strict_priority,
        status=m.status,
        started=timestamp(m, "start_time"),
        active_workers=workers,
    )


def scheduler_entry(data: bytes, where: str) -> SchedulerEntry | None:
    m = _parse(wire.SchedulerEntryMessage, data, where)
    if m is None or not m.id:
        return None
    return SchedulerEntry(
        id=m.id,
        spec=m.spec,
        task_type=m.task_type,
        task_payload=m.task_payload,
        options=list(m.enqueue_options),
        next_enqueue_at=timestamp(m, "next_enqueue_time"),
        prev_enqueue_at=timestamp(m, "prev_enqueue_time"),
    )


def enqueue_event(data: bytes, where: str) -> SchedulerEnqueueEvent | None:
    m = _parse(wire.SchedulerEnqueueEventMessage, data, where)
    if m is None or not m.task_id:
        return None
    return SchedulerEnqueueEvent(task_id=m.task_id, enqueued_at=timestamp(m, "enqueue_time"))


def utc_day(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)
