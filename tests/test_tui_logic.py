"""The dashboard's pure parts: cell formats, trouble markers and change descriptions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from qops.models import QueueInfo, TaskInfo, TaskState
from qops.tui import fmt, health
from qops.tui.changes import Kind, for_queue_pause, for_state, for_task, nothing_to_do, verb
from qops.tui.source import FAKE_NOW, FakeSource

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def info(queue: str = "q", i: int = 0, **fields: object) -> QueueInfo:
    base = QueueInfo(
        queue=queue, size=0, pending=0, active=0, scheduled=0, retry=0, archived=0,
        completed=0, aggregating=0, groups=0, processed=0, failed=0, processed_total=0,
        failed_total=0, paused=False, latency=0.0, memory_usage=0,
        timestamp=T0 + timedelta(seconds=2 * i),
    )  # fmt: skip
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (99_999, "99,999"), (123_456, "123k"), (1_234_567, "1.2M"), (3_400_000_000, "3.4G")],
)
def test_count(n: int, text: str) -> None:
    assert fmt.count(n) == text


def test_sizes_durations_and_times() -> None:
    assert [fmt.size(n) for n in (512, 1536, 12 * 1024**2)] == ["512 B", "1.5 KB", "12 MB"]
    assert [fmt.duration(s) for s in (-3, 45, 185, 7800, 360_000)] == [
        "0s", "45s", "3m05s", "2h10m", "4d4h",
    ]  # fmt: skip
    now = T0.timestamp()
    assert fmt.ago(T0 - timedelta(seconds=5), now) == "5s ago"
    assert fmt.ago(T0 + timedelta(minutes=3), now) == "in 3m00s"
    assert fmt.ago(None, now) == "-"
    assert [fmt.percent(r) for r in (0, 0.0004, 0.031, 0.5)] == ["0%", "<0.1%", "3.1%", "50%"]


def test_text_is_made_safe_for_one_line_cells() -> None:
    assert fmt.clip("a  b\nc", 10) == "a b c"
    assert fmt.clip("abcdefghij", 5) == "abcd…"
    assert fmt.printable("ok\x1b[2Jx") == "ok\\x1b[2Jx"
    assert fmt.preview(b'{"a": [1, 2]}') == '{"a":[1,2]}'
    assert fmt.preview(b"\x89PNG\r\n") == "<6 bytes binary>"
    assert fmt.preview(b"bell\x07") == "<5 bytes binary>"
    assert fmt.preview(b"") == "(empty)"
    assert fmt.preview(b"[not json") == "[not json"
    dump = fmt.hexdump(b"AB\x00" * 7, limit=16)
    assert dump.splitlines()[0].startswith("00000000  41 42 00")
    assert dump.endswith("… 5 more bytes")


def test_throughput_is_counted_per_interval_from_all_time_counters() -> None:
    h = health.Health(capacity=3)
    h.record([info("a", 0, processed_total=100, failed_total=10), info("b", 0)])
    assert list(h.processed) == []  # the first reading is only a baseline
    h.record([info("a", 1, processed_total=130, failed_total=12), info("b", 1, processed_total=5)])
    h.record([info("a", 1, processed_total=130, failed_total=12), info("b", 1, processed_total=5)])
    assert list(h.processed) == [35] and list(h.failed) == [2]  # same reading: no interval
    h.record([info("a", 2, processed_total=7), info("b", 2, processed_total=5)])  # recreated
    assert list(h.processed) == [35, 0]


def test_rising_failures_need_a_doubling_and_a_floor() -> None:
    h = health.Health(capacity=10)
    total = 0
    for i in range(12):  # a steady trickle of one failure per refresh
        total += 1
        h.record([info(i=i, failed_total=total)])
    assert health.FAILING not in h.problems(info(failed_total=total))
    for i in range(12, 17):  # then a burst
        total += 4
        h.record([info(i=i, failed_total=total)])
    assert health.FAILING in h.problems(info(failed_total=total))


def test_growing_latency_and_pause_and_error_rate_markers() -> None:
    h = health.Health(capacity=10)
    for i, latency in enumerate((5.0, 6.0, 7.0)):
        h.record([info(i=i, pending=3, latency=latency)])
    assert health.SLOW not in h.problems(info(pending=3, latency=7.0))
    h.record([info(i=3, pending=3, latency=8.0)])
    assert h.problems(info(pending=3, latency=8.0)) == [health.SLOW]
    paused = info(pending=3, latency=8.0, paused=True)
    assert h.problems(paused) == [health.PAUSED]
    assert health.ERRORS in h.problems(info(processed=100, failed=30))
    assert health.ERRORS not in h.problems(info(processed=10, failed=9))
    assert health.error_level(0.01) == "" and health.error_level(0.06) == "warn"


def test_changes_name_what_changes_and_apply_to_the_source() -> None:
    fake = FakeSource()
    task = fake.list_tasks("webhooks", TaskState.RETRY, page=1, page_size=1, task_type=None)[0]
    retry = for_task(Kind.RUN, task)
    assert retry.title == "Retry this task awaiting retry now?" and not retry.destructive
    assert retry.action == "Retry now" and not retry.typed
    assert retry.apply(fake) == f"Task {task.id} moved to pending."
    delete_all = for_state(Kind.DELETE, "webhooks", TaskState.ARCHIVED, 4511)
    assert delete_all.title == "Delete 4,511 archived tasks in 'webhooks'?"
    assert "cannot be undone" in delete_all.detail and delete_all.destructive
    assert delete_all.action == "Delete 4,511"
    assert delete_all.typed == "4511"  # bulk changes are confirmed by typing the count
    assert delete_all.apply(fake) == "4,511 archived tasks in 'webhooks' deleted."
    pause = for_queue_pause("reports", paused=True)
    assert pause.title == "Resume queue 'reports'?"
    assert pause.apply(fake) == "Queue 'reports' resumed."
    assert fake.calls == [
        ("run_task", "webhooks", task.id),
        ("delete_all", "webhooks", TaskState.ARCHIVED, ""),
        ("unpause", "reports"),
    ]
    assert verb(Kind.RUN, TaskState.SCHEDULED) == "Run now"
    assert verb(Kind.CANCEL, TaskState.ACTIVE) == "Cancel"


@pytest.mark.parametrize(
    ("change", "title"),
    [
        ((Kind.RUN, TaskState.ARCHIVED, 1), "Retry 1 archived task in 'q'?"),
        ((Kind.RUN, TaskState.RETRY, 2), "Retry 2 tasks awaiting retry in 'q' now?"),
        ((Kind.RUN, TaskState.SCHEDULED, 1), "Run 1 scheduled task in 'q' now?"),
        ((Kind.ARCHIVE, TaskState.PENDING, 3), "Archive 3 pending tasks in 'q'?"),
        ((Kind.DELETE, TaskState.RETRY, 1), "Delete 1 task awaiting retry in 'q'?"),
    ],
)
def test_bulk_questions_fit_the_state_and_the_count(
    change: tuple[Kind, TaskState, int], title: str
) -> None:
    kind, state, n = change
    assert for_state(kind, "q", state, n).title == title
    assert "(s)" not in for_state(kind, "q", state, n).detail


def test_single_task_questions_and_nothing_to_do() -> None:
    fake = FakeSource()

    def first(queue: str, state: TaskState) -> TaskInfo:
        return fake.list_tasks(queue, state, page=1, page_size=1, task_type=None)[0]

    archived = for_task(Kind.RUN, first("webhooks", TaskState.ARCHIVED))
    assert (archived.title, archived.action) == ("Retry this archived task?", "Retry")
    scheduled = for_task(Kind.RUN, first("default", TaskState.SCHEDULED))
    assert (scheduled.title, scheduled.action) == ("Run this scheduled task now?", "Run now")
    cancel = for_task(Kind.CANCEL, first("default", TaskState.ACTIVE))
    assert cancel.title == "Cancel this active task?" and cancel.destructive
    assert (
        nothing_to_do("q", TaskState.RETRY) == "No tasks awaiting retry in 'q' now: nothing to do."
    )
    assert (
        nothing_to_do("q", TaskState.ARCHIVED, "email")
        == "No archived tasks of type 'email' in 'q' now: nothing to do."
    )


def test_latency_is_a_dash_when_nothing_waits() -> None:
    assert fmt.latency(info(pending=0, latency=0.0)) == "-"
    assert fmt.latency(info(pending=3, latency=75.0)) == "1m15s"
    assert fmt.waited(None, T0.timestamp()) == "-"
    assert fmt.waited(T0 - timedelta(seconds=65), T0.timestamp()) == "1m05s"


def test_the_fake_source_is_fixed() -> None:
    a, b = FakeSource(), FakeSource()
    assert a.now == FAKE_NOW
    assert a.frames == b.frames
    assert a.servers() == b.servers()

    def page(source: FakeSource) -> list[str]:
        tasks = source.list_tasks("default", TaskState.PENDING, page=1, page_size=3, task_type=None)
        return [t.id for t in tasks]

    assert page(a) == page(b)
    first = a.list_tasks("default", TaskState.PENDING, page=1, page_size=3, task_type=None)
    assert a.get_task("default", first[1].id) == first[1]
