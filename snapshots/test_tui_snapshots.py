"""Screenshots of every `qops tui` screen at 80x24 and 120x40, from fixed data at a fixed time.

The SVGs live in ``snapshots/__snapshots__/test_tui_snapshots/``. After a deliberate change
to the screens, look at ``snapshot_report.html`` and then run
``pytest snapshots --snapshot-update``; CI never updates them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from qops.models import TaskState
from qops.tui.app import QopsApp
from qops.tui.screens.confirm import ConfirmScreen
from qops.tui.screens.queue import QueueScreen
from qops.tui.source import FakeSource
from qops.tui.widgets.live_table import LiveTable

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]


def fake_app(*, read_only: bool = False, empty: bool = False) -> QopsApp:
    fake = FakeSource(empty=empty)
    app = QopsApp(fake, refresh=2.0, read_only=read_only, clock=lambda: fake.now)
    app.animation_level = "none"
    return app


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def warm_up(pilot: Any) -> None:
    """Poll through every frame of the fake, so the charts and markers have a history."""
    app: QopsApp = pilot.app
    await settle(pilot)
    assert isinstance(app.source, FakeSource)
    for _ in range(len(app.source.frames) - 1):
        app.refresh_now()
        await settle(pilot)


async def press(pilot: Any, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def select(pilot: Any, selector: str, row: str) -> None:
    table = pilot.app.screen.query_one(selector, LiveTable)
    table.move_cursor(row=table.get_row_index(row))
    await settle(pilot)


async def still_cursor(pilot: Any) -> None:
    """Stop the dialog's text cursor blinking, so the screenshot never catches it hidden."""
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen)
    screen.typed.cursor_blink = False
    await settle(pilot)


async def queue_screen(pilot: Any, queue: str = "default", state: str = "pending") -> None:
    await warm_up(pilot)
    await select(pilot, "#queues", queue)
    await press(pilot, "enter")
    screen = pilot.app.screen
    assert isinstance(screen, QueueScreen)
    while screen.state is not TaskState(state):
        await press(pilot, "right_square_bracket")


def run(steps: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    async def run_before(pilot: Any) -> None:
        await steps(pilot)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_overview(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(fake_app(), terminal_size=size, run_before=run(warm_up))


def test_overview_of_an_empty_redis(snap_compare: SnapCompare) -> None:
    assert snap_compare(fake_app(empty=True), terminal_size=(80, 24), run_before=run(settle))


@pytest.mark.parametrize("size", SIZES)
def test_queue_pending(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(fake_app(), terminal_size=size, run_before=run(queue_screen))


@pytest.mark.parametrize("size", SIZES)
def test_queue_retry(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        await queue_screen(pilot, "webhooks", "retry")

    assert snap_compare(fake_app(), terminal_size=size, run_before=run(steps))


@pytest.mark.parametrize("size", SIZES)
def test_task(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        await queue_screen(pilot, "webhooks", "retry")
        await press(pilot, "enter")

    assert snap_compare(fake_app(), terminal_size=size, run_before=run(steps))


def test_task_binary_payload(snap_compare: SnapCompare) -> None:
    async def steps(pilot: Any) -> None:
        await queue_screen(pilot, "default", "pending")
        await press(pilot, "enter")  # the first task of "default" is an image: binary

    assert snap_compare(fake_app(), terminal_size=(120, 40), run_before=run(steps))


@pytest.mark.parametrize("size", SIZES)
def test_servers(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        await warm_up(pilot)
        await press(pilot, "2")

    assert snap_compare(fake_app(), terminal_size=size, run_before=run(steps))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        await queue_screen(pilot)
        await press(pilot, "question_mark")

    assert snap_compare(fake_app(), terminal_size=size, run_before=run(steps))


@pytest.mark.parametrize("size", SIZES)
def test_confirm_delete_all(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        await queue_screen(pilot, "webhooks", "archived")
        await press(pilot, "D")
        await still_cursor(pilot)

    assert snap_compare(fake_app(), terminal_size=size, run_before=run(steps))


def test_confirm_delete_all_typed_wrong(snap_compare: SnapCompare) -> None:
    async def steps(pilot: Any) -> None:
        await queue_screen(pilot, "webhooks", "archived")
        await press(pilot, "D", "y", "enter")
        await still_cursor(pilot)

    assert snap_compare(fake_app(), terminal_size=(80, 24), run_before=run(steps))


def test_read_only_queue(snap_compare: SnapCompare) -> None:
    async def steps(pilot: Any) -> None:
        await queue_screen(pilot, "webhooks", "retry")

    app = fake_app(read_only=True)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run(steps))
