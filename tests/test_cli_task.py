"""``qops task``: listing, showing, single and bulk actions, and their confirmations."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest
import redis

from qops import Client
from tests.qops_cli import QOPS, error_line, on_terminal, qops, redis_state
from tests.redis_server import load_fixture

FIXTURE = Path(__file__).parent / "fixtures" / "asynq-v0.26.0-static.json"
RETRY_ID = "b562ce78-aa18-488f-8f07-de9410b1da93"
ARCHIVED_ID = "f0e2ff29-550b-4564-8d4b-586c6c3fb8c3"
COMPLETED_ID = "2ddaaccf-3dbb-4ef5-8395-49bceccbcd58"


@pytest.fixture
def fixture_url(redis_url: str, r: redis.Redis) -> str:
    load_fixture(r, FIXTURE)
    return redis_url


def ids(url: str, queue: str, state: str, *extra: str) -> list[str]:
    docs = qops("task", "ls", "-q", queue, "-s", state, "--json", *extra, url=url).json()
    return [d["id"] for d in docs]


def test_ls_every_state_of_the_fixture(fixture_url: str) -> None:
    retry = qops("task", "ls", "-q", "default", "-s", "retry", "--json", url=fixture_url).json()
    assert [t["id"] for t in retry] == [RETRY_ID]
    assert retry[0]["last_error"] == "task type 'fail' always fails"
    assert retry[0]["retried"] == 1
    assert ids(fixture_url, "default", "archived") == [ARCHIVED_ID]
    assert ids(fixture_url, "default", "completed") == [COMPLETED_ID]
    assert len(ids(fixture_url, "default", "pending")) == 6
    assert len(ids(fixture_url, "default", "scheduled")) == 2
    assert len(ids(fixture_url, "default", "aggregating")) == 2

    plain = qops("task", "ls", "-q", "default", "-s", "retry", url=fixture_url)
    row = plain.out.rstrip("\n").split("\t")
    assert row[0] == RETRY_ID
    assert row[1] == "fail"
    assert "task type 'fail' always fails" in row
    assert row[-1] == '{"fixture":"retry"}'


def test_ls_filters_and_pages(redis_url: str) -> None:
    for i in range(5):
        qops("enqueue", "a", "-p", str(i), "--id", f"a{i}", url=redis_url)
    qops("enqueue", "b", "--id", "b0", url=redis_url)
    assert ids(redis_url, "default", "pending", "--type", "b") == ["b0"]
    first = ids(redis_url, "default", "pending", "--limit", "4")
    second = ids(redis_url, "default", "pending", "--limit", "4", "--page", "2")
    assert len(first) == 4
    assert len(second) == 2
    assert sorted(first + second) == ["a0", "a1", "a2", "a3", "a4", "b0"]
    empty = qops("task", "ls", "-q", "default", "-s", "pending", "--page", "9", url=redis_url)
    assert (empty.code, empty.out) == (0, "")
    assert "no pending tasks in queue 'default' on page 9" in empty.err


def test_ls_bad_state_and_unknown_queue(fixture_url: str, r: redis.Redis) -> None:
    before = redis_state(r)
    bad = qops("task", "ls", "-q", "default", "-s", "failed", url=fixture_url)
    assert bad.code == 2
    assert "'failed' is not one of" in bad.err
    missing = qops("task", "ls", "-q", "nope", "-s", "pending", url=fixture_url)
    assert missing.code == 3
    assert error_line(missing) == "qops: error: queue 'nope' not found"
    assert redis_state(r) == before


def test_show(fixture_url: str) -> None:
    doc = qops("task", "show", RETRY_ID, "-q", "default", "--json", url=fixture_url).json()
    assert doc["id"] == RETRY_ID
    assert doc["state"] == "retry"
    assert doc["payload"] == {"encoding": "json", "data": {"fixture": "retry"}}
    assert doc["max_retry"] == 3
    plain = qops("task", "inspect", RETRY_ID, "-q", "default", url=fixture_url)
    assert plain.code == 0
    fields = dict(line.split("\t", 1) for line in plain.lines())
    assert fields["state"] == "retry"
    assert (fields["retried"], fields["max retry"]) == ("1", "3")
    assert fields["timeout"] == str(doc["timeout"])  # seconds, not "30m"
    assert fields["deadline"] == ""  # unset: empty, as in plain listings
    assert fields["last error"] == "task type 'fail' always fails"
    assert fields["payload"] == '{"fixture":"retry"}'
    assert fields["next run"].startswith("20")

    missing = qops("task", "show", "nope", "-q", "default", url=fixture_url)
    assert missing.code == 3
    assert error_line(missing) == "qops: error: task 'nope' not found in queue 'default'"
    assert qops("task", "show", RETRY_ID, "-q", "nope", url=fixture_url).code == 3


def test_show_binary_payload(redis_url: str) -> None:
    with Client(redis_url) as client:
        client.enqueue("bin", b"\x00\xff\x10", task_id="b")
    plain = qops("task", "show", "b", "-q", "default", url=redis_url)
    fields = dict(line.split("\t", 1) for line in plain.lines())
    assert fields["payload"] == "base64:AP8Q"  # as `task ls` prints it when piped
    doc = qops("task", "show", "b", "-q", "default", "--json", url=redis_url).json()
    assert doc["payload"] == {"encoding": "base64", "data": "AP8Q"}


def test_run_archive_delete(fixture_url: str) -> None:
    result = qops("task", "run", RETRY_ID, "-q", "default", url=fixture_url)
    assert result.code == 0, result
    assert f"task {RETRY_ID} is pending" in result.err
    assert RETRY_ID in ids(fixture_url, "default", "pending")

    assert qops("task", "archive", RETRY_ID, "-q", "default", url=fixture_url).code == 0
    assert set(ids(fixture_url, "default", "archived")) == {RETRY_ID, ARCHIVED_ID}

    partly = qops("task", "delete", "nope", ARCHIVED_ID, "-q", "default", url=fixture_url)
    assert partly.code == 3
    assert "task 'nope' not found" in error_line(partly)
    assert ids(fixture_url, "default", "archived") == [RETRY_ID]


def test_cancel_publishes_on_asynqs_channel(redis_url: str, r: redis.Redis) -> None:
    pubsub = r.pubsub()
    pubsub.subscribe("asynq:cancel")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    result = qops("task", "cancel", "t1", "t2", url=redis_url)
    assert result.code == 0, result
    got = [pubsub.get_message(timeout=2) for _ in range(2)]
    assert [m["data"] for m in got if m] == [b"t1", b"t2"]
    unknown = qops("task", "cancel", "t3", "-q", "default", url=redis_url)
    assert unknown.code == 3
    assert pubsub.get_message(timeout=0.2) is None
    pubsub.close()


# -- bulk ---------------------------------------------------------------------------------


def test_bulk_off_a_terminal_needs_yes(fixture_url: str, r: redis.Redis) -> None:
    before = redis_state(r)
    for verb in ("run-all", "archive-all", "delete-all"):
        result = qops("task", verb, "-q", "default", "-s", "scheduled", url=fixture_url)
        assert result.code == 5, result
        assert "2 scheduled tasks in queue 'default'" in error_line(result)
        assert "pass --yes" in error_line(result)
    assert redis_state(r) == before


def test_bulk_dry_run_changes_nothing(fixture_url: str, r: redis.Redis) -> None:
    before = redis_state(r)
    result = qops(
        "task", "delete-all", "-q", "default", "-s", "pending", "--dry-run", url=fixture_url
    )
    assert result.code == 0
    assert result.out.strip() == "6"
    assert "would delete: 6 pending tasks" in result.err
    one = qops("task", "delete-all", "-q", "default", "-s", "retry", "--dry-run", url=fixture_url)
    assert "would delete: 1 retry task in queue 'default'" in one.err
    doc = qops(
        "task", "run-all", "-q", "default", "-s", "aggregating", "-g", "g1", "--dry-run", "--json",
        url=fixture_url,
    ).json()  # fmt: skip
    assert doc["dry_run"] is True
    assert redis_state(r) == before
    missing = qops("task", "run-all", "-q", "nope", "-s", "retry", "--yes", url=fixture_url)
    assert missing.code == 3
    assert redis_state(r) == before


def test_bulk_with_yes(fixture_url: str) -> None:
    result = qops(
        "task", "archive-all", "-q", "default", "-s", "scheduled", "--yes", url=fixture_url
    )
    assert result.code == 0, result
    assert result.out.strip() == "2"
    assert len(ids(fixture_url, "default", "archived")) == 3
    doc = qops(
        "task", "run-all", "-q", "default", "-s", "archived", "-y", "--json", url=fixture_url
    ).json()
    assert doc == {
        "queue": "default",
        "state": "archived",
        "action": "run",
        "dry_run": False,
        "count": 3,
    }
    assert ids(fixture_url, "default", "archived") == []
    typed = qops(
        "task", "delete-all", "-q", "default", "-s", "pending", "--type", "noop", "--yes",
        url=fixture_url,
    )  # fmt: skip
    assert typed.code == 0, typed
    assert int(typed.out) > 0
    remaining = qops("task", "ls", "-q", "default", "-s", "pending", "--json", url=fixture_url)
    assert remaining.json()
    assert "noop" not in {t["type"] for t in remaining.json()}


def run_on_terminal(args: list[str], answer: str, url: str) -> subprocess.CompletedProcess[str]:
    """Run qops with a pseudo-terminal as stdin, typing ``answer`` at the prompt."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [QOPS, *args],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "QOPS_REDIS_URL": url},
        )
        os.write(master, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=30)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)
    finally:
        os.close(master)
        os.close(slave)


def test_bulk_on_a_terminal_asks(fixture_url: str, r: redis.Redis) -> None:
    args = ["task", "delete-all", "-q", "default", "-s", "scheduled"]
    before = redis_state(r)
    declined = run_on_terminal(args, "n", fixture_url)
    assert declined.returncode == 1, declined
    assert "Delete 2 scheduled tasks in queue 'default'?" in declined.stderr
    assert "cancelled; nothing changed" in declined.stderr
    assert redis_state(r) == before
    accepted = run_on_terminal(args, "y", fixture_url)
    assert accepted.returncode == 0, accepted
    assert accepted.stdout.strip() == "2"
    assert ids(fixture_url, "default", "scheduled") == []


def test_tables_on_a_narrow_terminal_keep_ids_whole(fixture_url: str) -> None:
    out = on_terminal(["task", "ls", "-q", "default", "-s", "retry"], fixture_url, 80)
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].split() == ["ID", "TYPE", "NEXT", "RETRY", "RETRIED", "LAST", "ERROR"]
    assert lines[1].startswith(f"{RETRY_ID}  fail  ")
    assert " ago " in lines[1]
    assert all(len(line) <= 80 for line in lines)
    wide = on_terminal(["task", "ls", "-q", "default", "-s", "retry"], fixture_url, 160)
    assert "task type 'fail' always fails" in wide
    assert '{"fixture":"retry"}' in wide
