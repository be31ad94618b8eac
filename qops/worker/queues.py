"""Which queues a worker serves, and in which order it tries them for each dequeue."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from functools import reduce

from qops.errors import InvalidInputError, InvalidQueuesError
from qops.task import validate_queue


def parse_queues(spec: str) -> dict[str, int]:
    """Read ``"critical=6,default=3"`` or ``"a,b"`` (each weight 1) into queue -> weight.

    Raises:
        InvalidQueuesError: naming the part that is not ``name`` or ``name=positive integer``.
    """
    result: dict[str, int] = {}
    if not spec.strip():
        raise InvalidQueuesError("queue spec is empty; use e.g. 'critical=6,default=3'")
    for part in spec.split(","):
        name, sep, weight = part.strip().partition("=")
        name = name.strip()
        if not name:
            raise InvalidQueuesError(f"empty queue name in {part!r} of queue spec {spec!r}")
        try:
            validate_queue(name)
        except InvalidInputError as exc:
            raise InvalidQueuesError(f"{exc} (in queue spec {spec!r})") from None
        value = 1
        if sep:
            try:
                value = int(weight.strip())
            except ValueError:
                value = 0
            if value < 1:
                raise InvalidQueuesError(
                    f"priority {weight.strip()!r} of queue {name!r} must be a positive integer"
                )
        if name in result:
            raise InvalidQueuesError(f"queue {name!r} is listed twice in {spec!r}")
        result[name] = value
    return result


def normalize(queues: Mapping[str, int] | Sequence[str] | None) -> dict[str, int]:
    """Queue -> weight from what `Worker` accepts; ``None`` means ``{"default": 1}``."""
    if queues is None:
        return {"default": 1}
    if isinstance(queues, str):
        return parse_queues(queues)
    items = queues.items() if isinstance(queues, Mapping) else ((q, 1) for q in queues)
    result: dict[str, int] = {}
    for name, weight in items:
        try:
            validate_queue(name)
        except InvalidInputError as exc:
            raise InvalidQueuesError(str(exc)) from None
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
            raise InvalidQueuesError(
                f"priority of queue {name!r} must be a positive integer, got {weight!r}"
            )
        result[name] = weight
    if not result:
        raise InvalidQueuesError("no queue to serve")
    return result


class QueueOrder:
    """Asynq's dequeue order: strict by priority, or weighted random per attempt.

    Weighted: each queue is listed ``weight`` times (weights divided by their GCD), the list
    is shuffled and duplicates dropped, so a queue comes first with probability
    ``weight / sum(weights)``.
    """

    def __init__(self, queues: Mapping[str, int], strict: bool) -> None:
        gcd = reduce(math.gcd, queues.values())
        self.weights = {q: w // gcd for q, w in queues.items()}
        self.strict = strict
        ranked = sorted(self.weights, key=lambda q: -self.weights[q])
        self._fixed = ranked if strict or len(ranked) == 1 else None
        self._slots = [q for q, w in self.weights.items() for _ in range(w)]

    def __call__(self) -> list[str]:
        if self._fixed is not None:
            return self._fixed
        slots = self._slots[:]
        random.shuffle(slots)
        return list(dict.fromkeys(slots))
