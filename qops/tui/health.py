"""What the dashboard remembers between refreshes: throughput and signs of trouble per queue."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from qops.models import QueueInfo

PAUSED = "PAUSED"
FAILING = "⚠ FAIL↑"
SLOW = "⚠ LAT↑"
ERRORS = "⚠ ERR%"

# Failures count as rising when the last RECENT intervals saw at least twice as many as the
# RECENT before them, and at least MIN_FAILURES: a steady trickle is not news.
RECENT = 5
MIN_FAILURES = 3
# A high error rate today is only news with enough tasks behind it.
MIN_PROCESSED = 20
# Latency counts as growing once it rose on this many refreshes in a row, from at least
# MIN_LATENCY seconds: a steadily served queue wobbles, a stuck one only climbs.
RISES = 3
MIN_LATENCY = 1.0
ERROR_RATE_WARN = 0.05
ERROR_RATE_BAD = 0.2
LATENCY_WARN = 60.0


@dataclass
class _Trend:
    last: QueueInfo
    failed: deque[int]
    rises: int = 0


class Health:
    """Per-interval processed/failed counts across all queues, and per-queue trends.

    Args:
        capacity: how many intervals the throughput history keeps.
    """

    def __init__(self, capacity: int) -> None:
        self.processed: deque[int] = deque(maxlen=capacity)
        self.failed: deque[int] = deque(maxlen=capacity)
        self._trends: dict[str, _Trend] = {}

    def record(self, infos: list[QueueInfo]) -> None:
        """Take in one refresh; the first one only sets the baseline, and a reading already
        taken in (same queues, same timestamps) is not a new interval."""
        if [(q.queue, q.timestamp) for q in infos] == [
            (t.last.queue, t.last.timestamp) for t in self._trends.values()
        ]:
            return
        processed = failed = 0
        seen: dict[str, _Trend] = {}
        for q in infos:
            trend = self._trends.get(q.queue)
            if trend is None:
                seen[q.queue] = _Trend(q, deque([0] * RECENT * 2, maxlen=RECENT * 2))
                continue
            # Counters only go down when a queue is deleted and recreated, or wrap.
            d_processed = max(0, q.processed_total - trend.last.processed_total)
            d_failed = max(0, q.failed_total - trend.last.failed_total)
            processed += d_processed
            failed += d_failed
            trend.failed.append(d_failed)
            rising = q.pending > 0 and q.latency >= MIN_LATENCY and q.latency > trend.last.latency
            trend.rises = trend.rises + 1 if rising else 0
            trend.last = q
            seen[q.queue] = trend
        if self._trends:
            self.processed.append(processed)
            self.failed.append(failed)
        self._trends = seen

    def problems(self, q: QueueInfo) -> list[str]:
        """Text markers for what needs attention on ``q`` (colour is never the only signal)."""
        found = [PAUSED] if q.paused else []
        if error_level(q.error_rate) == "bad" and q.processed >= MIN_PROCESSED:
            found.append(ERRORS)
        trend = self._trends.get(q.queue)
        if trend is not None:
            history = list(trend.failed)
            recent, before = sum(history[-RECENT:]), sum(history[:-RECENT])
            if recent >= max(MIN_FAILURES, 2 * before):
                found.append(FAILING)
            if trend.rises >= RISES and not q.paused:  # a paused queue waits by design
                found.append(SLOW)
        return found


def error_level(rate: float) -> str:
    """``""``, ``"warn"`` or ``"bad"`` for an error rate."""
    if rate >= ERROR_RATE_BAD:
        return "bad"
    return "warn" if rate >= ERROR_RATE_WARN else ""
