"""Parse the durations and times people type on a command line.

Durations: ``90`` (seconds), ``10s``, ``5m``, ``2h``, ``1d``, ``500ms`` and sums such as
``1h30m``. Times: ISO 8601 with a timezone (``2026-12-01T09:00:00Z``,
``2026-12-01T10:00:00+01:00``); a time without one is refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from qops.errors import InvalidInputError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_duration(text: str, what: str) -> float:
    """Seconds in ``text``; ``what`` names the input in the error (e.g. ``--timeout``).

    Raises:
        InvalidInputError: ``text`` is not a duration.
    """
    s = text.strip().lower()
    if _NUMBER.fullmatch(s):
        return float(s)
    total, pos = 0.0, 0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise InvalidInputError(
            f"{what}: {text!r} is not a duration (examples: 90, 10s, 5m, 2h, 1h30m, 1d)"
        )
    return total


def parse_time(text: str, what: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text that names its timezone.

    Raises:
        InvalidInputError: ``text`` is not an ISO 8601 time with a timezone.
    """
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"{what}: {text!r} is not an ISO 8601 time (example: 2026-12-01T09:00:00Z)"
        ) from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise InvalidInputError(
            f"{what}: {text!r} has no timezone; add Z for UTC or an offset such as +01:00"
        )
    return t.astimezone(UTC)
