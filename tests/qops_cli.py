"""Run the real ``qops`` executable in a subprocess and look at what it did to Redis."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

QOPS = str(Path(sys.executable).parent / "qops")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[str]:
        return self.out.splitlines()

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def qops(
    *args: str,
    url: str | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """``qops ARGS`` with stdin from ``stdin`` (empty when None), never from a terminal."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    if url is not None:
        full_env["QOPS_REDIS_URL"] = url
    proc = subprocess.run(
        [QOPS, *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def redis_state(r: redis.Redis) -> dict[bytes, bytes | None]:
    """Every key with its serialized value: equal snapshots mean nothing was written."""
    return {k: r.dump(k) for k in sorted(r.keys("*"))}


def error_line(result: Result) -> str:
    """The single ``qops: error:`` line of a failed run."""
    lines = [ln for ln in result.err.splitlines() if ln.startswith("qops: error: ")]
    assert len(lines) == 1, str(result)
    return lines[0]


def on_terminal(args: list[str], url: str, columns: int) -> str:
    """What ``qops ARGS`` shows with stdout on a pseudo-terminal ``columns`` wide, uncoloured."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [QOPS, *args],
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "QOPS_REDIS_URL": url, "COLUMNS": str(columns), "NO_COLOR": "1"},
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(30) == 0
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())
        return text.replace("\r\n", "\n")
    finally:
        os.close(master)
