from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from qops import Client, ConfigError, ConnectionFailedError, Task
from qops.config import save
from qops.connection import EmbeddedRedis, mask_url, resolve
from tests.redis_server import RedisServer, free_port


def test_mask_url_hides_password() -> None:
    assert mask_url("redis://u:s3cret@h:6379/2") == "redis://u:***@h:6379/2"
    assert mask_url("rediss://:s3cret@h/0") == "rediss://:***@h/0"
    assert mask_url("redis://h:6379") == "redis://h:6379"


def test_unreachable_redis_is_one_clear_error() -> None:
    url = f"redis://ops:hunter2@127.0.0.1:{free_port()}/0"
    client = Client(url)
    with pytest.raises(ConnectionFailedError) as exc_info:
        client.enqueue("t")
    message = str(exc_info.value)
    assert "hunter2" not in message
    assert f"redis://ops:***@127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/0" in message
    assert exc_info.value.exit_code == 4


@pytest.fixture
def password_server() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", "s3cret").start()
    yield server
    server.cleanup()


def test_password_and_db_index(password_server: RedisServer) -> None:
    url = f"redis://:s3cret@127.0.0.1:{password_server.port}/3"
    with Client(url) as client:
        client.enqueue("t", task_id="in-db-3")
    r = redis.Redis(port=password_server.port, password="s3cret", db=3)
    assert r.exists("asynq:{default}:t:in-db-3")
    assert redis.Redis(port=password_server.port, password="s3cret", db=0).dbsize() == 0


@pytest.mark.parametrize("password", ["wrong", None])
def test_refused_authentication(password_server: RedisServer, password: str | None) -> None:
    auth = f":{password}@" if password else ""
    client = Client(f"redis://{auth}127.0.0.1:{password_server.port}/0")
    with pytest.raises(ConnectionFailedError) as exc_info:
        client.enqueue("t")
    assert "wrong" not in str(exc_info.value)


def test_username_and_acl() -> None:
    server = RedisServer(
        "--user", "ops", "on", ">pw", "~*", "&*", "+@all", "--user", "default", "off"
    )  # fmt: skip
    server.start()
    try:
        with Client(f"redis://ops:pw@127.0.0.1:{server.port}/0") as client:
            info = client.enqueue("t")
        r = redis.Redis(port=server.port, username="ops", password="pw")
        assert r.exists(f"asynq:{{default}}:t:{info.id}")
    finally:
        server.cleanup()


def test_rediss_tls(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    server = RedisServer(
        "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
    )  # fmt: skip
    server.start()
    try:
        with Client(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}") as client:
            info = client.enqueue("t")
        r = redis.Redis(port=server.port)
        assert r.exists(f"asynq:{{default}}:t:{info.id}")
    finally:
        server.cleanup()


def test_resolution_order(monkeypatch: pytest.MonkeyPatch, redis_url: str, tmp_path: Path) -> None:
    save({"profiles": {"default": {"redis_url": "redis://from-profile:1/0"},
                       "other": {"redis_url": "redis://other:2/0"}}})  # fmt: skip
    assert resolve().url == "redis://from-profile:1/0"
    assert resolve(profile="other").url == "redis://other:2/0"
    monkeypatch.setenv("QOPS_REDIS_URL", "redis://from-env:3/0")
    assert resolve().url == "redis://from-env:3/0"
    assert resolve("redis://flag:4/0").url == "redis://flag:4/0"
    monkeypatch.delenv("QOPS_REDIS_URL")
    with pytest.raises(ConfigError, match="no profile 'missing'"):
        resolve(profile="missing")


@pytest.mark.parametrize(
    "url", ["http://h:1", "redis://h:notaport", "redis://h:1/abc", "redis://:pw@/0"]
)
def test_invalid_url(url: str) -> None:
    with pytest.raises(ConfigError):
        resolve(url)


def test_bad_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[profiles\n")
    monkeypatch.setenv("QOPS_CONFIG", str(path))
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve()


def test_embedded_redis_starts_once_persists_and_announces(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("QOPS_REDIS_URL", None)
    code = (
        "import qops; c = qops.Client(); "
        "print(c.broker.url); print(c.enqueue('t', task_id='kept').id)"
    )
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    url = first.stdout.split()[0]
    notice = [line for line in first.stderr.splitlines() if line]
    assert len(notice) == 1 and "embedded Redis" in notice[0] and url in notice[0]
    embedded = EmbeddedRedis(tmp_path / "data" / "qops" / "redis")
    try:
        port = embedded.running_port()
        assert port is not None and url == f"redis://127.0.0.1:{port}/0"
        assert redis.Redis(port=port).config_get("bind")["bind"].startswith("127.0.0.1")
        second = subprocess.run(
            [sys.executable, "-c", "import qops; print(qops.Client().broker.url)"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert second.stdout.strip() == url  # reused, not a second server
        # Data survives a restart of the embedded server.
        assert embedded.stop()
        third = subprocess.run(
            [sys.executable, "-c", "import qops; c = qops.Client(); "
             "print(c.broker.redis.exists('asynq:{default}:t:kept'))"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert third.stdout.strip() == "1", third.stderr
    finally:
        embedded.stop()


def test_configured_url_never_starts_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QOPS_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    Client()
    assert not (tmp_path / "data" / "qops" / "redis").exists()


def test_client_survives_a_redis_restart() -> None:
    server = RedisServer().start()
    try:
        with Client(server.url) as client:
            client.enqueue("t", task_id="before")
            server.stop()
            with pytest.raises(ConnectionFailedError):
                client.enqueue("t", task_id="during")
            server.start()
            client.enqueue("t", task_id="after")
            # Both the kept connection and the pool path recover.
            client.enqueue_many([Task("t", task_id="batch-1"), Task("t", task_id="batch-2")])
        r = redis.Redis(port=server.port)
        assert r.lrange("asynq:{default}:pending", 0, -1) == [b"batch-2", b"batch-1", b"after"]
    finally:
        server.cleanup()
