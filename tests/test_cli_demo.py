"""``qops demo``: a worker and sample tasks, on a given Redis or on the embedded one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qops.connection import EmbeddedRedis
from tests.qops_cli import qops


def test_demo_runs_every_kind_of_task(redis_url: str) -> None:
    result = qops("demo", "--seconds", "6", "--json", url=redis_url)
    assert result.code == 0, result
    doc = result.json()
    assert (doc["enqueued"], doc["refused"], doc["embedded"]) == (32, 1, False)
    assert doc["processed"] >= 20
    assert doc["failed"] >= 2  # the flaky task's first failure and the broken one

    def tasks(queue: str, state: str) -> list[dict[str, object]]:
        listed = qops("task", "ls", "-q", queue, "-s", state, "--json", url=redis_url)
        docs: list[dict[str, object]] = listed.json()
        return docs

    (broken,) = tasks("default", "archived")
    assert broken["type"] == "demo:broken"
    assert "does not exist" in str(broken["last_error"])
    completed = tasks("default", "completed")
    assert {t["type"] for t in completed} >= {"demo:thumbnail"}
    assert any(t["result"] for t in completed)
    assert "demo:email" in {t["type"] for t in tasks("default", "scheduled")}
    # The worker stopped and said so.
    assert qops("server", "ls", "--json", url=redis_url).json() == []


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "data" / "qops" / "redis")
    yield server
    server.stop()


def test_demo_uses_the_embedded_redis_not_the_default_profile(
    embedded: EmbeddedRedis, tmp_path: Path
) -> None:
    assert qops("config", "init", "--redis-url", "redis://127.0.0.1:1/0").code == 0
    result = qops("demo", "--seconds", "1")
    assert result.code == 0, result
    assert "using the embedded Redis" in result.err
    assert "Enqueued 32 sample tasks" in result.out
    assert "qops tui" in result.out
    port = embedded.running_port()
    assert port is not None
    queues = qops("queue", "ls", "--json", url=f"redis://127.0.0.1:{port}/0").json()
    assert [q["queue"] for q in queues] == ["critical", "default"]
