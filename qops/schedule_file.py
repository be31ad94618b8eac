"""Read a schedule file: periodic tasks as ``[[task]]`` tables in TOML.

::

    tz = "Europe/Paris"              # optional: zone of every entry without its own

    [[task]]
    spec = "30 7 * * mon-fri"        # cron spec, descriptor or @every (see qops.cron)
    type = "report:daily"
    payload = { team = "ops" }       # a table (stored as JSON) or a string (stored as is)
    queue = "critical"
    max_retry = 3
    timeout = "5m"                   # durations: seconds, or "30s", "5m", "1h30m", "7d"
    unique = "1h"
    retention = "1d"
    tz = "America/New_York"          # optional: this entry's zone

Also accepted per task: ``deadline`` (a TOML date-time with an offset), ``group``,
``task_id`` (a prefix: each tick's task id is ``<task_id>:<tick>``) and ``headers`` (a table
of strings). Every problem in the file is reported, each with the file, the line, the task
number and the key.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

from qops.cron import parse_duration, parse_spec, zone
from qops.errors import ConfigError, InvalidInputError
from qops.periodic import Entry, as_template
from qops.task import Task

_REQUIRED = ("spec", "type")
_DURATIONS = ("timeout", "unique", "retention")
TASK_KEYS = (
    "spec", "type", "payload", "tz", "queue", "max_retry", "timeout", "deadline", "unique",
    "retention", "group", "task_id", "headers",
)  # fmt: skip
TOP_KEYS = ("tz", "task")
_TOML_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def load_schedule(path: str | Path, *, default_tz: str | tzinfo = "UTC") -> list[Entry]:
    """The entries of the schedule file at ``path``.

    Args:
        default_tz: zone of entries when neither the entry nor the file names one.

    Raises:
        ConfigError: the file cannot be read or has errors; the message lists each as
            ``<file>:<line>: task <n>, <key>: <reason>``, one per line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the schedule file: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        m = _TOML_LINE.search(reason)
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise ConfigError(f"{where}: not valid TOML: {_TOML_LINE.sub('', reason)}") from None
    return _Reader(path, text).entries(doc, default_tz)


class _Reader:
    """Turns a parsed document into entries, collecting every error with its line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.errors: list[str] = []
        self.tables = [
            i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*task\s*\]\]", line)
        ]

    def entries(self, doc: dict[str, Any], default_tz: str | tzinfo) -> list[Entry]:
        for key in doc:
            if key not in TOP_KEYS:
                self.error(None, key, f"unknown top-level key (known: {', '.join(TOP_KEYS)})")
        file_tz = default_tz
        if "tz" in doc:
            file_tz = self.check(None, "tz", doc["tz"], _zone_name) or default_tz
        tasks = doc.get("task")
        if not tasks:
            self.error(None, None, "no [[task]] tables: the file schedules nothing")
            tasks = []
        elif not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
            self.error(None, "task", "must be [[task]] tables")
            tasks = []
        out: list[Entry] = []
        seen: dict[str, int] = {}
        for n, table in enumerate(tasks, 1):
            entry = self.entry(n, table, file_tz)
            if entry is None:
                continue
            if entry.id in seen:
                self.error(n, None, f"the same entry as task {seen[entry.id]}")
                continue
            seen[entry.id] = n
            out.append(entry)
        if self.errors:
            raise ConfigError("\n".join(self.errors))
        return out

    def entry(self, n: int, table: dict[str, Any], file_tz: str | tzinfo) -> Entry | None:
        before = len(self.errors)
        for key in table:
            if key not in TASK_KEYS:
                self.error(n, key, f"unknown key (known: {', '.join(TASK_KEYS)})")
        for key in _REQUIRED:
            if key not in table:
                self.error(n, None, f"{key!r} is missing")
        tz = file_tz
        if "tz" in table:
            tz = self.check(n, "tz", table["tz"], _zone_name) or file_tz
        schedule = None
        if "spec" in table:
            spec = table["spec"]
            schedule = self.check(n, "spec", spec, lambda v: parse_spec(_text(v), tz))
        type_ = table.get("type")
        if "type" in table:
            self.check(n, "type", type_, _text)
        payload = (
            self.check(n, "payload", table["payload"], _payload) if "payload" in table else b""
        )
        options: dict[str, Any] = {}
        for key, value in table.items():
            if key in _OPTION_KEYS:
                option = self.check(n, key, value, functools.partial(_option, key))
                # Each option is tried alone first, so an error names the key it comes from.
                if option is not None and self.check(n, key, option, _alone(key)):
                    options[key] = option
        if len(self.errors) > before or schedule is None or not isinstance(type_, str):
            return None
        try:
            return Entry.create(schedule, as_template(type_, payload, options))
        except InvalidInputError as exc:
            self.error(n, None, str(exc))
            return None

    def check(self, n: int | None, key: str, value: Any, convert: Callable[[Any], Any]) -> Any:
        """``convert(value)``, or None after recording its error against task ``n``, ``key``."""
        try:
            return convert(value)
        except (InvalidInputError, TypeError) as exc:
            self.error(n, key, str(exc))
            return None

    def error(self, n: int | None, key: str | None, reason: str) -> None:
        line = self.line(n, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        what = ", ".join(x for x in (f"task {n}" if n else "", repr(key) if key else "") if x)
        self.errors.append(f"{where}: {what}: {reason}" if what else f"{where}: {reason}")

    def line(self, n: int | None, key: str | None) -> int | None:
        """1-based line of ``key`` in task ``n`` (or at the top level), else of the table."""
        if n is not None and n > len(self.tables):
            return None  # tasks written inline (task = [{...}]) have no header line
        start = self.tables[n - 1] + 1 if n is not None else 0
        end = next(
            (i for i in range(start, len(self.lines)) if re.match(r"\s*\[", self.lines[i])),
            len(self.lines),
        )
        if key is not None:
            name = re.escape(key)
            pattern = re.compile(rf"""\s*(?:{name}|"{name}"|'{name}')\s*[=.]""")
            for i in range(start, end):
                if pattern.match(self.lines[i]):
                    return i + 1
        return start if n is not None else None


_OPTION_KEYS = frozenset(TASK_KEYS) - {"spec", "type", "payload", "tz"}


def _alone(key: str) -> Callable[[Any], Task]:
    def build(value: Any) -> Task:
        return Task("check", **{key: value})

    return build


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError("must be a non-empty string")
    return value


def _zone_name(value: Any) -> str:
    return zone(_text(value))[1]


def _toml_json(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be stored as JSON")


def _payload(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dict | list):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_toml_json)
        return text.encode()
    raise TypeError("must be a table (stored as JSON) or a string (stored as it is)")


def _option(key: str, value: Any) -> Any:
    if key in _DURATIONS:
        if isinstance(value, str):
            return parse_duration(value, "duration", allow_days=True)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise TypeError('must be seconds or a duration such as "30s", "5m", "1h30m"')
    if key == "deadline":
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value
        raise TypeError("must be a TOML date-time with an offset, e.g. 2027-01-01T00:00:00Z")
    if key == "headers":
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return value
        raise TypeError("must be a table of strings")
    if key == "max_retry":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError("must be an integer")
    return _text(value)
