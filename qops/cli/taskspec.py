"""A task described by named fields, as ``enqueue`` flags, ``--batch`` lines and imports give it.

Field names are those of the ``--json`` schema where one exists (``type``, ``payload``,
``queue``, ``max_retry``, ``timeout``, ``deadline``, ``retention``, ``group``, ``headers``,
``id``) plus ``unique``, ``in`` and ``at``. Durations are seconds or text such as ``5m``; times
are ISO 8601 with a timezone, or unix seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from qops.cli.durations import parse_duration, parse_time
from qops.errors import InvalidInputError
from qops.task import Task

ALIASES = {"task_id": "id", "process_in": "in", "process_at": "at"}
FIELDS = (
    "type",
    "payload",
    "queue",
    "max_retry",
    "timeout",
    "deadline",
    "unique",
    "id",
    "retention",
    "group",
    "headers",
    "in",
    "at",
)

Namer = Callable[[str], str]


def flag_name(field: str) -> str:
    """How the ``enqueue`` command spells a field: ``max_retry`` -> ``--max-retry``."""
    return "--" + field.replace("_", "-")


def json_bytes(value: Any) -> bytes:
    """A JSON value as the compact UTF-8 text Python producers store."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _duration(value: Any, what: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise InvalidInputError(f"{what}: must be zero or more, got {value!r}")
        return float(value)
    if isinstance(value, str):
        return parse_duration(value, what)
    raise InvalidInputError(f"{what}: expected a duration such as 30 or '5m', got {value!r}")


def _time(value: Any, what: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return parse_time(value, what)
    raise InvalidInputError(f"{what}: expected an ISO 8601 time, got {value!r}")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what}: expected a non-empty string, got {value!r}")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise InvalidInputError(f"{what}: expected a whole number, got {value!r}")
    return value


def _headers(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInputError(f"{what}: expected an object of strings, got {value!r}")
    return dict(value)


def normalize(fields: Mapping[str, Any], name: Namer) -> dict[str, Any]:
    """``fields`` with aliases resolved; unknown names are refused."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        canon = ALIASES.get(key, key)
        if canon not in FIELDS:
            raise InvalidInputError(f"unknown field {key!r} (known: {', '.join(FIELDS)})")
        if canon in out:
            raise InvalidInputError(f"{name(canon)} is given twice ({key!r})")
        out[canon] = value
    return out


def build_task(fields: Mapping[str, Any], name: Namer, *, payload_is_bytes: bool = False) -> Task:
    """The `Task` ``fields`` describe; ``None`` values count as absent.

    ``payload`` is any JSON value (stored as compact JSON), or bytes stored as they are when
    ``payload_is_bytes``.

    Raises:
        InvalidInputError: a field is missing, unknown, invalid, or ``at`` is in the past.
    """
    f = {k: v for k, v in normalize(fields, name).items() if v is not None}
    if "type" not in f:
        raise InvalidInputError(f"{name('type')} is required")
    options: dict[str, Any] = {}
    if "queue" in f:
        options["queue"] = _text(f["queue"], name("queue"))
    if "max_retry" in f:
        options["max_retry"] = _int(f["max_retry"], name("max_retry"))
    for key in ("timeout", "unique", "retention"):
        if key in f:
            options[key] = _duration(f[key], name(key))
    if "deadline" in f:
        deadline = _time(f["deadline"], name("deadline"))
        if deadline <= datetime.now(UTC):
            raise InvalidInputError(f"{name('deadline')}: {f['deadline']} is in the past")
        options["deadline"] = deadline
    if "in" in f and "at" in f:
        raise InvalidInputError(f"give {name('in')} or {name('at')}, not both")
    if "in" in f:
        options["process_in"] = _duration(f["in"], name("in"))
    if "at" in f:
        at = _time(f["at"], name("at"))
        if at <= datetime.now(UTC):
            raise InvalidInputError(f"{name('at')}: {f['at']} is in the past")
        options["process_at"] = at
    if "id" in f:
        options["task_id"] = _text(f["id"], name("id"))
    if "group" in f:
        options["group"] = _text(f["group"], name("group"))
    if "headers" in f:
        options["headers"] = _headers(f["headers"], name("headers"))
    payload: bytes | None = None
    if "payload" in f:
        raw = f["payload"]
        payload = raw if payload_is_bytes and isinstance(raw, bytes) else json_bytes(raw)
    return Task(_text(f["type"], name("type")), payload, **options)
