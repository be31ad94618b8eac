"""Cron spec grammar and tick times (no Redis): fields, descriptors, @every, zones, DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from qops.cron import parse_duration, parse_spec
from qops.errors import InvalidScheduleError

PARIS = ZoneInfo("Europe/Paris")


def ticks(spec: str, start: datetime, n: int, tz: str = "UTC") -> list[str]:
    """The ``n`` ticks after ``start``, as ISO strings in the schedule's own zone."""
    s = parse_spec(spec, tz)
    shown = ZoneInfo(s.zone) if s.zone and s.zone != "UTC" else UTC
    t, out = start.timestamp(), []
    for _ in range(n):
        t = s.next_after(t)
        out.append(datetime.fromtimestamp(t, shown).isoformat())
    return out


JAN1 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("*/20 * * * *", ["00:20", "00:40", "01:00"]),
        ("5/20 * * * *", ["00:05", "00:25", "00:45"]),
        ("0,30 9-10 * * *", ["09:00", "09:30", "10:00"]),
        ("15 */6 * * *", ["00:15", "06:15", "12:15"]),
        ("0 12 ? * *", ["12:00", "12:00", "12:00"]),
        ("0  12   *  *  *", ["12:00", "12:00", "12:00"]),
    ],
)
def test_five_field_times_of_day(spec: str, expected: list[str]) -> None:
    got = [t[11:16] for t in ticks(spec, JAN1, 3)]
    assert got == expected


def test_weekday_and_month_names_are_case_insensitive() -> None:
    assert ticks("0 8 * jan,Mar Mon-Wed", JAN1, 3) == [
        "2026-01-05T08:00:00+00:00",
        "2026-01-06T08:00:00+00:00",
        "2026-01-07T08:00:00+00:00",
    ]
    assert ticks("0 0 1 FEB *", JAN1, 1) == ["2026-02-01T00:00:00+00:00"]


def test_day_of_month_or_day_of_week_as_in_cron() -> None:
    # Both fields restricted: either one matches (the 15th, or any Sunday).
    assert ticks("0 0 15 * sun", JAN1, 3) == [
        "2026-01-04T00:00:00+00:00",
        "2026-01-11T00:00:00+00:00",
        "2026-01-15T00:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("spec", "first"),
    [
        ("@hourly", "2026-01-01T01:00:00+00:00"),
        ("@daily", "2026-01-02T00:00:00+00:00"),
        ("@midnight", "2026-01-02T00:00:00+00:00"),
        ("@weekly", "2026-01-04T00:00:00+00:00"),
        ("@monthly", "2026-02-01T00:00:00+00:00"),
        ("@yearly", "2027-01-01T00:00:00+00:00"),
        ("@annually", "2027-01-01T00:00:00+00:00"),
    ],
)
def test_descriptors(spec: str, first: str) -> None:
    assert ticks(spec, JAN1, 1) == [first]


def test_every_is_aligned_on_the_epoch_so_all_schedulers_agree() -> None:
    s = parse_spec("@every 1h30m")
    assert s.zone == ""
    start = datetime(2026, 1, 1, 0, 10, 7, tzinfo=UTC).timestamp()
    first = s.next_after(start)
    assert first % 5400 == 0
    assert 0 < first - start <= 5400
    assert s.next_after(first) == first + 5400
    # A second scheduler started a bit later computes the very same tick.
    assert s.next_after(start + 123.4) == first


def test_every_durations_follow_go_syntax() -> None:
    assert parse_spec("@every 30s").next_after(0) == 30
    assert parse_spec("@every 1.5s").next_after(0) == 1  # sub-second part dropped, as Asynq
    assert parse_spec("@every 2m").next_after(1) == 120


def test_zone_parameter_and_cron_tz_prefix() -> None:
    assert ticks("0 9 * * *", JAN1, 1, tz="Asia/Tokyo") == ["2026-01-02T09:00:00+09:00"]
    # The prefix wins over the zone given alongside.
    assert ticks("CRON_TZ=Asia/Tokyo 0 9 * * *", JAN1, 1, tz="Europe/Paris") == [
        "2026-01-02T09:00:00+09:00"
    ]
    assert ticks("TZ=America/New_York @daily", JAN1, 1) == ["2026-01-01T00:00:00-05:00"]
    assert parse_spec("CRON_TZ=Asia/Tokyo 0 9 * * *").zone == "Asia/Tokyo"


def test_dst_spring_forward_runs_a_skipped_time_right_after_the_jump() -> None:
    # Europe/Paris jumps from 02:00 to 03:00 on 2026-03-29.
    start = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS)
    assert ticks("30 2 * * *", start, 3, tz="Europe/Paris") == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]
    # Hourly jobs keep their pace: nothing at the missing 02:00.
    start = datetime(2026, 3, 29, 0, 30, tzinfo=PARIS)
    assert ticks("0 * * * *", start, 3, tz="Europe/Paris") == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]


def test_dst_fall_back_runs_a_fixed_time_once() -> None:
    # Europe/Paris goes back from 03:00 to 02:00 on 2026-10-25: 02:30 happens twice.
    start = datetime(2026, 10, 24, 12, 0, tzinfo=PARIS)
    assert ticks("30 2 * * *", start, 3, tz="Europe/Paris") == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    # Started inside the repeated hour, after the first 02:30: next is tomorrow, not the past.
    second_pass = datetime(2026, 10, 25, 2, 10, tzinfo=PARIS, fold=1)
    assert ticks("30 2 * * *", second_pass, 1, tz="Europe/Paris") == ["2026-10-26T02:30:00+01:00"]
    # Frequent jobs run in both passes of the repeated hour.
    start = datetime(2026, 10, 25, 1, 45, tzinfo=PARIS)
    assert ticks("*/30 * * * *", start, 5, tz="Europe/Paris") == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "non-empty"),
        ("* * * *", "has 4 fields; expected 5"),
        ("0 0 * * * *", "has 6 fields; expected 5"),
        ("60 * * * *", "bad minute field '60'"),
        ("0 24 * * *", "bad hour field '24'"),
        ("0 0 32 * *", "bad day-of-month field '32'"),
        ("0 0 * 13 *", "bad month field '13'"),
        ("0 0 * * funday", "bad day-of-week field 'funday'"),
        ("0 0 30 2 *", "bad day-of-month field '30'"),
        ("@fortnightly", "unknown descriptor"),
        ("@daily 5", "unknown descriptor"),
        ("@every", "@every needs a duration"),
        ("@every 500ms", "at least 1s"),
        ("@every 1d", "is not a duration"),
        ("@every soon", "is not a duration"),
        ("CRON_TZ=Mars/Olympus 0 * * * *", "unknown time zone 'Mars/Olympus'"),
        ("CRON_TZ=Europe/Paris", "no schedule"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(InvalidScheduleError, match=message):
        parse_spec(spec)


def test_unknown_zone_parameter() -> None:
    with pytest.raises(InvalidScheduleError, match="unknown time zone 'Nowhere'"):
        parse_spec("@daily", "Nowhere")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), (".5s", 0.5), ("250ms", 0.25)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "x") == seconds


def test_days_only_where_allowed() -> None:
    assert parse_duration("2d", "x", allow_days=True) == 172800
    with pytest.raises(InvalidScheduleError, match="'2d' is not a duration"):
        parse_duration("2d", "x")
    with pytest.raises(InvalidScheduleError, match="is not a duration"):
        parse_duration("-5s", "x")
