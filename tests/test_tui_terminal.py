"""The real ``qops tui`` executable: in a tmux pseudo-terminal, and its command-line contract."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import redis

import qops
from qops.storage import keys
from tests.helpers import wait_for
from tests.qops_cli import QOPS
from tests.qops_cli import qops as run_qops


class Terminal:
    """One tmux session on a private server socket, running one command."""

    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        self.socket = f"qops-test-{uuid.uuid4().hex[:8]}"
        self.tmux("set-option", "-g", "escape-time", "0", start=True)
        self.tmux("new-session", "-d", "-s", "tui", "-x", str(width), "-y", str(height), command)

    def tmux(self, *args: str, start: bool = False) -> subprocess.CompletedProcess[str]:
        if start:  # the server must exist before options can be set
            subprocess.run(
                ["tmux", "-L", self.socket, "-f", "/dev/null", "start-server", ";", *args],
                check=True,
                capture_output=True,
                text=True,
            )
            return subprocess.CompletedProcess(args, 0)
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=False, capture_output=True, text=True
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tui").stdout

    def wait_for_text(self, text: str, timeout: float = 20.0) -> str:
        try:
            return str(wait_for(lambda: text in (s := self.screen()) and s, timeout, 0.05))
        except AssertionError:
            raise AssertionError(f"{text!r} not on screen:\n{self.screen()}") from None

    def keys(self, *names: str) -> None:
        self.tmux("send-keys", "-t", "tui", *names)

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", "tui").returncode == 0

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def terminal_env(redis_url: str) -> str:
    """A shell prefix carrying this test's isolated environment into tmux."""
    names = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "PATH", "HOME")
    pairs = [f"{n}={shlex.quote(os.environ[n])}" for n in names if n in os.environ]
    return "env " + " ".join([*pairs, "TERM=xterm-256color", "TEXTUAL_ANIMATIONS=none"])


@pytest.fixture
def terminal(redis_url: str, terminal_env: str) -> Iterator[Terminal]:
    command = f"{terminal_env} {QOPS} tui --redis-url {redis_url} --refresh 0.5"
    term = Terminal(command)
    try:
        yield term
    finally:
        term.close()


def test_tui_drives_in_a_real_terminal(redis_url: str, r: redis.Redis, terminal: Terminal) -> None:
    client = qops.Client(redis_url)
    client.enqueue_many([qops.Task("email:send", {"n": i}, queue="emails") for i in range(7)])
    client.enqueue("report:build", {}, queue="critical")

    screen = terminal.wait_for_text("emails")
    assert "qops › queues" in screen and "critical" in screen and "TOTAL" in screen

    terminal.keys("Down", "Enter")  # rows sort by name: critical, then emails
    screen = terminal.wait_for_text("qops › emails")
    terminal.wait_for_text("email:send")
    assert "page 1/1" in terminal.screen()

    terminal.keys("?")
    terminal.wait_for_text("qops tui: keys")
    terminal.keys("Escape")
    terminal.wait_for_text("page 1/1")
    terminal.keys("Escape")
    terminal.wait_for_text("qops › queues")

    terminal.keys("Up", "P")
    terminal.wait_for_text("Pause queue 'critical'?")
    terminal.keys("y")
    wait_for(lambda: r.exists(keys.paused("critical")), timeout=10)
    terminal.wait_for_text("PAUSED")

    terminal.keys("2")
    terminal.wait_for_text("qops › servers")
    terminal.keys("1")
    terminal.wait_for_text("qops › queues")
    terminal.keys("q")
    wait_for(lambda: not terminal.alive(), timeout=10)


def test_tui_read_only_in_a_real_terminal(
    redis_url: str, r: redis.Redis, terminal_env: str
) -> None:
    qops.Client(redis_url).enqueue("report:build", {}, queue="critical")
    term = Terminal(f"{terminal_env} {QOPS} tui -u {redis_url} --read-only --no-mouse")
    try:
        term.wait_for_text("READ-ONLY")
        term.wait_for_text("critical")
        term.keys("P")
        term.wait_for_text("Read-only mode")
        assert not r.exists(keys.paused("critical"))
        term.keys("C-c")
        wait_for(lambda: not term.alive(), timeout=10)
    finally:
        term.close()


def test_tui_refuses_without_a_terminal(redis_url: str) -> None:
    result = run_qops("tui", url=redis_url)
    assert result.code == 2, str(result)
    assert "qops tui needs a terminal" in result.err


def test_tui_refresh_has_a_floor(redis_url: str) -> None:
    result = run_qops("tui", "--refresh", "0.1", url=redis_url)
    assert result.code == 2, str(result)
    assert "--refresh" in result.err


def test_tui_help_lists_its_options() -> None:
    result = run_qops("tui", "--help")
    assert result.code == 0, str(result)
    for option in ("--refresh", "--read-only", "--no-mouse", "--theme", "--redis-url"):
        assert option in result.out


def test_the_cli_does_not_import_textual() -> None:
    code = "import sys, qops.cli.main; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
