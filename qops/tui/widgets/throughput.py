"""Processed and failed tasks per refresh interval, as two sparklines."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from qops.tui import fmt


class Throughput(Vertical):
    """A sparkline each for processed and failed tasks, newest on the right.

    Like the status bar it keeps its widgets, so `show` works at any point of its life.
    """

    def __init__(self, capacity: int, refresh: float) -> None:
        super().__init__()
        self.capacity = capacity
        self.refresh_seconds = refresh
        self._rows = {
            name: (
                Static(id=f"{name}-label", classes="spark-label"),
                Sparkline([0.0] * capacity, id=f"{name}-spark"),
                Static(id=f"{name}-sum", classes="spark-sum"),
            )
            for name in ("processed", "failed")
        }

    def compose(self) -> ComposeResult:
        for name, widgets in self._rows.items():
            with Horizontal(classes="spark-row", id=f"{name}-row"):
                yield from widgets

    def show(self, processed: Sequence[int], failed: Sequence[int]) -> None:
        per = f"/{self.refresh_seconds:g}s"
        for name, data, style in (
            ("processed", processed, "$success"),
            ("failed", failed, "$error"),
        ):
            label, spark, total = self._rows[name]
            spark.data = [0.0] * (self.capacity - len(data)) + [float(v) for v in data]
            latest = data[-1] if data else 0
            peak = max(data, default=0)
            label.update(Content.assemble((name.capitalize(), f"bold {style}"), per))
            total.update(Content(f"{fmt.count(latest):>6} now · max {fmt.count(peak)}"))
