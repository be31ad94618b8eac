"""``qops metrics serve`` as a real process against real Redis: values, bounds, Redis outages."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

import qops
from tests.conftest import FIXTURES
from tests.helpers import modules_loaded, wait_for
from tests.qops_cli import QOPS, error_line
from tests.qops_cli import qops as run_qops
from tests.redis_server import RedisServer, free_port, load_fixture

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 1.0
# A scrape must answer within the exporter's --timeout; this margin covers process scheduling
# on a busy machine, and stays far below the 10 s a blocked Redis read would take.
MARGIN = 2.0

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Exporter:
    """A running ``qops metrics serve`` with its stderr in a file."""

    def __init__(self, url: str, tmp: Path, *args: str) -> None:
        self.port = free_port()
        self.stderr_path = tmp / f"exporter-{self.port}.err"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [QOPS, "metrics", "serve", "--port", str(self.port), "--redis-url", url,
             "--timeout", str(TIMEOUT), "--min-interval", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        wait_for(self._answers, timeout=15)

    def _answers(self) -> bool:
        assert self.proc.poll() is None, self.stderr()
        try:
            self.get("/")
        except OSError:
            return False
        return True

    def get(self, path: str) -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}{path}", timeout=TIMEOUT + MARGIN
            ) as resp:
                return resp.status, resp.headers["Content-Type"], resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()

    def scrape(self) -> tuple[Samples, float]:
        """Every sample of one scrape, and how long the scrape took."""
        start = time.monotonic()
        status, content_type, body = self.get("/metrics")
        took = time.monotonic() - start
        assert status == 200
        assert content_type.startswith("text/plain; version=0.0.4")
        samples: Samples = {}
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return samples, took

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def log_lines(self) -> list[str]:
        """Lines on stderr after the startup banner."""
        lines = self.stderr().splitlines()
        if lines and lines[0].startswith("serving queue metrics"):
            return lines[1:]
        return lines

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=10)
        self._stderr.close()
        return code


@pytest.fixture
def exporters(tmp_path: Path) -> Iterator[list[Exporter]]:
    started: list[Exporter] = []
    yield started
    for e in started:
        e.stop()


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def queue_values(samples: Samples, queue: str) -> dict[str, float]:
    """The Asynq series of one queue, keyed by a short name (``enqueued:<state>`` and the rest)."""
    out = {}
    for (name, labels), v in samples.items():
        d = dict(labels)
        if d.get("queue") != queue:
            continue
        key = f"enqueued:{d['state']}" if name == "asynq_tasks_enqueued_total" else name
        out[key] = v
    return out


def seed(url: str, r: redis.Redis) -> None:
    """Go Asynq's live fixture (five queues, one with an active task) plus a queue filled with
    qops's Client and changed with the Inspector."""
    load_fixture(r, FIXTURES / "asynq-v0.26.0-live.json")
    with qops.Client(url) as client:
        infos = client.enqueue_many(qops.Task("mail", {"n": i}, queue="emails") for i in range(4))
        client.enqueue("mail", {"later": 1}, queue="emails", process_in=3600)
        client.enqueue("mail", {"later": 2}, queue="emails", process_in=7200)
        client.enqueue("mail", {"g": 1}, queue="emails", group="batch")
        client.enqueue("mail", {"g": 2}, queue="emails", group="batch")
    with qops.Inspector(url) as inspector:
        last = infos[-1]
        assert isinstance(last, qops.TaskInfo)
        inspector.archive_task("emails", last.id)
        inspector.pause("emails")


def test_values_of_asynq_and_qops_series(
    redis_url: str, r: redis.Redis, tmp_path: Path, exporters: list[Exporter]
) -> None:
    seed(redis_url, r)
    oldest_default = int(r.hget("asynq:{default}:t:40f141bb-e4a3-4f1c-82be-83ef221c1cac",
                                "pending_since")) / 1e9  # fmt: skip
    exporters.append(e := Exporter(redis_url, tmp_path))
    samples, _ = e.scrape()

    # Counts written by Go Asynq (tests/fixtures/asynq-v0.26.0-dump.txt).
    default = queue_values(samples, "default")
    assert default.pop("asynq_queue_latency_seconds") == pytest.approx(
        time.time() - oldest_default, abs=30
    )
    assert default.pop("asynq_queue_memory_usage_approx_bytes") > 0
    # The fixture's earliest scheduled and retry tasks were both due at this time.
    assert default.pop("qops_queue_scheduled_lag_seconds") == pytest.approx(
        max(0.0, time.time() - 1795847867), abs=30
    )
    assert default == {
        "enqueued:active": 0, "enqueued:pending": 6, "enqueued:scheduled": 2,
        "enqueued:retry": 1, "enqueued:archived": 1, "enqueued:completed": 1,
        "asynq_queue_size": 13, "asynq_tasks_processed_total": 4,
        "asynq_tasks_failed_total": 2, "asynq_queue_paused_total": 0,
        "qops_queue_aggregating_tasks": 2, "qops_queue_groups": 1, "qops_workers_active": 0,
    }  # fmt: skip
    assert queue_values(samples, "paused")["asynq_queue_paused_total"] == 1
    assert queue_values(samples, "cronq")["enqueued:pending"] == 3
    # The fixture's worker is gone (its heartbeat lapsed); its task still sits in active.
    live = queue_values(samples, "live")
    assert live["enqueued:active"] == 1
    assert live["qops_workers_active"] == 0

    # The queue qops filled: 4 enqueued, one archived by the Inspector, 2 scheduled, 2 grouped.
    emails = queue_values(samples, "emails")
    assert 0 <= emails.pop("asynq_queue_latency_seconds") < 60
    assert emails.pop("asynq_queue_memory_usage_approx_bytes") > 0
    assert emails == {
        "enqueued:active": 0, "enqueued:pending": 3, "enqueued:scheduled": 2,
        "enqueued:retry": 0, "enqueued:archived": 1, "enqueued:completed": 0,
        "asynq_queue_size": 8, "asynq_tasks_processed_total": 0,
        "asynq_tasks_failed_total": 0, "asynq_queue_paused_total": 1,
        "qops_queue_aggregating_tasks": 2, "qops_queue_groups": 1, "qops_workers_active": 0,
        "qops_queue_scheduled_lag_seconds": 0,
    }  # fmt: skip

    assert {dict(labels)["queue"] for (name, labels) in samples if name == "asynq_queue_size"} == {
        "critical", "cronq", "default", "emails", "live", "paused"
    }  # fmt: skip
    assert value(samples, "qops_servers_alive") == 0
    assert value(samples, "qops_workers_concurrency") == 0
    assert value(samples, "qops_metrics_scrape_ok") == 1
    assert value(samples, "qops_metrics_last_success_age_seconds") < TIMEOUT + MARGIN
    assert value(samples, "qops_metrics_collect_failures_total") == 0
    assert value(samples, "process_resident_memory_bytes") > 0

    # Values follow Redis from one scrape to the next.
    with qops.Client(redis_url) as client:
        client.enqueue("mail", {"n": 99}, queue="emails")
    samples, _ = e.scrape()
    assert value(samples, "asynq_tasks_enqueued_total", queue="emails", state="pending") == 4
    assert e.log_lines() == []
    assert e.stop() == 0


def test_scheduled_lag_is_the_lateness_of_the_earliest_due_task(
    redis_url: str, r: redis.Redis, tmp_path: Path, exporters: list[Exporter]
) -> None:
    now = time.time()
    with qops.Client(redis_url) as client:
        late = client.enqueue("mail", queue="late", process_in=3600)
        later = client.enqueue("mail", queue="late", process_in=7200)
        failed = client.enqueue("mail", queue="failing", process_in=3600)
        client.enqueue("mail", queue="ahead", process_in=60)
        client.enqueue("mail", queue="idle")
    # As if no worker had forwarded them: due 120 s and 30 s ago, and a retry 300 s ago.
    r.zadd("asynq:{late}:scheduled", {late.id: int(now) - 120, later.id: int(now) - 30})
    r.zrem("asynq:{failing}:scheduled", failed.id)
    r.zadd("asynq:{failing}:retry", {failed.id: int(now) - 300})
    r.hset(f"asynq:{{failing}}:t:{failed.id}", "state", "retry")

    with qops.Inspector(redis_url) as inspector:
        infos = {q.queue: q for q in inspector.queue_infos()}
    assert infos["late"].overdue == pytest.approx(time.time() - (int(now) - 120), abs=5)
    assert infos["failing"].overdue == pytest.approx(time.time() - (int(now) - 300), abs=5)
    assert (infos["ahead"].overdue, infos["idle"].overdue) == (0.0, 0.0)
    assert infos["late"].to_json()["overdue"] == infos["late"].overdue

    exporters.append(e := Exporter(redis_url, tmp_path))
    samples, _ = e.scrape()
    lag = {q: value(samples, "qops_queue_scheduled_lag_seconds", queue=q) for q in infos}
    assert lag["late"] == pytest.approx(time.time() - (int(now) - 120), abs=5)
    assert lag["failing"] == pytest.approx(time.time() - (int(now) - 300), abs=5)
    assert (lag["ahead"], lag["idle"]) == (0, 0)


def test_live_worker_shows_in_server_series(
    redis_url: str, r: redis.Redis, tmp_path: Path, exporters: list[Exporter]
) -> None:
    worker = subprocess.Popen(
        [QOPS, "worker", "--app", "tests.worker_app:handlers", "--queues", "busy",
         "--concurrency", "3", "--shutdown-timeout", "0"],
        cwd=ROOT,
        env={**os.environ, "QOPS_REDIS_URL": redis_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with qops.Client(redis_url) as client:
            client.enqueue("record", {"sleep": 60}, queue="busy")
            client.enqueue("record", {"sleep": 60}, queue="busy")
            client.enqueue("other", queue="idle")
        wait_for(lambda: r.llen("test:started") == 2, timeout=20)
        exporters.append(e := Exporter(redis_url, tmp_path))
        # Running tasks are published with the server's heartbeat, every few seconds.
        samples = wait_for(
            lambda: (
                (s := e.scrape()[0]) and value(s, "qops_workers_active", queue="busy") == 2 and s
            ),
            timeout=20,
        )
        assert value(samples, "qops_servers_alive") == 1
        assert value(samples, "qops_workers_concurrency") == 3
        assert value(samples, "qops_workers_active", queue="idle") == 0
        assert value(samples, "asynq_tasks_enqueued_total", queue="busy", state="active") == 2
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)


def test_series_types_and_help_are_asynqs(redis_url: str, r: redis.Redis, tmp_path: Path,
                                          exporters: list[Exporter]) -> None:  # fmt: skip
    seed(redis_url, r)
    exporters.append(e := Exporter(redis_url, tmp_path))
    _, _, body = e.get("/metrics")
    types = {}
    for family in text_string_to_metric_families(body):
        types[family.name] = family.type
    assert types["asynq_tasks_enqueued_total"] == "gauge"
    assert types["asynq_queue_size"] == "gauge"
    assert types["asynq_queue_latency_seconds"] == "gauge"
    assert types["asynq_queue_memory_usage_approx_bytes"] == "gauge"
    assert types["asynq_queue_paused_total"] == "gauge"
    # Counters keep their _total sample names, as Asynq's Go exporter prints them.
    assert types["asynq_tasks_processed"] == "counter"
    assert types["asynq_tasks_failed"] == "counter"
    assert "# TYPE asynq_tasks_processed_total counter" in body
    assert 'asynq_tasks_processed_total{queue="default"} 4.0' in body
    # No aggregating state in Asynq's series: dashboards summing states keep their meaning.
    assert 'state="aggregating"' not in body


def test_redis_hung_then_down_serves_last_values_within_the_bound(
    tmp_path: Path, exporters: list[Exporter]
) -> None:
    server = RedisServer("--requirepass", "s3cret").start()
    try:
        url = f"redis://:s3cret@127.0.0.1:{server.port}/0"
        r = redis.Redis.from_url(url)
        seed(url, r)
        r.close()
        exporters.append(e := Exporter(url, tmp_path))
        good, _ = e.scrape()
        assert value(good, "qops_metrics_scrape_ok") == 1
        assert value(good, "asynq_queue_size", queue="default") == 13

        def same_values(samples: Samples) -> None:
            for key, v in good.items():
                if key[0].startswith(("asynq_", "qops_queue_", "qops_workers_", "qops_servers_")):
                    assert samples[key] == v, key

        # Hung: connections are accepted but nothing answers (a blocked read lasts 10 s).
        assert server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)
        hung, took = e.scrape()
        assert took < TIMEOUT + MARGIN
        assert value(hung, "qops_metrics_scrape_ok") == 0
        same_values(hung)
        hung_again, took = e.scrape()
        assert took < TIMEOUT + MARGIN
        assert value(hung_again, "qops_metrics_last_success_age_seconds") > value(
            hung, "qops_metrics_last_success_age_seconds"
        )

        # Down: the process is gone and connections are refused.
        server.stop()
        down, took = e.scrape()
        assert took < TIMEOUT + MARGIN
        assert value(down, "qops_metrics_scrape_ok") == 0
        same_values(down)
        assert value(down, "qops_metrics_last_success_age_seconds") > value(
            hung_again, "qops_metrics_last_success_age_seconds"
        )
        failures = wait_for(lambda: value(e.scrape()[0], "qops_metrics_collect_failures_total"))
        assert failures >= 1

        # One line for the whole outage, naming Redis without its password.
        lines = wait_for(e.log_lines, timeout=15)
        assert len(lines) == 1, lines
        assert "WARNING cannot collect queue metrics from redis://:***@127.0.0.1:" in lines[0]
        assert "s3cret" not in e.stderr()
        assert e.stop() == 0
    finally:
        server.cleanup()


def test_unreachable_at_startup_then_recovers(tmp_path: Path, exporters: list[Exporter]) -> None:
    server = RedisServer()  # its port is chosen but nothing listens yet
    exporters.append(e := Exporter(server.url, tmp_path))
    samples, took = e.scrape()
    assert took < TIMEOUT + MARGIN
    assert value(samples, "qops_metrics_scrape_ok") == 0
    assert not any(name.startswith("asynq_") for name, _ in samples)
    lines = wait_for(e.log_lines)
    assert len(lines) == 1, lines
    assert f"cannot collect queue metrics from {server.url}: " in lines[0]
    assert "Connection refused" in lines[0]
    try:
        server.start()
        with qops.Client(server.url) as client:
            client.enqueue("x", queue="late")
        samples = wait_for(
            lambda: (s := e.scrape()[0]) and value(s, "qops_metrics_scrape_ok") == 1 and s
        )
        assert value(samples, "asynq_tasks_enqueued_total", queue="late", state="pending") == 1
        assert value(samples, "qops_metrics_last_success_age_seconds") < TIMEOUT + MARGIN
        lines = wait_for(lambda: (ls := e.log_lines()) and len(ls) > 1 and ls)
        assert len(lines) == 2, lines
        assert f"INFO collecting queue metrics from {server.url} again" in lines[1]
    finally:
        server.cleanup()


def test_paths_other_than_metrics(
    redis_url: str, tmp_path: Path, exporters: list[Exporter]
) -> None:
    exporters.append(e := Exporter(redis_url, tmp_path))
    status, _, body = e.get("/")
    assert status == 200
    assert "/metrics" in body
    status, _, body = e.get("/favicon.ico")
    assert status == 404
    status, _, _ = e.get("/metrics?name[]=asynq_queue_size")
    assert status == 200


def test_quiet_drops_the_banner_but_not_the_outage_line(tmp_path: Path) -> None:
    url = RedisServer().url
    e = Exporter(url, tmp_path, "--quiet")
    try:
        wait_for(lambda: e.stderr(), timeout=15)
        assert e.stderr().count("\n") == 1
        assert "WARNING cannot collect queue metrics" in e.stderr()
    finally:
        assert e.stop() == 0


def test_banner_names_the_address_and_the_masked_url(tmp_path: Path) -> None:
    url = "redis://:pw@127.0.0.1:1/0"
    port = free_port()
    proc = subprocess.Popen(
        [QOPS, "metrics", "serve", "--port", str(port), "-u", url],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        assert f"on http://127.0.0.1:{port}/metrics" in banner
        assert "redis://:***@127.0.0.1:1/0" in banner
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port"),
        (["--timeout", "0"], "--timeout"),
        (["--min-interval", "-1"], "--min-interval"),
        (["--port", "9876", "-u", "http://nope"], "invalid Redis URL http://nope"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    result = run_qops("metrics", "serve", *args, timeout=30)
    assert result.code == 2, str(result)
    assert message in result.err


def test_port_in_use_exits_1(redis_url: str, tmp_path: Path, exporters: list[Exporter]) -> None:
    exporters.append(e := Exporter(redis_url, tmp_path))
    result = run_qops("metrics", "serve", "--port", str(e.port), url=redis_url, timeout=30)
    assert result.code == 1, str(result)
    assert error_line(result).startswith(f"qops: error: cannot listen on 127.0.0.1:{e.port}: ")


def test_collector_module_is_not_loaded_by_the_cli_or_library() -> None:
    code = "import qops, qops.client, qops.inspector, qops.cli.main"
    assert modules_loaded(code, "prometheus_client", "qops.metrics") == []


def test_a_failure_other_than_redis_is_logged_with_its_traceback(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from qops.metrics import queue_collector

    def broken(inspector: qops.Inspector) -> queue_collector.Snapshot:
        raise TypeError("a bug in the collection")

    monkeypatch.setattr(queue_collector, "read_snapshot", broken)
    with qops.Inspector(redis_url) as insp:
        collector = queue_collector.QueueCollector(insp, timeout=5)
        collector.start()
        try:
            assert collector.refresh() is False
            record = wait_for(
                lambda: next((r for r in caplog.records if "cannot collect" in r.message), None)
            )
        finally:
            collector.close()
    assert record.exc_info is not None and record.exc_info[0] is TypeError
