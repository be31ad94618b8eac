"""The status line on top of every screen, and the banner shown while Redis is unreachable."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from qops.tui import fmt


@dataclass
class Link:
    """How the last refreshes went, as the status line tells it."""

    label: str
    refresh: float
    read_only: bool = False
    paused: bool = False
    updated_at: float | None = None
    error: str = ""
    failures: int = 0
    retry_at: float | None = None

    def status(self, now: float) -> Content:
        parts: list[str | tuple[str, str]] = []
        if self.error:
            wait = fmt.duration((self.retry_at or now) - now)
            parts += [("✖ Redis unreachable", "bold $error"), f" · retry in {wait}"]
        elif self.updated_at is None:
            parts.append("connecting…")
        else:
            parts += [("● ", "$success"), f"updated {fmt.duration(now - self.updated_at)} ago"]
        if self.paused:
            parts.append((" · refresh paused (p)", "bold $warning"))
        elif not self.error:
            parts.append(f" · every {self.refresh:g}s")
        if self.read_only:
            parts.append((" · READ-ONLY", "bold $warning"))
        return Content.assemble(*parts, " ")

    def banner(self, now: float) -> str:
        wait = fmt.duration((self.retry_at or now) - now)
        since = (
            f"Data shown is from {fmt.duration(now - self.updated_at)} ago."
            if self.updated_at is not None
            else "No data yet."
        )
        return (
            f"✖ Cannot reach Redis at {self.label}: {self.error}. "
            f"Retrying in {wait} (attempt {self.failures}); ctrl+r retries now. {since}"
        )


class StatusBar(Vertical):
    """Breadcrumb and refresh status on one line, the Redis-down banner under it.

    The children are built with the bar and `show` updates them directly, without a query:
    the app's status tick may reach a bar whose screen is still being composed, or already
    being taken down, and it must never find the bar half built.
    """

    def __init__(self, crumb: str) -> None:
        super().__init__()
        self.crumb = crumb
        self._status = Static(id="status")
        self._banner = Static(id="banner")

    def compose(self) -> ComposeResult:
        with Horizontal(id="status-line"):
            yield Static(Content(f" {self.crumb}"), id="crumb")
            yield self._status
        yield self._banner

    def show(self, link: Link, now: float) -> None:
        """Show ``link`` as of ``now``; safe before the bar is mounted and after it is gone."""
        self._status.update(link.status(now))
        self._banner.display = bool(link.error)
        if link.error:
            self._banner.update(Content(link.banner(now)))
