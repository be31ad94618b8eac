"""How long a failed task waits before its next attempt."""

from __future__ import annotations

import random
from collections.abc import Callable

from qops.task import Task

RetryDelay = Callable[[int, BaseException, Task], float]
"""``(retried, error, task) -> seconds`` until the next attempt.

``retried`` counts the failures before this one, so it is 0 after the first failure.
"""


def default_retry_delay(retried: int, error: BaseException, task: Task) -> float:
    """Asynq's backoff (taken from Sidekiq): ``retried⁴ + 15 + r × (retried + 1)`` seconds.

    ``r`` is a random integer from 0 to 29, which spreads retries of tasks that failed
    together. First retry after 15–44 s, the fifth after 640–814 s, the tenth after about
    2.8 hours.
    """
    return float(retried**4 + 15 + random.randint(0, 29) * (retried + 1))
