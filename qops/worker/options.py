"""Checks of the numbers a `Worker` and its maintenance jobs are configured with."""

from __future__ import annotations

import math
from datetime import timedelta

from qops.errors import InvalidInputError
from qops.task import Duration


def duration(value: Duration, what: str, *, minimum: float = 0.0, positive: bool = False) -> float:
    """``value`` (seconds or a timedelta) as float seconds, checked against ``minimum``.

    Raises:
        InvalidInputError: not a number of seconds, below ``minimum``, or zero when
            ``positive``; the message names ``what``.
    """
    if isinstance(value, timedelta):
        result = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        raise InvalidInputError(f"{what} must be seconds (int or float) or a timedelta")
    if not math.isfinite(result) or result < minimum or (positive and result <= 0):
        if minimum > 0:
            bound = f"at least {minimum:g} second{'' if minimum == 1 else 's'}"
        else:
            bound = "more than 0 seconds" if positive else "0 or more seconds"
        raise InvalidInputError(f"{what} must be {bound}, got {value!r}")
    return result


def count(value: int, what: str, *, minimum: int = 0) -> int:
    """``value`` checked to be an integer of at least ``minimum``.

    Raises:
        InvalidInputError: naming ``what``.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInputError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value
