"""Checks on Inspector arguments, done before anything is sent to Redis."""

from __future__ import annotations

from qops.errors import InvalidArgumentError
from qops.models import TaskState

STATE_VALUES = frozenset(s.value for s in TaskState)
STATE_NAMES = ", ".join(s.value for s in TaskState)


def state(value: TaskState | str) -> TaskState:
    """``value`` as a TaskState; any other string is refused with the list of states."""
    if isinstance(value, TaskState):
        return value
    try:
        return TaskState(str(value).strip().lower())
    except ValueError:
        raise InvalidArgumentError(
            f"invalid task state {value!r}: use one of {STATE_NAMES}"
        ) from None


def queue(name: str) -> str:
    # Only emptiness is refused: a queue another Asynq client made may use any name, and an
    # unknown one is reported as not found.
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError("queue name must be a non-empty string")
    return name


def positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{what} must be a whole number of 1 or more, got {value!r}")
    return value


def group_for(state_: TaskState, group: str | None) -> str | None:
    """The group, which only aggregating tasks have."""
    if group is None:
        return None
    if state_ is not TaskState.AGGREGATING:
        raise InvalidArgumentError(
            f"a group applies only to aggregating tasks, not to {state_.value} tasks"
        )
    if not group:
        raise InvalidArgumentError("group name must not be empty")
    return group


def type_prefix(task_type: str | None) -> bytes:
    """The bytes every encoded message of ``task_type`` starts with (b"" for no filter).

    The type is protobuf field 1, and encoders (Go's, and qops's deterministic one) write
    fields in number order, so a message of that type starts with tag 0x0a, the varint
    length, then the type itself.
    """
    if task_type is None:
        return b""
    if not task_type:
        raise InvalidArgumentError("task type filter must not be empty")
    raw = task_type.encode()
    length, n = bytearray(), len(raw)
    while True:
        byte, n = n & 0x7F, n >> 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            break
    return b"\x0a" + bytes(length) + raw
