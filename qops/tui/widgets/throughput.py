"""Processed and failed tasks per refresh interval, as two sparklines."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from qops.tui import fmt


class Throughput(Vertical):
    """A sparkline each for processed and failed tasks, newest on the right."""

    def __init__(self, capacity: int, refresh: float) -> None:
        super().__init__()
        self.capacity = capacity
        self.refresh_seconds = refresh

    def compose(self) -> ComposeResult:
        for name in ("processed", "failed"):
            with Horizontal(classes="spark-row", id=f"{name}-row"):
                yield Static(id=f"{name}-label", classes="spark-label")
                yield Sparkline([0.0] * self.capacity, id=f"{name}-spark")
                yield Static(id=f"{name}-sum", classes="spark-sum")

    def show(self, processed: Sequence[int], failed: Sequence[int]) -> None:
        per = f"/{self.refresh_seconds:g}s"
        for name, data, style in (
            ("processed", processed, "$success"),
            ("failed", failed, "$error"),
        ):
            padded = [0.0] * (self.capacity - len(data)) + [float(v) for v in data]
            self.query_one(f"#{name}-spark", Sparkline).data = padded
            latest = data[-1] if data else 0
            peak = max(data, default=0)
            self.query_one(f"#{name}-label", Static).update(
                Content.assemble((name.capitalize(), f"bold {style}"), per)
            )
            self.query_one(f"#{name}-sum", Static).update(
                Content(f"{fmt.count(latest):>6} now · max {fmt.count(peak)}")
            )
