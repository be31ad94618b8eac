"""Worker logs: ``qops worker --log-format json`` run for real, its lines parsed and checked."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import qops
from qops.storage import keys
from tests.helpers import wait_for
from tests.redis_server import RedisServer
from tests.worker_helpers import APP, run_worker, start_worker

PASSWORD = "pw-s3cr3t-in-url"
MARKER = "payload-marker-7f3a"


@pytest.fixture
def secured() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", PASSWORD).start()
    yield server
    server.cleanup()


def url_of(server: RedisServer) -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"


class Worker:
    """A running ``qops worker`` whose stderr goes to a file, read as it grows."""

    def __init__(self, url: str, tmp: Path, *args: str) -> None:
        self.path = tmp / "worker.err"
        self._err = self.path.open("w")
        self.proc = start_worker(url, *args, stdout=subprocess.DEVNULL, stderr=self._err)

    def text(self) -> str:
        return self.path.read_text()

    def records(self) -> list[dict[str, Any]]:
        """Every line as JSON (each one must be), the last one only once it is complete."""
        lines = self.text().split("\n")
        return [json.loads(line) for line in lines[:-1] if line]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == name]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self._err.close()
        return code


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
        w.stop()


def orphan(r: redis.Redis, queue: str, task_id: str) -> None:
    """Make a pending task look like one a dead worker was running (lease long past)."""
    r.lrem(keys.pending(queue), 0, task_id)
    r.lpush(keys.active(queue), task_id)
    r.zadd(keys.lease(queue), {task_id: int(time.time()) - 60})
    r.hset(keys.task(queue, task_id), "state", "active")


def by_task(records: list[dict[str, Any]], task_id: str) -> list[str]:
    return [r["event"] for r in records if r.get("task_id") == task_id]


def test_json_lines_for_every_task_event(
    secured: RedisServer, tmp_path: Path, workers: list[Worker]
) -> None:
    url = url_of(secured)
    c = qops.Client(url)
    ok = c.enqueue("echo", {"note": MARKER})
    retried = c.enqueue("echo:fail", {"note": MARKER}, max_retry=1)
    archived = c.enqueue("echo:fail", {"note": MARKER}, max_retry=0)
    lost = c.enqueue("echo", {"note": MARKER}, max_retry=5)
    with redis.Redis.from_url(url) as r:
        orphan(r, "default", lost.id)
    held = c.enqueue("hold", {"sleep": 600, "note": MARKER})
    args = ["--log-format", "json", "-v", "--retry-delay", "3600", "--shutdown-timeout", "0"]
    workers.append(w := Worker(url, tmp_path, *args))
    # Five starts (the recovered task included), two done, and the archive line.
    wait_for(lambda: (len(w.events("start")), len(w.events("done")), len(w.events("archive")))
             == (5, 2, 1), timeout=20)  # fmt: skip
    assert w.stop() == 0
    records = w.records()

    for rec in records:
        assert {"time", "level", "logger", "pid", "message"} <= set(rec), rec
        assert rec["time"].endswith("Z") and rec["pid"] == w.proc.pid
    [serving] = [rec for rec in records if rec.get("event") == "serving"]
    assert serving["redis"] == f"redis://:***@127.0.0.1:{secured.port}/0"
    assert serving["queues"] == {"default": 1} and serving["concurrency"] == 10

    assert by_task(records, ok.id) == ["start", "done"]
    assert by_task(records, retried.id) == ["start", "retry"]
    assert by_task(records, archived.id) == ["start", "archive"]
    assert by_task(records, lost.id) == ["recovered", "start", "done"]
    assert by_task(records, held.id) == ["start", "requeue"]

    [done] = [rec for rec in w.events("done") if rec["task_id"] == ok.id]
    assert done["level"] == "info" and done["logger"] == "qops.worker"
    assert (done["task_type"], done["queue"], done["retried"], done["max_retry"]) == (
        "echo", "default", 0, 25,
    )  # fmt: skip
    assert 0 <= done["duration"] < 5
    assert done["message"] == f"done echo {ok.id} queue=default in {done['duration']:.3f}s"
    [retry] = w.events("retry")
    assert (retry["delay"], retry["error"], retry["retried"], retry["max_retry"]) == (
        3600, "ValueError: echo refused", 1, 1,
    )  # fmt: skip
    [archive] = w.events("archive")
    assert (archive["error"], archive["retried"], archive["max_retry"]) == (
        "ValueError: echo refused", 0, 0,
    )  # fmt: skip
    [recovered] = w.events("recovered")
    assert (recovered["outcome"], recovered["error"], recovered["retried"]) == (
        "pending", "task lease expired", 1,
    )  # fmt: skip
    assert recovered["task_type"] == "echo" and recovered["delay"] == 0
    [requeue] = w.events("requeue")
    assert requeue["task_type"] == "hold"

    out = w.text()
    assert PASSWORD not in out
    assert MARKER not in out and not any("payload" in rec for rec in records)


def test_log_payloads_capped_and_base64_when_binary(
    redis_url: str, tmp_path: Path, workers: list[Worker]
) -> None:
    c = qops.Client(redis_url)
    text = c.enqueue("echo", {"note": MARKER, "name": "Zoë"})
    binary = c.enqueue("echo", b"\xff\xfe\x00" + MARKER.encode())
    big = c.enqueue("echo:fail", "é" * 3000, max_retry=0)
    args = ["--log-format", "json", "-v", "--log-payloads"]
    workers.append(w := Worker(redis_url, tmp_path, *args))
    wait_for(lambda: len(w.events("done")) == 2 and w.events("archive"), timeout=20)
    starts = {rec["task_id"]: rec for rec in w.events("start")}

    assert json.loads(starts[text.id]["payload"]) == {"note": MARKER, "name": "Zoë"}
    assert starts[text.id]["payload_encoding"] == "utf-8"
    assert starts[text.id]["payload_truncated"] is False
    raw = b"\xff\xfe\x00" + MARKER.encode()
    assert starts[binary.id]["payload_encoding"] == "base64"
    assert base64.b64decode(starts[binary.id]["payload"]) == raw
    assert starts[binary.id]["payload_bytes"] == len(raw)
    # 6002 bytes of JSON text ("é" is two bytes): cut to 1 KiB, on a character boundary.
    cut = starts[big.id]
    assert (cut["payload_bytes"], cut["payload_truncated"]) == (6002, True)
    assert cut["payload"] == '"' + "é" * 511
    [archive] = w.events("archive")
    assert archive["payload"] == cut["payload"]
    assert not any("payload" in rec for rec in w.events("done"))


def test_text_format_and_level_flags(redis_url: str, tmp_path: Path, workers: list[Worker]) -> None:
    c = qops.Client(redis_url)
    info = c.enqueue("echo", {"note": MARKER})
    workers.append(w := Worker(redis_url, tmp_path, "-v", "--log-payloads"))
    wait_for(lambda: f"done echo {info.id}" in w.text(), timeout=20)
    line = next(x for x in w.text().splitlines() if f"start echo {info.id}" in x)
    assert " INFO pid=" in line
    assert line.endswith(f'queue=default retried=0 payload=\'{{"note":"{MARKER}"}}\'')
    assert w.stop() == 0

    # An explicit --log-level wins over -v: no task lines at warning.
    info = c.enqueue("echo", {"note": MARKER})
    (tmp_path / "quiet").mkdir()
    workers.append(w := Worker(redis_url, tmp_path / "quiet", "-v", "--log-level", "warning"))
    with redis.Redis.from_url(redis_url) as r:
        wait_for(lambda: not r.exists(keys.task("default", info.id)), timeout=20)
    assert w.stop() == 0
    assert w.text() == ""


def test_outage_lines_mask_the_password(
    secured: RedisServer, tmp_path: Path, workers: list[Worker]
) -> None:
    url = url_of(secured)
    masked = f"redis://:***@127.0.0.1:{secured.port}/0"
    workers.append(w := Worker(url, tmp_path, "--log-format", "json"))
    with redis.Redis.from_url(url) as r:
        wait_for(lambda: r.zcard(keys.ALL_SERVERS) == 1, timeout=20)
    secured.stop()
    wait_for(
        lambda: any(rec["level"] == "error" and masked in rec["message"] for rec in w.records()),
        timeout=20,
    )
    secured.start()
    assert w.stop() == 0
    assert PASSWORD not in w.text()


def test_bad_log_format_exits_2(redis_url: str) -> None:
    result = run_worker(redis_url, "--app", APP, "--log-format", "xml")
    assert result.returncode == 2
    assert "--log-format" in result.stderr and "xml" in result.stderr
