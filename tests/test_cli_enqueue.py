"""``qops enqueue``: one task from flags, many from ``--batch``, and every kind of bad input."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from qops.storage import keys, wire
from tests.qops_cli import error_line, qops, redis_state


def stored(r: redis.Redis, task_id: str, queue: str = "default") -> Any:
    data = r.hget(keys.task(queue, task_id), "msg")
    assert data is not None, f"task {task_id} is not in Redis"
    return wire.decode_task(data, task_id)


def test_prints_the_id_of_a_pending_task(redis_url: str, r: redis.Redis) -> None:
    result = qops("enqueue", "email:send", "--payload", '{"to": "ada@example.com"}', url=redis_url)
    assert result.code == 0, result
    assert result.err == ""
    task_id = result.out.strip()
    msg = stored(r, task_id)
    assert msg.type == "email:send"
    assert msg.payload == b'{"to":"ada@example.com"}'
    assert msg.retry == 25
    assert r.lrange("asynq:{default}:pending", 0, -1) == [task_id.encode()]


def test_json_shows_every_option(redis_url: str, r: redis.Redis) -> None:
    deadline = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    result = qops(
        "enqueue", "report", "-p", "[1, 2]", "-q", "critical", "--in", "1h30m",
        "--max-retry", "3", "--timeout", "2m", "--deadline", deadline.isoformat(),
        "--unique", "1d", "--id", "rep-1", "--retention", "5m", "--header", "trace=abc",
        "--json", url=redis_url,
    )  # fmt: skip
    assert result.code == 0, result
    doc = result.json()
    assert doc["id"] == "rep-1"
    assert doc["queue"] == "critical"
    assert doc["state"] == "scheduled"
    assert doc["payload"] == {"encoding": "json", "data": [1, 2]}
    assert doc["max_retry"] == 3
    assert doc["timeout"] == 120
    assert doc["deadline"] == deadline.isoformat().replace("+00:00", "Z")
    assert doc["retention"] == 300
    assert doc["headers"] == {"trace": "abc"}
    assert doc["unique_key"].startswith("asynq:{critical}:unique:report:")
    runs = datetime.fromisoformat(doc["next_process_at"])
    assert abs((runs - datetime.now(UTC)).total_seconds() - 5400) < 30
    msg = stored(r, "rep-1", "critical")
    assert (msg.timeout, msg.deadline, msg.retention) == (120, int(deadline.timestamp()), 300)
    assert r.zscore("asynq:{critical}:scheduled", "rep-1") == pytest.approx(runs.timestamp(), abs=1)
    assert 86400 <= r.ttl(doc["unique_key"]) <= 86400 + 5400 + 5


def test_at_group_and_options_after_or_before_the_command(redis_url: str, r: redis.Redis) -> None:
    at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = qops("--json", "enqueue", "a", "--at", at, "--redis-url", redis_url)
    assert result.code == 0, result
    assert result.json()["next_process_at"] == at
    grouped = qops("enqueue", "--group", "g1", "b", "--json", url=redis_url).json()
    assert grouped["state"] == "aggregating"
    assert r.zcard("asynq:{default}:g:g1") == 1


def test_payload_from_file_and_stdin(redis_url: str, r: redis.Redis, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{\n  "n": 1\n}\n')
    from_file = qops("enqueue", "t", "--payload", f"@{path}", url=redis_url)
    assert stored(r, from_file.out.strip()).payload == b'{"n":1}'
    from_stdin = qops("enqueue", "t", "-p", "-", url=redis_url, stdin='"hello"')
    assert stored(r, from_stdin.out.strip()).payload == b'"hello"'
    plain = qops("enqueue", "t", url=redis_url)
    assert stored(r, plain.out.strip()).payload == b""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "@/no/such.json"], "--payload @/no/such.json: no such file"),
        (["-p", "{'a': 1}"], "--payload: invalid JSON at line 1 column 2"),
        (["-p", "-"], "--payload (stdin): invalid JSON at line 1 column 1"),
        (["--in", "5 minutes"], "--in: '5 minutes' is not a duration"),
        (["--timeout", "-3s"], "--timeout: '-3s' is not a duration"),
        (["--unique", "0.5"], "unique must be at least 1 second"),
        (["--at", "2020-01-01T00:00:00Z"], "--at: 2020-01-01T00:00:00Z is in the past"),
        (["--at", "2030-01-01T00:00:00"], "--at: '2030-01-01T00:00:00' has no timezone"),
        (["--at", "tomorrow"], "--at: 'tomorrow' is not an ISO 8601 time"),
        (["--deadline", "2020-01-01T00:00:00Z"], "--deadline: 2020-01-01T00:00:00Z is in the past"),
        (["--in", "5m", "--at", "2030-01-01T00:00:00Z"], "give --in or --at, not both"),
        (["-q", "bad queue"], "invalid queue name 'bad queue'"),
        (["--header", "novalue"], "--header 'novalue': expected KEY=VALUE"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    redis_url: str, r: redis.Redis, args: list[str], message: str
) -> None:
    qops("enqueue", "seed", url=redis_url)
    before = redis_state(r)
    result = qops("enqueue", "t", *args, url=redis_url, stdin="not json")
    assert result.code == 2, result
    assert message in error_line(result)
    assert result.out == ""
    assert "Traceback" not in result.err
    assert redis_state(r) == before


def test_usage_errors_exit_2(redis_url: str, r: redis.Redis) -> None:
    for args, message in [
        (["--bogus"], "no such option"),
        (["--max-retry", "-1"], "--max-retry"),
        ([], "give a task TYPE, or --batch FILE"),
    ]:
        result = qops("enqueue", *args, url=redis_url)
        assert result.code == 2, result
        assert message in result.err
    assert r.dbsize() == 0


def test_refusals_exit_1(redis_url: str, r: redis.Redis) -> None:
    assert qops("enqueue", "t", "--id", "x", url=redis_url).code == 0
    conflict = qops("enqueue", "t", "--id", "x", url=redis_url)
    assert conflict.code == 1
    assert "task id 'x' is already used in queue 'default'" in error_line(conflict)
    assert qops("enqueue", "u", "--unique", "1m", url=redis_url).code == 0
    duplicate = qops("enqueue", "u", "--unique", "1m", url=redis_url)
    assert duplicate.code == 1
    assert "duplicate task" in error_line(duplicate)
    assert r.llen("asynq:{default}:pending") == 2


def test_unreachable_redis_exits_4_with_the_password_masked(tmp_path: Path) -> None:
    result = qops("enqueue", "t", "--redis-url", "redis://user:hunter2@127.0.0.1:1/0")
    assert result.code == 4, result
    line = error_line(result)
    assert "cannot connect to Redis at redis://user:***@127.0.0.1:1/0" in line
    assert "hunter2" not in result.err


# -- batch --------------------------------------------------------------------------------


def test_batch_enqueues_good_lines_and_reports_bad_ones(
    redis_url: str, r: redis.Redis, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"type": "a", "payload": {"n": 1}}),
        "not json",
        json.dumps({"type": "b", "timeout": "5q"}),
        "",
        json.dumps({"type": "c", "id": "fixed", "queue": "other", "in": 60}),
        json.dumps({"type": "c", "id": "fixed", "queue": "other"}),
        "[1]",
        json.dumps({"payload": 1}),
        json.dumps({"type": "d", "bogus": 1}),
        json.dumps({"type": "e", "at": "2020-01-01T00:00:00Z"}),
        json.dumps({"type": "f", "max_retry": 2, "retention": "1h", "group": "g"}),
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = qops("enqueue", "--batch", str(path), "-q", "bq", url=redis_url)
    assert result.code == 1, result
    ids = result.lines()
    assert len(ids) == 3
    assert "fixed" in ids
    errors = {ln.split(": ")[2].rsplit(":", 1)[1]: ln for ln in result.err.splitlines()[:-1]}
    assert sorted(errors, key=int) == ["2", "3", "6", "7", "8", "9", "10"]
    assert "invalid JSON" in errors["2"]
    assert "timeout: '5q' is not a duration" in errors["3"]
    assert "task id 'fixed' is already used in queue 'other'" in errors["6"]
    assert "a line must be a JSON object" in errors["7"]
    assert "type is required" in errors["8"]
    assert "unknown field 'bogus'" in errors["9"]
    assert "at: 2020-01-01T00:00:00Z is in the past" in errors["10"]
    assert result.err.splitlines()[-1] == "enqueued 3 tasks; 7 lines failed"
    assert r.llen("asynq:{bq}:pending") == 1  # "a"; "f" is in its group
    assert r.zcard("asynq:{other}:scheduled") == 1
    f = stored(r, ids[-1], "bq")
    assert (f.type, f.retry, f.retention, f.group_key) == ("f", 2, 3600, "g")


def test_batch_from_stdin_in_chunks_with_json_lines(redis_url: str, r: redis.Redis) -> None:
    n = 2500
    lines = "".join(json.dumps({"type": "bulk", "payload": i}) + "\n" for i in range(n))
    result = qops("enqueue", "--batch", "-", "--json", url=redis_url, stdin=lines)
    assert result.code == 0, result
    docs = [json.loads(ln) for ln in result.lines()]
    assert len(docs) == n
    assert {d["state"] for d in docs} == {"pending"}
    assert r.llen("asynq:{default}:pending") == n
    assert result.err.strip() == f"enqueued {n} tasks; 0 lines failed"


def test_batch_input_errors_exit_2(redis_url: str, r: redis.Redis) -> None:
    missing = qops("enqueue", "--batch", "/no/such.jsonl", url=redis_url)
    assert missing.code == 2
    assert "--batch /no/such.jsonl: no such file" in error_line(missing)
    both = qops("enqueue", "t", "--batch", "-", "--id", "x", url=redis_url, stdin="")
    assert both.code == 2
    assert "--batch reads tasks from lines; drop TYPE, --id" in error_line(both)
    assert r.dbsize() == 0


def test_counts_are_singular_or_plural(redis_url: str) -> None:
    one = qops("enqueue", "--batch", "-", url=redis_url, stdin='{"type": "a"}\n[1]\n')
    assert one.err.splitlines()[-1] == "enqueued 1 task; 1 line failed"


def test_an_empty_type_is_named_as_the_argument(redis_url: str, r: redis.Redis) -> None:
    result = qops("enqueue", "", url=redis_url)
    assert result.code == 2
    assert error_line(result) == "qops: error: TYPE: expected a non-empty string, got ''"
    assert r.dbsize() == 0


def test_an_empty_batch_is_fine(redis_url: str) -> None:
    result = qops("enqueue", "--batch", "-", url=redis_url, stdin="\n\n")
    assert result.code == 0
    assert result.out == ""


def test_in_is_a_relative_delay(redis_url: str, r: redis.Redis) -> None:
    before = time.time()
    task_id = qops("enqueue", "t", "--in", "10s", url=redis_url).out.strip()
    score = r.zscore("asynq:{default}:scheduled", task_id)
    assert score is not None
    assert before + 9 <= score <= time.time() + 11
