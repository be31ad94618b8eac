"""``qops stats`` and ``qops server ls``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from qops import Client, Handlers, Task, Worker
from tests.helpers import wait_for
from tests.qops_cli import qops
from tests.redis_server import load_fixture

FIXTURE = Path(__file__).parent / "fixtures" / "asynq-v0.26.0-static.json"


def test_stats_json(redis_url: str, r: redis.Redis) -> None:
    load_fixture(r, FIXTURE)
    result = qops("stats", "--json", url=redis_url)
    assert result.code == 0, result
    doc = result.json()
    assert doc["states"] == {
        "active": 0,
        "pending": 8,
        "aggregating": 2,
        "scheduled": 2,
        "retry": 1,
        "archived": 1,
        "completed": 1,
    }
    assert doc["total"] == 15
    assert [q["queue"] for q in doc["queues"]] == ["critical", "default", "paused"]
    assert set(doc["today"]) == {"processed", "failed", "error_rate"}
    assert doc["redis"]["redis_version"] == r.info()["redis_version"]
    assert int(doc["redis"]["used_memory"]) > 0


def test_stats_plain_and_empty(redis_url: str) -> None:
    empty = qops("stats", url=redis_url)
    assert empty.code == 0
    fields = dict(line.split("\t", 1) for line in empty.lines())
    assert fields["total"] == "0"
    assert fields["states.pending"] == "0"
    assert "redis.redis_version" in fields
    qops("enqueue", "t", "-q", "a", url=redis_url)
    fields = dict(line.split("\t", 1) for line in qops("stats", url=redis_url).lines())
    assert fields["queues.0.queue"] == "a"
    assert fields["states.pending"] == "1"


def test_stats_unreachable(tmp_path: Path) -> None:
    result = qops("stats", "--redis-url", "redis://127.0.0.1:1/0")
    assert result.code == 4
    assert result.out == ""
    assert result.err.startswith("qops: error: cannot connect to Redis at redis://127.0.0.1:1/0")


@pytest.fixture
def busy_worker(redis_url: str) -> Iterator[threading.Event]:
    """A worker serving critical=6,default=3 whose one task blocks until released."""
    handlers = Handlers()
    started, release = threading.Event(), threading.Event()

    @handlers.task("slow")
    def slow(task: Task) -> None:
        started.set()
        release.wait(30)

    worker = Worker(
        handlers,
        redis_url=redis_url,
        queues={"critical": 6, "default": 3},
        concurrency=3,
        heartbeat_interval=0.2,
        shutdown_timeout=1,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    with Client(redis_url) as client:
        client.enqueue("slow", {"n": 1}, task_id="slow-1", queue="critical")
    assert started.wait(10)
    yield release
    release.set()
    worker.stop()
    thread.join(10)


def test_server_ls(redis_url: str, busy_worker: threading.Event) -> None:
    def busy() -> list[dict[str, object]]:
        docs = qops("server", "ls", "--json", url=redis_url).json()
        return docs if docs and docs[0]["active_workers"] else []

    (server,) = wait_for(busy, timeout=10, interval=0.1)
    assert server["concurrency"] == 3
    assert server["queues"] == {"critical": 6, "default": 3}
    assert server["status"] == "active"
    (active,) = server["active_workers"]
    assert (active["task_id"], active["task_type"], active["queue"]) == (
        "slow-1",
        "slow",
        "critical",
    )

    plain = qops("server", "ls", url=redis_url).lines()
    assert len(plain) == 1
    row = plain[0].split("\t")
    assert row[3] == "1/3"
    assert row[4] == "critical=6,default=3"
    workers = qops("server", "ls", "--workers", url=redis_url).lines()
    assert [line.split("\t")[2:5] for line in workers] == [["slow-1", "slow", "critical"]]


def test_server_ls_empty(redis_url: str) -> None:
    result = qops("server", "ls", url=redis_url)
    assert (result.code, result.out) == (0, "")
    assert "no servers" in result.err
    assert qops("server", "ls", "--json", url=redis_url).json() == []
