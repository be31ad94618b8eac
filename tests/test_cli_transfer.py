"""``qops export`` and ``qops import``: streaming out, re-enqueueing, and what import skips."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from qops import Client, Task
from tests.qops_cli import error_line, qops, redis_state
from tests.redis_server import load_fixture

FIXTURE = Path(__file__).parent / "fixtures" / "asynq-v0.26.0-static.json"
STATES = ("pending", "scheduled", "aggregating")


def seed(url: str) -> None:
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    with Client(url) as client:
        client.enqueue_many(
            [
                Task(
                    "full", {"n": 1, "s": "é"}, task_id="t1", max_retry=3, timeout=90,
                    deadline=deadline, retention=3600, headers={"trace": "abc"},
                ),
                Task("raw-json", b'{"a":  1}', task_id="t2"),
                Task("binary", b"\x00\x01\xff", task_id="t3"),
                Task("text", b"hello world", task_id="t4"),
                Task("later", [1, 2], task_id="t5", process_in=3600),
                Task("grouped", {"g": True}, task_id="t6", group="g"),
                Task("deadline-only", None, task_id="t7", deadline=deadline),
            ]
        )  # fmt: skip


def export_all(url: str, tmp_path: Path, name: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for state in STATES:
        path = tmp_path / f"{name}-{state}.jsonl"
        result = qops("export", "-q", "default", "-s", state, "-o", str(path), url=url)
        assert result.code == 0, result
        assert result.out == ""
        docs += [json.loads(line) for line in path.read_text().splitlines()]
    return sorted(docs, key=lambda d: d["id"])


def test_round_trip_keeps_every_field(redis_url: str, r: redis.Redis, tmp_path: Path) -> None:
    seed(redis_url)
    before = export_all(redis_url, tmp_path, "a")
    assert [d["id"] for d in before] == ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]
    by_id = {d["id"]: d for d in before}
    assert by_id["t2"]["payload"] == {"encoding": "text", "data": '{"a":  1}'}
    assert by_id["t3"]["payload"] == {"encoding": "base64", "data": "AAH/"}
    assert by_id["t1"]["payload"] == {"encoding": "json", "data": {"n": 1, "s": "é"}}

    stdin = "".join(json.dumps(d) + "\n" for d in before)
    assert qops("queue", "rm", "default", "--force", url=redis_url).code == 0
    assert r.keys("asynq:{default}:*") == []
    result = qops("import", "-", url=redis_url, stdin=stdin)
    assert result.code == 0, result
    assert "imported 7 tasks; skipped 0" in result.err

    after = export_all(redis_url, tmp_path, "b")
    for old, new in zip(before, after, strict=True):
        if old["state"] == "pending":  # pending again from the moment of the import
            for field in ("next_process_at", "pending_since"):
                assert datetime.fromisoformat(new.pop(field)) >= datetime.fromisoformat(
                    old.pop(field)
                )
        assert new == old
    t2 = r.hget("asynq:{default}:t:t2", "msg")
    assert t2 is not None
    assert b'{"a":  1}' in t2


def test_import_reports_what_it_skips(redis_url: str, r: redis.Redis, tmp_path: Path) -> None:
    seed(redis_url)
    path = tmp_path / "pending.jsonl"
    assert (
        qops("export", "-q", "default", "-s", "pending", "-o", str(path), url=redis_url).code == 0
    )
    good = [json.loads(line) for line in path.read_text().splitlines()]
    past = {**good[0], "id": "old", "deadline": "2020-01-01T00:00:00Z"}
    bad_payload = {**good[0], "id": "bp", "payload": {"encoding": "rot13", "data": "x"}}
    lines = [json.dumps(d) for d in good] + [
        json.dumps(past),
        "{not json",
        json.dumps(bad_payload),
        json.dumps({"id": "nt"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    before = redis_state(r)

    result = qops("import", str(path), "--json", url=redis_url)
    assert result.code == 1, result
    assert result.json() == {
        "imported": 0,
        "skipped": len(good) + 4,
        "skipped_by_reason": {"deadline passed": 1, "bad line": 3, "id conflict": len(good)},
    }
    n = len(good)
    assert f"skipped {path}:1: id conflict: task id" in result.err
    assert f"skipped {path}:{n + 1}: deadline passed" in result.err
    assert f"skipped {path}:{n + 2}: bad line: invalid JSON" in result.err
    assert f"skipped {path}:{n + 3}: bad line: payload: unknown encoding 'rot13'" in result.err
    assert f"skipped {path}:{n + 4}: bad line: type is required" in result.err
    summary = result.err.splitlines()[-1]
    assert summary == (
        f"imported 0 tasks; skipped {n + 4} (bad line: 3, deadline passed: 1, id conflict: {n})"
    )
    assert redis_state(r) == before

    fresh = qops("import", str(path), "--new-ids", "--queue", "replay", url=redis_url)
    assert fresh.code == 1  # the four bad lines are still bad
    assert f"imported {n} tasks" in fresh.err
    docs = qops("task", "ls", "-q", "replay", "-s", "pending", "--json", url=redis_url).json()
    assert len(docs) == n
    assert {d["type"] for d in docs} == {d["type"] for d in good}
    assert not {d["id"] for d in docs} & {d["id"] for d in good}


def test_replay_archived_tasks_from_go_asynq(redis_url: str, r: redis.Redis) -> None:
    load_fixture(r, FIXTURE)
    exported = qops("export", "-q", "default", "-s", "archived", url=redis_url)
    assert exported.code == 0
    doc = json.loads(exported.out)
    assert doc["state"] == "archived"
    assert doc["last_error"]
    assert (
        qops("task", "delete-all", "-q", "default", "-s", "archived", "--yes", url=redis_url).code
        == 0
    )
    result = qops("import", "-", url=redis_url, stdin=exported.out)
    assert result.code == 0, result
    task = qops("task", "show", doc["id"], "-q", "default", "--json", url=redis_url).json()
    assert task["state"] == "pending"
    assert (task["type"], task["payload"], task["max_retry"]) == (
        doc["type"],
        doc["payload"],
        doc["max_retry"],
    )
    assert task["retried"] == 0


def test_export_csv_and_stdout(redis_url: str) -> None:
    seed(redis_url)
    result = qops("export", "-q", "default", "-s", "pending", "--format", "csv", url=redis_url)
    assert result.code == 0
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [row["id"] for row in rows] == ["t1", "t2", "t3", "t4", "t7"]
    assert rows[0]["payload"] == '{"n":1,"s":"é"}'
    assert rows[0]["headers"] == '{"trace":"abc"}'
    assert rows[2]["payload"] == "base64:AAH/"
    assert "exported 5 pending tasks from queue 'default'" in result.err
    empty = qops("export", "-q", "default", "-s", "retry", url=redis_url)
    assert (empty.code, empty.out) == (0, "")


def test_export_errors(redis_url: str, tmp_path: Path) -> None:
    seed(redis_url)
    missing = qops("export", "-q", "nope", "-s", "pending", url=redis_url)
    assert missing.code == 3
    assert error_line(missing) == "qops: error: queue 'nope' not found"
    bad_state = qops("export", "-q", "default", "-s", "done", url=redis_url)
    assert bad_state.code == 2
    target = tmp_path / "no" / "dir" / "x.jsonl"
    unwritable = qops("export", "-q", "default", "-s", "pending", "-o", str(target), url=redis_url)
    assert unwritable.code == 2
    assert f"-o {target}: cannot write" in error_line(unwritable)
    down = qops("export", "-q", "default", "-s", "pending", "-u", "redis://:pw@127.0.0.1:1/0")
    assert down.code == 4
    assert "redis://:***@127.0.0.1:1/0" in error_line(down)


def test_import_input_errors(redis_url: str, r: redis.Redis) -> None:
    missing = qops("import", "/no/such.jsonl", url=redis_url)
    assert missing.code == 2
    assert error_line(missing) == "qops: error: input file /no/such.jsonl: no such file"
    assert r.dbsize() == 0


def test_import_refuses_a_csv_export_in_one_line(
    redis_url: str, r: redis.Redis, tmp_path: Path
) -> None:
    seed(redis_url)
    path = tmp_path / "pending.csv"
    exported = qops(
        "export", "-q", "default", "-s", "pending", "-f", "csv", "-o", str(path), url=redis_url
    )
    assert exported.code == 0
    assert len(path.read_text().splitlines()) == 6
    before = redis_state(r)
    for args, stdin in (([str(path)], None), (["-", "--new-ids"], path.read_text())):
        result = qops("import", *args, url=redis_url, stdin=stdin)
        assert result.code == 2, result
        assert result.err.count("\n") == 1, result.err
        line = error_line(result)
        assert "looks like CSV; only JSON Lines exports can be imported" in line
        assert redis_state(r) == before
    array = qops("import", "-", url=redis_url, stdin='[{"type": "t"}]\n')
    assert array.code == 2
    assert "line 1 is not a JSON object; only JSON Lines exports can be imported" in error_line(
        array
    )
    assert redis_state(r) == before


def test_counts_are_singular(redis_url: str) -> None:
    with Client(redis_url) as client:
        client.enqueue("one", task_id="only")
    exported = qops("export", "-q", "default", "-s", "pending", url=redis_url)
    assert "exported 1 pending task from queue 'default'" in exported.err
    qops("task", "delete", "only", "-q", "default", url=redis_url)
    imported = qops("import", "-", url=redis_url, stdin=exported.out)
    assert imported.err.strip() == "imported 1 task; skipped 0"
