"""Reading tasks out of their containers: pages, full scans and counts.

Every read is a window of positions in one container, fetched by ``inspect_list.lua`` with
the task hashes in the same call, so a page costs O(page) however long the queue is. A type
filter is applied in Redis; it scans forward window by window until the page is full, so a
filtered page costs O(position of its last task) and a filtered count O(container).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from qops.inspection.decoding import listed_task, number, text
from qops.models import GroupInfo, TaskInfo, TaskState
from qops.storage import keys
from qops.storage.broker import Broker
from qops.storage.calls import Call, lua

WINDOW = 1000
"""Positions per script call; bigger pages go as several calls in one round trip."""
SCAN = 2000
"""Positions scanned per call when a type filter is set."""
_EVERYTHING = 2**53
"""Pass over this many matches: the call only counts."""


@dataclass(frozen=True, slots=True)
class Source:
    """One container of tasks in one state, and how to read it."""

    queue: str
    state: TaskState
    key: str
    is_list: bool
    group: str = ""


def source(queue: str, state: TaskState, group: str = "") -> Source:
    if state is TaskState.AGGREGATING:
        return Source(queue, state, keys.group(queue, group), False, group)
    is_list = state in (TaskState.PENDING, TaskState.ACTIVE)
    return Source(queue, state, keys.state_key(queue, state.value), is_list)


def _call(src: Source, start: int, window: int, prefix: bytes, skip: int, want: int) -> Call:
    return lua(
        "inspect_list",
        [src.key, keys.lease(src.queue)],
        [
            "list" if src.is_list else "zset",
            keys.task_prefix(src.queue),
            start,
            window,
            prefix,
            skip,
            want,
            "1" if src.state is TaskState.ACTIVE else "0",
        ],
    )


@dataclass(frozen=True, slots=True)
class _Reply:
    read: int
    passed: int
    tasks: list[TaskInfo]


def _reply(src: Source, raw: list[Any], now: float) -> _Reply:
    tasks = []
    for i in range(2, len(raw), 6):
        task_id, msg, result, score, problem, since = raw[i : i + 6]
        tasks.append(
            listed_task(
                src.queue,
                text(task_id),
                src.state,
                msg,
                result,
                number(score),
                text(problem) if problem else "",
                now,
                since,
            )
        )
    return _Reply(int(raw[0]), int(raw[1]), tasks)


def page(broker: Broker, src: Source, start: int, count: int, now: float) -> list[TaskInfo]:
    """``count`` tasks from position ``start``, in one round trip."""
    calls = [
        _call(src, start + i, min(WINDOW, count - i), b"", 0, min(WINDOW, count - i))
        for i in range(0, count, WINDOW)
    ]
    out: list[TaskInfo] = []
    for raw in broker.run(calls):
        out += _reply(src, raw, now).tasks
    return out


def filtered_page(
    broker: Broker, src: Source, prefix: bytes, skip: int, want: int, now: float
) -> tuple[list[TaskInfo], int]:
    """Up to ``want`` tasks of one type after passing over ``skip`` of them.

    Returns the tasks and how many of ``skip`` are still to pass over (for the next group).
    """
    out: list[TaskInfo] = []
    pos = 0
    while len(out) < want:
        r = _reply(src, broker.call(_call(src, pos, SCAN, prefix, skip, want - len(out))), now)
        skip -= r.passed
        pos += r.read
        out += r.tasks
        if r.read < SCAN:
            break
    return out, skip


def scan(broker: Broker, src: Source, prefix: bytes, window: int, now: float) -> Iterator[TaskInfo]:
    """Every task of the container (of one type if ``prefix``), ``window`` positions a call.

    Positions only move forward, so a container that does not change is read exactly once.
    """
    pos = 0
    while True:
        r = _reply(src, broker.call(_call(src, pos, window, prefix, 0, window)), now)
        yield from r.tasks
        pos += r.read
        if r.read < window:
            return


def count(broker: Broker, src: Source, prefix: bytes) -> int:
    """How many tasks of one type the container holds: O(container), a window per call."""
    total, pos = 0, 0
    while True:
        raw = broker.call(_call(src, pos, SCAN, prefix, _EVERYTHING, 0))
        total += int(raw[1])
        pos += int(raw[0])
        if int(raw[0]) < SCAN:
            return total


def groups(broker: Broker, queue: str) -> list[GroupInfo]:
    """The groups of ``queue`` with their sizes, by name; O(number of groups)."""
    raw = broker.call(lua("inspect_groups", [keys.all_groups(queue)], [keys.group_prefix(queue)]))
    found = [GroupInfo(group=text(raw[i]), size=int(raw[i + 1])) for i in range(0, len(raw), 2)]
    return sorted(found, key=lambda g: g.group)


def sources(broker: Broker, queue: str, state: TaskState, group: str | None) -> list[Source]:
    """The containers of ``state``: one, or every group for aggregating without ``group``."""
    if state is TaskState.AGGREGATING and group is None:
        return [source(queue, state, g.group) for g in groups(broker, queue)]
    return [source(queue, state, group or "")]


def across_groups(
    broker: Broker, queue: str, prefix: bytes, skip: int, want: int, now: float
) -> list[TaskInfo]:
    """A page of aggregating tasks over every group, by group name, then age in a group."""
    out: list[TaskInfo] = []
    for g in groups(broker, queue):
        src = source(queue, TaskState.AGGREGATING, g.group)
        if prefix:
            found, skip = filtered_page(broker, src, prefix, skip, want - len(out), now)
        elif skip >= g.size:
            skip -= g.size
            continue
        else:
            found = page(broker, src, skip, min(want - len(out), g.size - skip), now)
            skip = 0
        out += found
        if len(out) >= want:
            break
    return out
