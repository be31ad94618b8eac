"""`Entry`: one periodic task (a spec, a task template and a time zone) with a stable id.

An entry's id is a UUID derived from everything that defines it (spec, type, payload,
options, time zone), unlike Asynq's random one per registration: a restarted scheduler, or
a second scheduler reading the same file, names the entry the same way, so its enqueue
history carries on and its ticks are claimed under the same keys.

Options are also rendered the way Go's Asynq prints them (``Queue("critical")``,
``Timeout(30m0s)``), because that is the form ``asynq cron ls`` expects in Redis.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from qops.cron import Schedule
from qops.errors import InvalidScheduleError
from qops.task import DEFAULT_MAX_RETRY, DEFAULT_QUEUE, Payload, Task, task_from

# Fixed namespace for entry and task ids: the same inputs give the same ids everywhere.
NAMESPACE = uuid.UUID("5b0c2f4e-8d7a-4c1e-9f3b-6a2d1e0c7b94")

ENTRY_HEADER = "qops-cron-entry"
TICK_HEADER = "qops-cron-tick"


def as_template(task: Task | str, payload: Payload | None, options: dict[str, Any]) -> Task:
    """The task a periodic entry enqueues at each tick, from a `Task` or type/payload/options.

    Raises:
        TypeError: a `Task` came with a payload or options.
        InvalidTaskError: an option is invalid.
        InvalidScheduleError: the task has ``process_at``/``process_in``, which a periodic
            task cannot have (its spec says when it runs).
    """
    template = task_from(task, payload, options)
    if template._process_at is not None:
        raise InvalidScheduleError(
            "a periodic task cannot have process_at or process_in: its spec says when it runs"
        )
    return template


@dataclass(frozen=True, slots=True)
class Entry:
    """A periodic task: what to enqueue (``task``) and when (``schedule``)."""

    id: str
    schedule: Schedule
    task: Task
    options: tuple[str, ...]
    """The task's options in Go's ``String()`` forms, as Asynq stores them."""

    @classmethod
    def create(cls, schedule: Schedule, task: Task) -> Entry:
        options = tuple(option_strings(task))
        identity = json.dumps(
            [schedule.spec, schedule.zone, task.type, task.payload.hex(), options],
            separators=(",", ":"),
        )
        return cls(str(uuid.uuid5(NAMESPACE, identity)), schedule, task, options)

    @property
    def spec(self) -> str:
        return self.schedule.spec

    def task_id(self, tick: float) -> str:
        """The id of the task enqueued for ``tick``: the same in every scheduler.

        A ``task_id`` option becomes a prefix (``<task_id>:<tick>``): one fixed id would
        collide with the first run's task for as long as it is kept, blocking every later
        tick (Asynq issue 842).
        """
        if self.task.task_id is not None:
            return f"{self.task.task_id}:{int(tick)}"
        return str(uuid.uuid5(NAMESPACE, f"{self.id}:{int(tick)}"))

    def task_for(self, tick: float) -> Task:
        """The task to enqueue for ``tick``, with headers naming the entry and the tick.

        Raises:
            InvalidTaskError: the task's deadline has passed.
        """
        t = self.task
        headers = dict(t.headers)
        headers[ENTRY_HEADER] = self.id
        headers[TICK_HEADER] = datetime.fromtimestamp(tick, UTC).isoformat().replace("+00:00", "Z")
        return Task(
            t.type,
            t.payload,
            queue=t.queue,
            max_retry=t.max_retry,
            timeout=t._timeout,
            deadline=t._deadline,
            unique=t.unique,
            task_id=self.task_id(tick),
            retention=t.retention or None,
            group=t.group,
            headers=headers,
        )


def option_strings(task: Task) -> list[str]:
    """The options that differ from the defaults, in Asynq's order and Go's forms."""
    out: list[str] = []
    if task.max_retry != DEFAULT_MAX_RETRY:
        out.append(f"MaxRetry({task.max_retry})")
    if task.queue != DEFAULT_QUEUE:
        out.append(f"Queue({go_quote(task.queue)})")
    if task._timeout is not None:
        out.append(f"Timeout({go_duration(task.timeout)})")
    if task._deadline is not None:
        out.append(f"Deadline({unix_date(task._deadline)})")
    if task.unique is not None:
        out.append(f"Unique({go_duration(task.unique)})")
    if task.task_id is not None:
        out.append(f"TaskID({go_quote(task.task_id)})")
    if task.retention:
        out.append(f"Retention({go_duration(int(task.retention))})")
    if task.group is not None:
        out.append(f"Group({go_quote(task.group)})")
    for key, value in sorted(task.headers.items()):
        pair = json.dumps([key, value], separators=(",", ":"), ensure_ascii=False)
        # Go's encoding/json escapes these three for safe embedding in HTML.
        pair = pair.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        out.append(f"Header({pair})")
    return out


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1m30s``, ``1.5s``, ``500ms``, ``0s``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("\u00b5s", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    whole, frac = divmod(ns, 1_000_000_000)
    text = _fraction(whole % 60 * 1_000_000_000 + frac, 1_000_000_000) + "s"
    minutes = whole // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes >= 60:
            text = f"{minutes // 60}h{text}"
    return sign + text


def _fraction(value: int, size: int) -> str:
    whole, frac = divmod(value, size)
    if not frac:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def go_quote(text: str) -> str:
    """Go's ``%q`` (``strconv.Quote``) of a string."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def unix_date(seconds: float) -> str:
    """Go's ``time.UnixDate`` layout in UTC: ``Mon Jan  2 15:04:05 UTC 2006``."""
    t = datetime.fromtimestamp(math.floor(seconds), UTC)
    return f"{t:%a %b} {t.day:>2} {t:%H:%M:%S} UTC {t.year}"
