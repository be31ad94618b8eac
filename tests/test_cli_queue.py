"""``qops queue``: ls, inspect, history, pause, unpause, rm."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis

from tests.qops_cli import error_line, on_terminal, qops, redis_state
from tests.redis_server import load_fixture

FIXTURE = Path(__file__).parent / "fixtures" / "asynq-v0.26.0-static.json"


def test_ls_json_plain_and_empty(redis_url: str, r: redis.Redis) -> None:
    empty = qops("queue", "ls", url=redis_url)
    assert (empty.code, empty.out) == (0, "")
    assert "no queues" in empty.err
    assert qops("queue", "ls", "--json", url=redis_url).json() == []

    load_fixture(r, FIXTURE)
    docs = qops("queue", "ls", "--json", url=redis_url).json()
    assert [d["queue"] for d in docs] == ["critical", "default", "paused"]
    default = docs[1]
    assert {k: default[k] for k in ("size", "pending", "scheduled", "retry", "archived")} == {
        "size": 13,
        "pending": 6,
        "scheduled": 2,
        "retry": 1,
        "archived": 1,
    }
    assert docs[2]["paused"] is True
    assert {"processed", "failed", "error_rate", "latency", "memory_usage", "timestamp"} <= set(
        default
    )

    plain = qops("queue", "ls", url=redis_url)
    assert plain.code == 0
    rows = [line.split("\t") for line in plain.lines()]
    assert [row[:3] for row in rows] == [
        ["critical", "running", "1"],
        ["default", "running", "13"],
        ["paused", "paused", "1"],
    ]
    assert "\x1b[" not in plain.out
    assert len({len(row) for row in rows}) == 1

    jsonl = qops("queue", "ls", "-o", "jsonl", url=redis_url)
    assert len(jsonl.lines()) == 3
    csv_out = qops("queue", "ls", "-o", "csv", url=redis_url)
    assert csv_out.lines()[0].startswith("queue,size,pending,")
    assert len(csv_out.lines()) == 4


def test_inspect_and_unknown_queue(redis_url: str, r: redis.Redis) -> None:
    load_fixture(r, FIXTURE)
    docs = qops("queue", "inspect", "default", "critical", "--json", url=redis_url).json()
    assert [d["queue"] for d in docs] == ["critical", "default"]
    plain = qops("queue", "inspect", "default", url=redis_url)
    assert "size\t13" in plain.lines()
    assert "pending\t6" in plain.lines()

    missing = qops("queue", "inspect", "default", "nope", url=redis_url)
    assert missing.code == 3
    assert error_line(missing) == "qops: error: queue 'nope' not found"
    assert missing.out == ""


def inspected(url: str, queue: str) -> dict[str, str]:
    """The key/value lines of a piped ``queue inspect``."""
    lines = qops("queue", "inspect", queue, url=url).lines()
    return dict(line.split("\t", 1) for line in lines)


def test_piped_inspect_prints_raw_values_as_ls_does(redis_url: str, r: redis.Redis) -> None:
    load_fixture(r, FIXTURE)
    doc = qops("queue", "inspect", "default", "--json", url=redis_url).json()[0]
    fields = inspected(redis_url, "default")
    # Seconds, bytes and a ratio, as `queue ls` prints them: not "2h8m", "6.2 KiB", "50.0%".
    assert float(fields["latency"]) == pytest.approx(doc["latency"], abs=5)
    assert fields["memory"] == str(doc["memory_usage"])
    assert fields["error rate today"] == "0.5000" == f"{doc['error_rate']:.4f}"
    row = qops("queue", "ls", url=redis_url).lines()[0].split("\t")
    critical = inspected(redis_url, "critical")
    assert row[0] == "critical"
    assert (row[-3], row[-1]) == (critical["error rate today"], critical["memory"])
    assert float(row[-2]) == pytest.approx(float(critical["latency"]), abs=5)
    # The same state words everywhere.
    assert fields["state"] == "running"
    assert qops("queue", "pause", "default", url=redis_url).code == 0
    assert inspected(redis_url, "default")["state"] == "paused"
    states = dict(line.split("\t")[:2] for line in qops("queue", "ls", url=redis_url).lines())
    assert states == {"critical": "running", "default": "paused", "paused": "paused"}


def test_an_empty_queue_has_no_latency(redis_url: str) -> None:
    qops("enqueue", "t", "-q", "later", "--in", "1h", url=redis_url)
    assert inspected(redis_url, "later")["latency"] == "0.000"
    shown = on_terminal(["queue", "inspect", "later"], redis_url, 100)
    assert re.search(r"^latency +- *$", shown, re.MULTILINE), shown


@pytest.mark.parametrize("command", [["queue", "ls"], ["stats"]])
def test_tables_never_cut_a_cell_from_80_to_200_columns(
    redis_url: str, r: redis.Redis, command: list[str]
) -> None:
    load_fixture(r, FIXTURE)
    wide = ("COMPLETED", "AGGR", "PROCESSED", "FAILED", "ERR%", "LATENCY", "MEMORY")
    shown = {}
    for columns in (80, 100, 119, 120, 124, 127, 128, 129, 131, 135, 150, 200):
        out = on_terminal(command, redis_url, columns)
        assert "…" not in out, f"a cell is cut at {columns} columns:\n{out}"
        lines = out.splitlines()
        assert all(len(line) <= columns for line in lines), f"too wide at {columns}:\n{out}"
        header = next(line.split() for line in lines if line.startswith("QUEUE"))
        shown[columns] = [h for h in wide if h in header]
        assert shown[columns] in ([], list(wide)), header  # all wide columns, or none
    assert shown[80] == [] and shown[200] == list(wide)


def test_history(redis_url: str, r: redis.Redis) -> None:
    qops("enqueue", "t", url=redis_url)
    docs = qops("queue", "history", "default", "--days", "3", "--json", url=redis_url).json()
    assert len(docs) == 3
    assert [d["queue"] for d in docs] == ["default"] * 3
    assert docs[0]["date"] > docs[1]["date"] > docs[2]["date"]
    assert {"processed", "failed"} <= set(docs[0])
    assert qops("queue", "history", "nope", url=redis_url).code == 3
    bad = qops("queue", "history", "default", "--days", "0", url=redis_url)
    assert bad.code == 2


def test_pause_unpause(redis_url: str, r: redis.Redis) -> None:
    qops("enqueue", "t", "-q", "a", url=redis_url)
    qops("enqueue", "t", "-q", "b", url=redis_url)
    result = qops("queue", "pause", "a", "b", url=redis_url)
    assert result.code == 0, result
    assert result.out == ""
    assert "paused queue 'a'" in result.err
    assert [d["paused"] for d in qops("queue", "ls", "--json", url=redis_url).json()] == [
        True,
        True,
    ]
    again = qops("queue", "pause", "a", url=redis_url)
    assert again.code == 1
    assert "a" in error_line(again)

    partly = qops("queue", "unpause", "nope", "a", url=redis_url)
    assert partly.code == 3  # the first failure's code, after trying every name
    assert "unpaused queue 'a'" in partly.err
    assert [d["paused"] for d in qops("queue", "ls", "--json", url=redis_url).json()] == [
        False,
        True,
    ]
    assert qops("queue", "resume", "b", url=redis_url).code == 0
    assert not any(d["paused"] for d in qops("queue", "ls", "--json", url=redis_url).json())


def test_rm_needs_force_for_a_queue_with_tasks(redis_url: str, r: redis.Redis) -> None:
    qops("enqueue", "t", "-q", "full", url=redis_url)
    before = redis_state(r)
    refused = qops("queue", "rm", "full", url=redis_url)
    assert refused.code == 1
    assert "queue 'full' cannot be deleted" in error_line(refused)
    assert redis_state(r) == before
    assert qops("queue", "rm", "nope", url=redis_url).code == 3
    assert qops("queue", "rm", "full", "--force", url=redis_url).code == 0
    assert qops("queue", "ls", "--json", url=redis_url).json() == []
    assert r.keys("asynq:{full}:*") == []
