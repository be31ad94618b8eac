"""``qops demo``: a worker and sample tasks, on a given Redis or on the embedded one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qops import Client, Task
from qops import demo as samples
from qops.cli import demo_cmd
from qops.connection import EmbeddedRedis
from qops.task import validate_queue
from tests.qops_cli import QOPS, qops

DEMO_QUEUES = ["demo:critical", "demo:default", "demo:low"]
# Without the venv's bin directory: qops is not on PATH, so hints give its path.
NO_QOPS_ON_PATH = {"PATH": "/usr/bin:/bin"}


def qops_path() -> str:
    """How the hints spell this qops when it is not on PATH: relative below the current
    directory (as in `.venv/bin/qops`), absolute elsewhere."""
    relative = os.path.relpath(QOPS)
    return QOPS if relative.startswith("..") else relative


def tasks(url: str, queue: str, state: str) -> list[dict[str, object]]:
    listed = qops("task", "ls", "-q", queue, "-s", state, "--json", url=url)
    docs: list[dict[str, object]] = listed.json()
    return docs


def test_demo_queues_are_its_own() -> None:
    assert list(samples.QUEUES) == DEMO_QUEUES
    assert [validate_queue(q) for q in samples.QUEUES] == DEMO_QUEUES
    assert demo_cmd.QUEUE == samples.DEFAULT
    assert {t.queue for t in samples.tasks("run")} <= set(samples.QUEUES)


def test_demo_runs_every_kind_of_task(redis_url: str) -> None:
    result = qops("demo", "--seconds", "6", "--json", url=redis_url)
    assert result.code == 0, result
    doc = result.json()
    assert (doc["enqueued"], doc["refused"], doc["embedded"]) == (32, 1, False)
    assert doc["processed"] >= 20
    assert doc["failed"] >= 2  # the flaky task's first failure and the broken one
    assert [q["queue"] for q in doc["queues"]] == DEMO_QUEUES

    (broken,) = tasks(redis_url, "demo:default", "archived")
    assert broken["type"] == "demo:broken"
    assert "does not exist" in str(broken["last_error"])
    completed = tasks(redis_url, "demo:default", "completed")
    assert {t["type"] for t in completed} >= {"demo:thumbnail"}
    assert any(t["result"] for t in completed)
    assert "demo:email" in {t["type"] for t in tasks(redis_url, "demo:default", "scheduled")}
    # The worker stopped and said so.
    assert qops("server", "ls", "--json", url=redis_url).json() == []


def test_demo_twice_leaves_other_tasks_alone_and_counts_its_own(redis_url: str) -> None:
    planted = 20
    with Client(redis_url) as client:
        mine = client.enqueue("mine:nohandler", {"keep": True}, task_id="mine")
        # Tasks in a demo queue that no demo run enqueued: run, but not counted.
        client.enqueue_many(
            [Task("demo:email", {"n": i}, queue="demo:critical") for i in range(planted)]
        )
    counted = 0
    for _ in range(2):
        result = qops("demo", "--seconds", "3", "--json", url=redis_url)
        assert result.code == 0, result
        doc = result.json()
        assert 1 <= doc["processed"] <= 36, doc  # at most the runs of its own 32 tasks
        counted += doc["processed"]
    left = [t for t in tasks(redis_url, "demo:critical", "pending") if "n" in str(t["payload"])]
    planted_runs = planted - len(left)
    assert planted_runs > 0
    queues = {q["queue"]: q for q in qops("queue", "ls", "--json", url=redis_url).json()}
    runs = sum(queues[q]["processed"] for q in DEMO_QUEUES)
    assert counted <= runs - planted_runs
    # The user's task in queue default was never taken.
    (kept,) = tasks(redis_url, "default", "pending")
    assert (kept["id"], kept["retried"]) == (mine.id, 0)
    default = queues["default"]
    assert (default["size"], default["processed"], default["failed"]) == (1, 0, 0)


def test_summary_off_a_terminal_has_a_table_and_runnable_hints(redis_url: str) -> None:
    result = qops("demo", "--seconds", "1", url=redis_url, env=NO_QOPS_ON_PATH)
    assert result.code == 0, result
    lines = result.lines()
    assert lines[0].startswith("Enqueued 32 sample tasks (1 refused as a duplicate")
    header = next(line for line in lines if line.startswith("QUEUE"))
    assert header.split() == [
        "QUEUE", "PEND", "ACTIVE", "SCHED", "RETRY", "ARCH", "DONE", "AGGR", "RUNS", "FAILS"
    ]  # fmt: skip
    rows = {line.split()[0] for line in lines[lines.index(header) + 1 :] if line.strip()}
    assert set(DEMO_QUEUES) <= rows
    program = qops_path()
    assert f"  {program} queue ls " in result.out
    assert f"  {program} task ls -q demo:default -s archived " in result.out
    on_path = qops("demo", "--seconds", "1", url=redis_url,
                   env={"PATH": f"{Path(QOPS).parent}:/usr/bin:/bin"})  # fmt: skip
    assert "  qops queue ls " in on_path.out


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "data" / "qops" / "redis")
    yield server
    server.stop()


def test_demo_uses_the_embedded_redis_not_the_default_profile(
    embedded: EmbeddedRedis, tmp_path: Path
) -> None:
    assert qops("config", "init", "--redis-url", "redis://127.0.0.1:1/0").code == 0
    result = qops("demo", "--seconds", "1", env=NO_QOPS_ON_PATH)
    assert result.code == 0, result
    assert "using the embedded Redis" in result.err
    assert "Enqueued 32 sample tasks" in result.out
    port = embedded.running_port()
    assert port is not None
    url = f"redis://127.0.0.1:{port}/0"
    # The default profile would win over the embedded Redis: the hints name it.
    assert f"{qops_path()} -u {url} tui " in result.out
    queues = qops("queue", "ls", "--json", url=url).json()
    assert [q["queue"] for q in queues] == DEMO_QUEUES
