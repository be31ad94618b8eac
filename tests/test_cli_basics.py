"""What every ``qops`` command shares: help, global options, exit codes, startup, completion."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from qops import Client, Task
from qops import __version__ as qops_version
from qops.cli import common
from qops.cli.main import app
from tests.qops_cli import QOPS, error_line, qops
from tests.redis_server import RedisServer

ROOT = Path(__file__).parent.parent
GLOBALS = {"redis_url", "profile", "json_", "quiet", "no_color", "debug"}


def leaves(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subcommands = getattr(cmd, "commands", None)
    if subcommands is None:
        yield path, cmd
        return
    for name, sub in subcommands.items():
        yield from leaves(sub, (*path, name))


def test_every_command_takes_the_global_options_after_its_name() -> None:
    found = list(leaves(typer.main.get_command(app)))
    assert len(found) > 20
    for path, cmd in found:
        missing = GLOBALS - {p.name for p in cmd.params}
        assert not missing, f"qops {' '.join(path)} lacks {sorted(missing)}"


def test_global_options_before_and_after(redis_url: str) -> None:
    after = qops("queue", "ls", "--json", "--redis-url", redis_url, "--quiet")
    before = qops("--json", "--redis-url", redis_url, "--quiet", "queue", "ls")
    assert after.code == before.code == 0
    assert after.json() == before.json() == []
    assert after.err == before.err == ""  # --quiet silenced "no queues"
    assert qops("version", "--json").json()["version"]


def test_help_lists_exit_codes_and_the_commands() -> None:
    result = qops("--help")
    assert result.code == 0
    lines = [line.strip() for line in result.out.splitlines()]
    for line in (
        "0  success (an empty listing included)",
        "1  operation failed",
        "2  usage or input error",
        "3  queue or task not found",
        "4  Redis unreachable or authentication refused",
        "5  confirmation needed but not on a terminal (pass --yes)",
        "130  interrupted",
        "141  stdout closed early (| head): stopped quietly, as by SIGPIPE",
    ):
        assert line in lines
    for name in ("enqueue", "queue", "task", "export", "import", "stats", "server", "config"):
        assert f" {name} " in result.out
    assert qops().code == 2  # no arguments: help on stderr, usage exit code
    assert qops("nonsense").code == 2


def test_exit_code_constants() -> None:
    assert (
        common.EXIT_OK,
        common.EXIT_FAILED,
        common.EXIT_USAGE,
        common.EXIT_NOT_FOUND,
        common.EXIT_UNREACHABLE,
        common.EXIT_CONFIRM,
        common.EXIT_INTERRUPTED,
    ) == (0, 1, 2, 3, 4, 5, 130)


def test_importing_the_cli_loads_neither_textual_nor_redis() -> None:
    code = (
        "import sys, json, qops.cli.main; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('textual', 'redis'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_errors_are_one_line_without_traceback_unless_debug(tmp_path: Path) -> None:
    url = "redis://127.0.0.1:1/0"
    result = qops("queue", "ls", "-u", url)
    assert result.code == 4
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err
    bad_url = qops("queue", "ls", "-u", "http://x")
    assert bad_url.code == 2
    assert "scheme must be one of" in bad_url.err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["queue", "ls", "-u", "redis://127.0.0.1:1"], 4),
        (["queue", "inspect", "nope"], 3),
        (["task", "show", "nope", "-q", "default"], 3),
        (["enqueue", "t", "--in", "soon"], 2),
        (["queue", "history", "nope"], 3),
    ],
)
def test_debug_adds_the_traceback_and_keeps_the_exit_code(
    redis_url: str, args: list[str], code: int
) -> None:
    qops("enqueue", "seed", url=redis_url)
    plain = qops(*args, url=redis_url)
    debug = qops("--debug", *args, url=redis_url)
    assert plain.code == debug.code == code, debug
    assert "Traceback" in debug.err
    assert "Traceback" not in plain.err
    # The error line still comes, after the traceback.
    assert error_line(debug) == error_line(plain)


def closed_pipe_run(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    """``qops ARGS`` writing to a pipe whose reader is already gone, as after ``| head``."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, **({"QOPS_REDIS_URL": url} if url else {})}
    try:
        return subprocess.run(
            [QOPS, *args], stdout=write_end, stderr=subprocess.PIPE, text=True, env=env,
            timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["queue", "ls"],
        ["queue", "ls", "--json"],
        ["task", "ls", "-q", "default", "-s", "pending"],
        ["export", "-q", "default", "-s", "pending"],
        ["queue", "inspect", "default"],
        ["version"],
    ],
)
def test_a_closed_stdout_ends_quietly_as_sigpipe_does(redis_url: str, args: list[str]) -> None:
    qops("enqueue", "t", "-p", '{"n": 1}', url=redis_url)
    result = closed_pipe_run(*args, url=redis_url)
    assert result.stderr == ""
    assert result.returncode == -signal.SIGPIPE


def test_export_into_head_stops_quietly(redis_url: str) -> None:
    with Client(redis_url) as client:
        client.enqueue_many([Task("t", {"n": i, "pad": "x" * 200}) for i in range(3000)])
    # What a shell runs for `qops export ... | head -1`: one line read, then the pipe closed.
    proc = subprocess.Popen(
        [QOPS, "export", "-q", "default", "-s", "pending"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "QOPS_REDIS_URL": redis_url},
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["type"] == "t"
    proc.stdout.close()
    with proc.stderr:
        assert proc.stderr.read() == ""
    assert proc.wait(60) == -signal.SIGPIPE
    shell = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {QOPS} export -q default -s pending | head -1"],
        capture_output=True, text=True, env={**os.environ, "QOPS_REDIS_URL": redis_url},
        timeout=60, check=False,
    )  # fmt: skip
    assert shell.returncode == 128 + signal.SIGPIPE
    assert shell.stderr == ""
    assert len(shell.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "where", "words"),
    [
        (["task", "ls", "-q", "default", "-s", "bogus"], "qops task ls", "'bogus' is not one of"),
        (["task", "ls", "-q", "default"], "qops task ls", "missing option '--state'"),
        (["enqueue", "x", "--max-retry", "-1"], "qops enqueue", "--max-retry"),
        (["task", "show", "ID"], "qops task show", "missing option '--queue' / '-q'"),
        (["queue", "ls", "--bogus"], "qops queue ls", "no such option: --bogus"),
        (["nonsense"], "qops", "no such command 'nonsense'"),
        (["queue", "pause"], "qops queue pause", "missing argument"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], where: str, words: str) -> None:
    result = qops(*args, url="redis://127.0.0.1:1/0")
    assert result.code == 2, result
    assert result.out == ""
    assert result.err.endswith(f" (see '{where} --help')\n"), result.err
    assert result.err.count("\n") == 1, result.err
    assert words in error_line(result)


def test_version_flag_and_command() -> None:
    for args in (["--version"], ["version"]):
        result = qops(*args)
        assert (result.code, result.out, result.err) == (0, qops_version + "\n", "")


def test_help_shows_no_value_after_flags_and_wraps_choices_at_bars() -> None:
    for args in (["--help"], ["task", "ls", "--help"], ["export", "--help"], ["worker", "--help"]):
        result = qops(*args, env={"COLUMNS": "80"})
        assert result.code == 0
        assert "<bool>" not in result.out
        assert re.search(r"--json +Print JSON on stdout", result.out), result.out
    states = qops("task", "ls", "--help", env={"COLUMNS": "80"}).out
    for state in ("active", "pending", "aggregating", "scheduled", "retry", "archived"):
        assert re.search(rf"(?<![a-z]){state}\|", states), f"{state!r} is cut:\n{states}"
    assert re.search(r"(?<![a-z])completed>", states)


def test_no_color_when_piped_or_no_color(redis_url: str) -> None:
    qops("enqueue", "t", url=redis_url)
    for env in ({}, {"NO_COLOR": "1"}):
        result = qops("task", "show", "x", "-q", "default", url=redis_url, env=env)
        assert "\x1b[" not in result.out + result.err


# -- completion ---------------------------------------------------------------------------


def test_completion_files_are_up_to_date(tmp_path: Path) -> None:
    subprocess.run(
        [str(ROOT / "scripts" / "gen-completions"), str(tmp_path)],
        check=True,
        capture_output=True,
        env={"QOPS": str(Path(sys.executable).parent / "qops"), "PATH": "/usr/bin:/bin"},
    )
    for shell in ("bash", "zsh", "fish"):
        fresh = (tmp_path / f"qops.{shell}").read_text()
        shipped = (ROOT / "completions" / f"qops.{shell}").read_text()
        assert fresh == shipped, f"completions/qops.{shell} is stale: run scripts/gen-completions"
    assert (tmp_path / "qops.zsh").read_text().startswith("#compdef qops\n")


def complete_bash(words: str, url: str | None) -> list[str]:
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    env = {
        "_QOPS_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": cword,
        # The 0.5 s default can run out on a loaded test machine.
        "QOPS_COMPLETION_TIMEOUT": "20",
    }
    result = qops(url=url, env=env)
    assert result.code == 0, result
    return [line for line in result.lines() if line]


def test_queue_names_complete_from_redis(redis_url: str) -> None:
    for queue in ("critical", "default", "low"):
        qops("enqueue", "t", "-q", queue, url=redis_url)
    assert complete_bash("qops queue pause c", redis_url) == ["critical"]
    assert complete_bash("qops task ls -q ", redis_url) == ["critical", "default", "low"]
    assert complete_bash("qops export --queue l", redis_url) == ["low"]


def test_queue_completion_is_empty_when_redis_is_down() -> None:
    assert complete_bash("qops queue pause ", "redis://127.0.0.1:1/0") == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_source_mentions_the_program(shell: str) -> None:
    result = qops(env={"_QOPS_COMPLETE": f"source_{shell}"})
    assert result.code == 0
    assert "_QOPS_COMPLETE=complete_" in result.out


def test_unix_socket_url(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    server = RedisServer("--unixsocket", str(sock), "--unixsocketperm", "700").start()
    try:
        url = f"unix://{sock}?db=0"
        assert qops("enqueue", "t", "-q", "via-socket", "-u", url).code == 0
        assert [q["queue"] for q in qops("queue", "ls", "--json", "-u", url).json()] == [
            "via-socket"
        ]
    finally:
        server.cleanup()


def test_ctrl_c_exits_130(redis_url: str) -> None:
    proc = subprocess.Popen(
        [QOPS, "enqueue", "--batch", "-", "--quiet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QOPS_REDIS_URL": redis_url},
    )
    assert proc.stdin is not None and proc.stdout is not None
    # A full chunk gets enqueued and its ids printed: the command is running, waiting on stdin.
    proc.stdin.write("".join('{"type": "t"}\n' for _ in range(1000)))
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert line.strip(), f"exit {proc.poll()}: {proc.stderr.read() if not line else ''}"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert "Traceback" not in err


def test_refused_credentials_exit_4_with_the_password_masked() -> None:
    server = RedisServer("--requirepass", "right-pw").start()
    try:
        base = f"127.0.0.1:{server.port}/0"
        wrong = qops("queue", "ls", "-u", f"redis://:wrong-pw@{base}")
        assert wrong.code == 4, wrong
        assert f"redis://:***@{base}" in wrong.err
        assert "wrong-pw" not in wrong.err
        assert qops("queue", "ls", "-u", f"redis://{base}").code == 4
        assert qops("queue", "ls", "-u", f"redis://:right-pw@{base}").code == 0
    finally:
        server.cleanup()
