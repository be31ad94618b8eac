"""`Task`: a unit of work, described before it is enqueued and handed to handlers when it runs.

Every option is checked here, when the task is built, so nothing invalid reaches Redis.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from qops.errors import InvalidTaskError, TaskStateError

DEFAULT_QUEUE = "default"
DEFAULT_MAX_RETRY = 25
DEFAULT_TIMEOUT = 30 * 60

Duration = int | float | timedelta
Moment = datetime | int | float
Payload = bytes | bytearray | memoryview | str | int | float | bool | dict[str, Any] | list[Any]

# Braces would break the {queue} hash tag that keeps a queue's keys in one cluster slot.
_QUEUE_NAME = re.compile(r"^[^\s{}\x00-\x1f\x7f]{1,200}$")


def validate_queue(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidTaskError("queue name must be a non-empty string")
    if not _QUEUE_NAME.match(name):
        raise InvalidTaskError(
            f"invalid queue name {name!r}: use up to 200 characters without spaces, "
            "control characters or braces"
        )
    return name


def seconds(value: Duration, what: str, *, allow_zero: bool = True) -> float:
    """A duration given as seconds or a ``timedelta``, checked to be non-negative."""
    if isinstance(value, timedelta):
        result = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        raise InvalidTaskError(f"{what} must be seconds (int or float) or a timedelta")
    if not math.isfinite(result) or result < 0 or (result == 0 and not allow_zero):
        bound = "positive" if not allow_zero else "zero or more"
        raise InvalidTaskError(f"{what} must be {bound}, got {value!r}")
    return result


def unix_seconds(value: Moment, what: str) -> float:
    """A point in time given as an aware datetime or unix seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidTaskError(f"{what} must be timezone-aware (e.g. datetime.now(UTC))")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise InvalidTaskError(f"{what} must be an aware datetime or unix seconds")


def encode_payload(payload: Payload | None) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, bytearray | memoryview):
        return bytes(payload)
    try:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidTaskError(f"payload cannot be encoded as JSON: {exc}") from exc


class RunContext(Protocol):
    """What a worker attaches to a task while it runs (see `Task.write_result`)."""

    cancelled: bool
    finished: bool

    def write_result(self, data: bytes) -> None: ...


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidTaskError(f"{what} must be a non-empty string")
    return value


class Task:
    """A task type with its payload and options.

    Args:
        type: The task type; handlers are registered per type.
        payload: ``bytes`` are stored as they are; dicts, lists, strings and numbers as
            UTF-8 JSON.
        queue: Queue name (default ``"default"``).
        max_retry: Retries after the first failure before the task is archived (default 25).
        timeout: Seconds (or a timedelta) one run may take. Without a timeout or a deadline
            the timeout is 30 minutes.
        deadline: Aware datetime or unix seconds after which the task must not run.
        process_at: Aware datetime or unix seconds; a future time schedules the task.
        process_in: Delay in seconds or a timedelta; the same as ``process_at=now+delay``.
        unique: Seconds (at least 1) during which an identical task (same queue, type and
            payload) is refused with `DuplicateTaskError`.
        task_id: Your own id for the task; defaults to a random UUID.
        retention: Seconds to keep the task as ``completed`` after it succeeds.
        group: Group name; the task waits to be aggregated with the rest of its group.
        headers: String metadata carried with the task (trace context, for example).
    """

    __slots__ = (
        "_deadline",
        "_process_at",
        "_run",
        "_timeout",
        "group",
        "headers",
        "last_error",
        "max_retry",
        "payload",
        "queue",
        "retention",
        "retried",
        "task_id",
        "type",
        "unique",
    )

    def __init__(
        self,
        type: str,
        payload: Payload | None = None,
        *,
        queue: str = DEFAULT_QUEUE,
        max_retry: int = DEFAULT_MAX_RETRY,
        timeout: Duration | None = None,
        deadline: Moment | None = None,
        process_at: Moment | None = None,
        process_in: Duration | None = None,
        unique: Duration | None = None,
        task_id: str | None = None,
        retention: Duration | None = None,
        group: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.type = _name(type, "task type")
        self.payload = encode_payload(payload)
        self.queue = validate_queue(queue)
        if not isinstance(max_retry, int) or isinstance(max_retry, bool) or max_retry < 0:
            raise InvalidTaskError(f"max_retry must be an integer >= 0, got {max_retry!r}")
        self.max_retry = max_retry
        self._timeout = None if timeout is None else seconds(timeout, "timeout", allow_zero=False)
        self._deadline = None if deadline is None else unix_seconds(deadline, "deadline")
        if self._deadline is not None and self._deadline <= time.time():
            raise InvalidTaskError("deadline is in the past")
        if process_at is not None and process_in is not None:
            raise InvalidTaskError("give process_at or process_in, not both")
        self._process_at: float | None = None
        if process_at is not None:
            self._process_at = unix_seconds(process_at, "process_at")
        elif process_in is not None:
            self._process_at = time.time() + seconds(process_in, "process_in")
        self.unique = None if unique is None else seconds(unique, "unique")
        if self.unique is not None and self.unique < 1:
            raise InvalidTaskError("unique must be at least 1 second")
        self.task_id = None if task_id is None else _name(task_id, "task_id")
        self.retention = 0.0 if retention is None else seconds(retention, "retention")
        self.group = None if group is None else _name(group, "group")
        self.headers = dict(headers or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()):
            raise InvalidTaskError("headers must map strings to strings")
        self.retried = 0
        self.last_error = ""
        self._run: RunContext | None = None

    @classmethod
    def _from_message(cls, msg: Any, run: RunContext | None = None) -> Task:
        """The task a worker hands to its handler, read from a stored ``TaskMessage``.

        Built without the checks of ``__init__``: the message is already in Redis, and a task
        written by another producer must run even where qops would have refused it.
        """
        t = cls.__new__(cls)
        t.type = msg.type
        t.payload = msg.payload
        t.queue = msg.queue
        t.max_retry = msg.retry
        t._timeout = float(msg.timeout) if msg.timeout > 0 else None
        t._deadline = float(msg.deadline) if msg.deadline > 0 else None
        t._process_at = None
        t.unique = None
        t.task_id = msg.id
        t.retention = float(msg.retention)
        t.group = msg.group_key or None
        t.headers = dict(msg.headers) if msg.headers else {}
        t.retried = msg.retried
        t.last_error = msg.error_msg
        t._run = run
        return t

    # The message stores whole seconds, as Asynq does; round up so a timeout never becomes 0.
    @property
    def timeout(self) -> int:
        if self._timeout is None:
            return 0 if self._deadline is not None else DEFAULT_TIMEOUT
        return math.ceil(self._timeout)

    @property
    def deadline(self) -> datetime | None:
        return None if self._deadline is None else datetime.fromtimestamp(self._deadline, UTC)

    @property
    def process_at(self) -> datetime | None:
        return None if self._process_at is None else datetime.fromtimestamp(self._process_at, UTC)

    @property
    def id(self) -> str | None:
        return self.task_id

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)

    @property
    def cancelled(self) -> bool:
        """True once the worker has given up on this run.

        That happens at the task's deadline, on a cancel request, or at shutdown. A sync handler
        runs in a thread that cannot be stopped from outside; long-running sync code should
        check this flag and return early.
        """
        return self._run is not None and self._run.cancelled

    def is_cancelled(self) -> bool:
        """The same as `cancelled`, as a method."""
        return self.cancelled

    def write_result(self, result: Payload) -> None:
        """Store ``result`` in the task's ``result`` field, as Asynq's ResultWriter does.

        ``bytes`` are stored as they are, anything else as JSON. The write goes out at once
        without blocking the handler, and always before the task's outcome is recorded. The
        result outlives the run only when the task is kept: completed with a retention, retried
        or archived.

        Raises:
            TaskStateError: the task is not running in a worker, or its run is over.
        """
        run = self._run
        if run is None:
            raise TaskStateError("write_result works only on a task a worker is running")
        if run.finished or run.cancelled:
            raise TaskStateError(f"task {self.task_id!r} is no longer running")
        run.write_result(encode_payload(result))

    def __repr__(self) -> str:
        return f"Task({self.type!r}, queue={self.queue!r}, id={self.task_id!r})"


def task_from(task: Task | str, payload: Payload | None, options: Mapping[str, Any]) -> Task:
    """``task`` itself, or the `Task` of a type with its payload and options.

    Raises:
        TypeError: a `Task` came with a payload or options, which belong in ``Task(...)``.
        InvalidTaskError: an option is invalid.
    """
    if isinstance(task, Task):
        if payload is not None or options:
            raise TypeError("pass the payload and options to Task(...) when giving a Task object")
        return task
    return Task(task, payload, **options)
