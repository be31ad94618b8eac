"""Schedule files: the TOML format, and every error naming the file, line, task and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qops.errors import ConfigError
from qops.schedule_file import load_schedule

GOOD = """\
tz = "Europe/Paris"

[[task]]
spec = "30 7 * * mon-fri"
type = "report:daily"
payload = { team = "ops", since = 2026-01-01 }
queue = "critical"
max_retry = 3
timeout = "5m"
unique = 3600
retention = "1d"

[[task]]
spec = "@every 1h30m"
type = "cleanup"
payload = '{"raw": true}'
tz = "UTC"
group = "batch"
task_id = "cleanup"
headers = { origin = "cron" }
deadline = 2099-01-01T00:00:00Z
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedule.toml"
    path.write_text(text)
    return path


def test_a_valid_file(tmp_path: Path) -> None:
    first, second = load_schedule(write(tmp_path, GOOD))
    assert first.spec == "30 7 * * mon-fri"
    assert first.schedule.zone == "Europe/Paris"
    assert first.task.type == "report:daily"
    assert json.loads(first.task.payload) == {"team": "ops", "since": "2026-01-01"}
    assert first.options == (
        "MaxRetry(3)",
        'Queue("critical")',
        "Timeout(5m0s)",
        "Unique(1h0m0s)",
        "Retention(24h0m0s)",
    )
    assert second.schedule.zone == ""  # @every has no zone
    assert second.task.payload == b'{"raw": true}'
    assert second.options == (
        "Deadline(Thu Jan  1 00:00:00 UTC 2099)",
        'TaskID("cleanup")',
        'Group("batch")',
        'Header(["origin","cron"])',
    )
    assert second.task_id(1_800_000_000) == "cleanup:1800000000"


def test_the_same_file_gives_the_same_ids(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert [e.id for e in load_schedule(path)] == [e.id for e in load_schedule(path)]


def test_default_zone_applies_without_a_file_or_entry_zone(tmp_path: Path) -> None:
    path = write(tmp_path, '[[task]]\nspec = "0 9 * * *"\ntype = "t"\n')
    [e] = load_schedule(path, default_tz="Asia/Tokyo")
    assert e.schedule.zone == "Asia/Tokyo"


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_schedule(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(str(path)) for line in lines)
    return [line.removeprefix(str(path)) for line in lines]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[task]]\nspec = "* * * * *"\ntype = \n', ":3: not valid TOML: Invalid value"),
        ("", ": no [[task]] tables: the file schedules nothing"),
        (
            'timezone = "UTC"\n[[task]]\nspec = "@daily"\ntype = "t"\n',
            ":1: 'timezone': unknown top-level key (known: tz, task)",
        ),
        (
            'tz = "Mars/Olympus"\n[[task]]\nspec = "@daily"\ntype = "t"\n',
            ":1: 'tz': unknown time zone 'Mars/Olympus'",
        ),
        ("task = 3\n", ":1: 'task': must be [[task]] tables"),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\n\n[[task]]\nspec = "61 * * * *"\ntype = "t"\n',
            ":6: task 2, 'spec': cron spec '61 * * * *': bad minute field '61'",
        ),
        ('[[task]]\nspec = 5\ntype = "t"\n', ":2: task 1, 'spec': must be a non-empty string"),
        ('[[task]]\ntype = "t"\n', ":1: task 1: 'spec' is missing"),
        ('[[task]]\nspec = "@daily"\n', ":1: task 1: 'type' is missing"),
        ('[[task]]\nspec = "@daily"\ntype = ""\n', ":3: task 1, 'type': must be a non-empty"),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\nqueu = "x"\n',
            ":4: task 1, 'queu': unknown key (known: spec, type, payload, tz, queue,",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\nqueue = "a b"\n',
            ":4: task 1, 'queue': invalid queue name 'a b'",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\nmax_retry = "3"\n',
            ":4: task 1, 'max_retry': must be an integer",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\nmax_retry = -2\n',
            ":4: task 1, 'max_retry': max_retry must be an integer >= 0",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\ntimeout = "5 minutes"\n',
            ":4: task 1, 'timeout': duration: '5 minutes' is not a duration",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\nunique = "500ms"\n',
            ":4: task 1, 'unique': unique must be at least 1 second",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\ndeadline = 2099-01-01T00:00:00\n',
            ":4: task 1, 'deadline': must be a TOML date-time with an offset",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\npayload = 42\n',
            ":4: task 1, 'payload': must be a table (stored as JSON) or a string",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\nheaders = { a = 1 }\n',
            ":4: task 1, 'headers': must be a table of strings",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\ntz = "Nowhere"\n',
            ":4: task 1, 'tz': unknown time zone 'Nowhere'",
        ),
        (
            '[[task]]\nspec = "@daily"\ntype = "t"\n[[task]]\nspec = "@daily"\ntype = "t"\n',
            ":4: task 2: the same entry as task 1",
        ),
        (
            'task = [{ spec = "@daily", type = "t", queue = "" }]\n',
            ": task 1, 'queue': must be a non-empty string",
        ),
    ],
)
def test_each_error_names_where_it_is(tmp_path: Path, text: str, expected: str) -> None:
    assert any(e.startswith(expected) for e in errors_of(tmp_path, text)), expected


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        '[[task]]\nspec = "bad"\ntype = "t"\n'
        '[[task]]\nspec = "@daily"\ntype = "t"\nretry = 3\ntimeout = -1\n'
    )
    assert errors_of(tmp_path, text) == [
        ":2: task 1, 'spec': cron spec 'bad' has 1 fields; expected 5: minute hour "
        "day-of-month month day-of-week (or a descriptor such as @daily)",
        ":7: task 2, 'retry': unknown key (known: spec, type, payload, tz, queue, max_retry, "
        "timeout, deadline, unique, retention, group, task_id, headers)",
        ":8: task 2, 'timeout': timeout must be positive, got -1",
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the schedule file"):
        load_schedule(tmp_path / "missing.toml")
