"""``qops worker`` says on stderr that it started, in one line, unless told to be quiet."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from qops import Client
from tests.helpers import wait_for
from tests.qops_cli import QOPS
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
APP = "tests.worker_app:handlers"
PASSWORD = "banner-secret"


@pytest.fixture
def secured() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", PASSWORD).start()
    yield server
    server.cleanup()


def run_worker(url: str, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    err = tmp_path / "worker.err"
    with err.open("wb") as fh:
        proc = subprocess.Popen(
            [QOPS, "worker", "--app", APP, *args],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fh,
            env={**os.environ, "QOPS_REDIS_URL": url},
        )  # fmt: skip
    return proc, err


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(30)


def serving(url: str) -> None:
    """Wait until the worker has run a task: by then it handles SIGTERM."""
    with redis.Redis.from_url(url) as r, Client(url) as client:
        client.enqueue("record", {})
        wait_for(lambda: r.llen("test:runs"), timeout=20)


def test_one_line_with_queues_concurrency_pid_and_masked_url(
    secured: RedisServer, tmp_path: Path
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{secured.port}/0"
    proc, err = run_worker(url, tmp_path, "-q", "critical=6,default=3", "-c", "3")
    try:
        serving(url)
    finally:
        assert stop(proc) == 0
    (line,) = err.read_text().splitlines()
    masked = f"redis://:***@127.0.0.1:{secured.port}/0"
    assert line == (
        f"qops worker: pid {proc.pid}, queues critical=6,default=3, concurrency 3, 1 process, "
        f"Redis {masked} (-v logs every task; Ctrl-C stops)"
    )


def test_several_processes_and_json_logs(secured: RedisServer, tmp_path: Path) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{secured.port}/0"
    proc, err = run_worker(url, tmp_path, "-p", "2", "--strict", "--log-format", "json")
    try:
        wait_for(lambda: err.read_text().count("\n") >= 1, timeout=20)
    finally:
        stop(proc)
    records = [json.loads(line) for line in err.read_text().splitlines()]
    (start,) = [rec for rec in records if rec.get("event") == "starting"]
    assert start["pid"] == proc.pid
    assert (start["processes"], start["concurrency"], start["strict_priority"]) == (2, 10, True)
    assert start["queues"] == {"default": 1}
    assert start["redis"] == f"redis://:***@127.0.0.1:{secured.port}/0"
    assert re.search(rf"pid {proc.pid} \(supervisor\).* 2 processes", start["message"])
    assert PASSWORD not in err.read_text()


@pytest.mark.parametrize(
    "args", [["--quiet"], ["--log-level", "warning"], ["--log-level", "error", "-v"]]
)
def test_quiet_or_an_explicit_log_level_prints_no_line(
    redis_url: str, tmp_path: Path, args: list[str]
) -> None:
    proc, err = run_worker(redis_url, tmp_path, *args)
    try:
        serving(redis_url)
    finally:
        assert stop(proc) == 0
    assert err.read_text() == ""


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_busy_metrics_port_is_the_only_line(redis_url: str, processes: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [QOPS, "worker", "--app", APP, "-p", processes, "--metrics-port", str(port)],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "QOPS_REDIS_URL": redis_url},
        )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"qops: error: cannot listen on 127.0.0.1:{port}: ")
