"""Cron specs as Asynq's scheduler reads them (robfig/cron v3), turned into tick times.

Accepted specs:

- five fields, ``minute hour day-of-month month day-of-week``, each with ``*``, ``?`` (the same
  as ``*``), lists ``1,15``, ranges ``1-5``, steps ``*/10`` and ``5/15`` (5 to the end, every
  15), month names ``jan``-``dec`` and weekday names ``sun``-``sat``;
- descriptors ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
  (``@midnight``) and ``@hourly``;
- ``@every <Go duration>`` such as ``@every 30s`` or ``@every 1h30m`` (at least one second;
  a fraction of a second is dropped, as Asynq does);
- a ``CRON_TZ=<zone>`` or ``TZ=<zone>`` prefix that names the time zone of that spec.

Field matching and daylight saving time come from cronsim, which follows Debian's cron: a
job whose time falls in the hour skipped in spring runs right after the jump, and a job
whose time falls in the hour repeated in autumn runs once. Jobs that run every hour or more
often keep their pace through both changes. (robfig/cron instead skips such a job in spring
and runs it twice in autumn.)

``@every`` ticks fall on whole multiples of the interval counted from the Unix epoch, not
one interval after start as in Asynq: so every scheduler computes the same ticks, which is
what lets several of them share the work without enqueueing a tick twice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from qops.errors import InvalidScheduleError

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)")


class Schedule(Protocol):
    """When an entry runs: ``next_after(t)`` is its first tick strictly after ``t``."""

    @property
    def spec(self) -> str: ...

    @property
    def zone(self) -> str:
        """The time zone the ticks are computed in; empty when it plays no part."""
        ...

    def next_after(self, t: float) -> float:
        """Unix seconds of the first tick after ``t``; ``math.inf`` when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A five-field spec (or a descriptor) evaluated in a time zone."""

    spec: str
    expression: str
    tz: tzinfo
    zone: str

    def next_after(self, t: float) -> float:
        it = CronSim(self.expression, datetime.fromtimestamp(t, self.tz))
        # In the repeated autumn hour cronsim answers in wall time and may name the first
        # pass of a time that is already behind; the following answer is the real next.
        for _ in range(3):
            try:
                result = next(it).timestamp()
            except StopIteration:
                return math.inf
            if result > t:
                return result
        return math.inf


@dataclass(frozen=True, slots=True)
class EverySchedule:
    """``@every <duration>``: ticks on whole multiples of ``seconds`` since the epoch."""

    spec: str
    seconds: int
    zone: str = ""

    def next_after(self, t: float) -> float:
        return float((math.floor(t / self.seconds) + 1) * self.seconds)


def zone(name: str | tzinfo) -> tuple[tzinfo, str]:
    """A time zone and its name, from an IANA name such as ``Europe/Paris``.

    Raises:
        InvalidScheduleError: the zone is unknown.
    """
    if isinstance(name, tzinfo):
        label = str(getattr(name, "key", "") or name.tzname(None) or "")
        if not label:
            raise InvalidScheduleError(f"time zone {name!r} has no name; use an IANA name")
        return name, label
    if not isinstance(name, str) or not name.strip():
        raise InvalidScheduleError("a time zone must be an IANA name such as 'Europe/Paris'")
    if name.upper() == "UTC":
        return UTC, "UTC"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidScheduleError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Paris')"
        ) from None


def parse_duration(text: str, what: str, *, allow_days: bool = False) -> float:
    """Seconds in a Go duration such as ``1h30m``, ``90s`` or ``1.5h``.

    ``allow_days`` also takes ``d`` (24 hours), which Go does not.

    Raises:
        InvalidScheduleError: ``text`` is not such a duration, or is negative.
    """
    s = text.strip()
    total, pos = 0.0, 0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos or (m.group(2) == "d" and not allow_days):
            break
        total += float(m.group(1)) * (86400.0 if m.group(2) == "d" else _GO_UNITS[m.group(2)])
        pos = m.end()
    if s == "0":
        return 0.0
    if not s or pos != len(s):
        units = "h, m, s, ms" + (", d" if allow_days else "")
        raise InvalidScheduleError(
            f"{what}: {text!r} is not a duration (examples: 30s, 5m, 1h30m; units {units})"
        )
    return total


def parse_spec(spec: str, tz: str | tzinfo = "UTC") -> Schedule:
    """The schedule of ``spec``; ``tz`` applies unless the spec has a ``CRON_TZ=`` prefix.

    Raises:
        InvalidScheduleError: the spec or the zone is not valid, or the spec never fires.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidScheduleError("a cron spec must be a non-empty string")
    normalized = " ".join(spec.split())
    body = normalized
    if body.startswith(("CRON_TZ=", "TZ=")):
        prefix, _, body = body.partition(" ")
        if not body:
            raise InvalidScheduleError(f"cron spec {spec!r} has a time zone but no schedule")
        tz = prefix.partition("=")[2]
    if body.startswith("@"):
        word, _, arg = body.partition(" ")
        word = word.lower()
        if word == "@every":
            return _every(normalized, arg)
        if word not in DESCRIPTORS or arg:
            known = ", ".join([*DESCRIPTORS, "@every <duration>"])
            raise InvalidScheduleError(f"unknown descriptor in {spec!r} (known: {known})")
        body = DESCRIPTORS[word]
    zone_info, zone_name = zone(tz)
    return _cron(normalized, body, zone_info, zone_name)


def _every(spec: str, arg: str) -> EverySchedule:
    if not arg:
        raise InvalidScheduleError(
            f"cron spec {spec!r}: @every needs a duration, e.g. '@every 30s'"
        )
    seconds = parse_duration(arg, f"cron spec {spec!r}")
    if seconds < 1:
        raise InvalidScheduleError(f"cron spec {spec!r}: the interval must be at least 1s")
    return EverySchedule(spec, int(seconds))


def _cron(spec: str, body: str, tz: tzinfo, zone_name: str) -> CronSchedule:
    fields = body.split()
    if len(fields) != 5:
        raise InvalidScheduleError(
            f"cron spec {spec!r} has {len(fields)} fields; expected 5: "
            "minute hour day-of-month month day-of-week (or a descriptor such as @daily)"
        )
    expression = " ".join(f.replace("?", "*") for f in fields)
    try:
        # Built once here so a bad field is reported at registration, not at the first tick.
        CronSim(expression, datetime.now(tz))
    except CronSimError as exc:
        name = str(exc).removeprefix("Bad ").strip()
        where = FIELDS.index(name) if name in FIELDS else -1
        detail = f"bad {name} field {fields[where]!r}" if where >= 0 else str(exc)
        raise InvalidScheduleError(f"cron spec {spec!r}: {detail}") from None
    schedule = CronSchedule(spec, expression, tz, zone_name)
    if schedule.next_after(datetime.now(UTC).timestamp()) == math.inf:
        raise InvalidScheduleError(f"cron spec {spec!r} never fires")
    return schedule
