"""``qops scheduler`` and ``qops cron`` through the real executable, on a real Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import redis

from qops.periodic import ENTRY_HEADER, TICK_HEADER
from qops.schedule_file import load_schedule
from qops.storage import keys, wire
from tests.helpers import wait_for
from tests.qops_cli import QOPS, error_line, qops

EVERY_SECOND = """\
[[task]]
spec = "@every 1s"
type = "{type}"
payload = {{ n = 1 }}
queue = "cron"
"""


def write(path: Path, *types: str) -> Path:
    path.write_text("\n".join(EVERY_SECOND.format(type=t) for t in types))
    return path


@contextmanager
def running_scheduler(url: str, config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "QOPS_REDIS_URL": url}
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [QOPS, "scheduler", "--config", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
        )  # fmt: skip
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)


def ticks_by_type(r: redis.Redis, queue: str = "cron") -> dict[str, list[int]]:
    """Tick times (unix seconds) of the pending tasks, per task type."""
    out: dict[str, list[int]] = {}
    for task_id in r.lrange(keys.pending(queue), 0, -1):
        msg = wire.decode_task(r.hget(keys.task(queue, task_id.decode()), "msg"), "t")
        tick = msg.headers[TICK_HEADER]
        out.setdefault(msg.type, []).append(int(datetime.fromisoformat(tick).timestamp()))
    return {k: sorted(v) for k, v in out.items()}


def test_bad_config_exits_2_naming_file_and_line(tmp_path: Path, redis_url: str, r) -> None:
    config = tmp_path / "schedule.toml"
    config.write_text('[[task]]\nspec = "@every 1s"\ntype = "a"\n\n[[task]]\nspec = "* * *"\n')
    res = qops("scheduler", "--config", str(config), url=redis_url)
    assert res.code == 2, str(res)
    assert error_line(res) == f"qops: error: {config}:5: task 2: 'type' is missing"
    assert res.err.splitlines()[1] == (
        f"{config}:6: task 2, 'spec': cron spec '* * *' has 3 fields; expected 5: "
        "minute hour day-of-month month day-of-week (or a descriptor such as @daily)"
    )
    assert r.keys("*") == []  # nothing was written

    config.write_text("[[task]\n")
    res = qops("scheduler", "--config", str(config), url=redis_url)
    assert res.code == 2
    assert error_line(res).startswith(f"qops: error: {config}:1: not valid TOML: ")

    res = qops("scheduler", "--config", str(tmp_path / "none.toml"), url=redis_url)
    assert res.code == 2
    assert "cannot read the schedule file" in error_line(res)


def test_check_lists_the_entries_without_redis(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text(
        'tz = "Europe/Paris"\n[[task]]\nspec = "0 9 * * mon"\ntype = "weekly"\n'
        'queue = "reports"\ntimeout = "10m"\n'
    )
    # An unreachable URL proves --check does not connect.
    res = qops("scheduler", "--config", str(config), "--check", "--json", url="redis://127.0.0.1:1")
    assert res.code == 0, str(res)
    [doc] = res.json()
    [entry] = load_schedule(config)
    assert doc["id"] == entry.id
    assert doc["spec"] == "0 9 * * mon"
    assert doc["options"] == ['Queue("reports")', "Timeout(10m0s)"]
    assert doc["next_enqueue_at"].endswith(":00:00Z")
    assert f"{config}: 1 entry, no errors" in res.err


def test_sighup_reloads_without_missing_a_tick(tmp_path: Path, redis_url: str, r) -> None:
    config = write(tmp_path / "schedule.toml", "a")
    log = tmp_path / "scheduler.log"
    with running_scheduler(redis_url, config, log) as proc:
        wait_for(lambda: len(ticks_by_type(r).get("a", [])) >= 2, timeout=20)
        write(config, "a", "b")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: len(ticks_by_type(r).get("b", [])) >= 2, timeout=20)
        # A broken file is logged and ignored: both entries keep running.
        config.write_text("[[task]]\nspec = 'never'\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload failed" in log.read_text(), timeout=20)
        seen = len(ticks_by_type(r)["b"])
        wait_for(lambda: len(ticks_by_type(r)["b"]) >= seen + 2, timeout=20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    text = log.read_text()
    assert "reloaded " in text and ": 1 added, 0 removed, 1 unchanged" in text
    assert f"{config}:2: task 1, 'spec': cron spec 'never'" in text
    ticks = ticks_by_type(r)
    # Every second from the first tick of 'a' to its last has its task: none missed.
    assert ticks["a"] == list(range(ticks["a"][0], ticks["a"][-1] + 1))
    assert ticks["b"] == list(range(ticks["b"][0], ticks["b"][-1] + 1))
    assert ticks["a"][-1] == ticks["b"][-1]
    # Stopped: its entries are gone from Redis.
    assert r.zcard(keys.ALL_SCHEDULERS) == 0


def test_two_schedulers_on_one_file_and_cron_ls(tmp_path: Path, redis_url: str, r) -> None:
    config = write(tmp_path / "schedule.toml", "a")
    with (
        running_scheduler(redis_url, config, tmp_path / "1.log"),
        running_scheduler(redis_url, config, tmp_path / "2.log"),
    ):
        wait_for(lambda: r.zcard(keys.ALL_SCHEDULERS) == 2, timeout=20)
        wait_for(lambda: len(ticks_by_type(r).get("a", [])) >= 4, timeout=20)
        res = qops("cron", "ls", "--json", url=redis_url)
        assert res.code == 0, str(res)
        [doc] = res.json()  # both schedulers publish it; listed once
        [entry] = load_schedule(config)
        assert doc["id"] == entry.id
        assert doc["spec"] == "@every 1s"
        assert doc["task_type"] == "a"
        assert doc["task_payload"] == {"encoding": "json", "data": {"n": 1}}
        assert doc["options"] == ['Queue("cron")']
        assert doc["next_enqueue_at"] > doc["prev_enqueue_at"]

        plain = qops("cron", "ls", url=redis_url)
        assert plain.code == 0
        [row] = plain.lines()
        assert row.split("\t")[:4] == [entry.id, "@every 1s", "a", '{"n":1}']
    ticks = ticks_by_type(r)["a"]
    assert len(ticks) == len(set(ticks))  # each tick enqueued once by the pair
    assert ticks == list(range(ticks[0], ticks[-1] + 1))


def test_cron_history(tmp_path: Path, redis_url: str, r) -> None:
    config = write(tmp_path / "schedule.toml", "a")
    [entry] = load_schedule(config)
    with running_scheduler(redis_url, config, tmp_path / "s.log"):
        wait_for(lambda: r.zcard(keys.scheduler_history(entry.id)) >= 3, timeout=20)
    res = qops("cron", "history", entry.id, "--json", url=redis_url)
    assert res.code == 0, str(res)
    events = res.json()
    assert len(events) >= 3
    times = [e["enqueued_at"] for e in events]
    assert times == sorted(times, reverse=True)  # newest first
    task_ids = {e["task_id"] for e in events}
    for task_id in task_ids:
        msg = wire.decode_task(r.hget(keys.task("cron", task_id), "msg"), "t")
        assert msg.headers[ENTRY_HEADER] == entry.id

    page2 = qops("cron", "history", entry.id, "--size", "1", "--page", "2", "--json", url=redis_url)
    assert [e["task_id"] for e in page2.json()] == [events[1]["task_id"]]

    plain = qops("cron", "history", entry.id, "-n", "2", url=redis_url)
    assert [line.split("\t")[1] for line in plain.lines()] == [e["task_id"] for e in events[:2]]

    none = qops("cron", "history", "no-such-entry", url=redis_url)
    assert none.code == 0
    assert none.out == ""
    assert "no enqueue history for entry 'no-such-entry'" in none.err


def test_cron_ls_with_no_scheduler(redis_url: str) -> None:
    res = qops("cron", "ls", "--json", url=redis_url)
    assert (res.code, json.loads(res.out)) == (0, [])
    res = qops("cron", "ls", url=redis_url)
    assert res.code == 0
    assert "no periodic entries" in res.err
