"""``qops config``: the profiles file, and how profiles pick the Redis a command uses."""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from qops.connection import EmbeddedRedis
from tests.qops_cli import error_line, qops


def config_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "qops" / "config.toml"


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """The embedded Redis of this test's data directory, stopped afterwards."""
    server = EmbeddedRedis(tmp_path / "data" / "qops" / "redis")
    yield server
    server.stop()


def test_path_follows_xdg_and_qops_config(tmp_path: Path) -> None:
    assert qops("config", "path").out.strip() == str(config_file(tmp_path))
    other = tmp_path / "elsewhere.toml"
    result = qops("config", "path", env={"QOPS_CONFIG": str(other)})
    assert result.code == 0
    assert result.out.strip() == str(other)


def test_init_writes_a_private_file_once(tmp_path: Path) -> None:
    result = qops("config", "init", "--redis-url", "redis://:pw@10.0.0.5:6379/1")
    assert result.code == 0, result
    assert result.out == ""
    assert "***" in result.err
    assert "pw" not in result.err
    path = config_file(tmp_path)
    data = tomllib.loads(path.read_text())
    # A URL given means "use this Redis": the profile is the default one.
    assert data == {
        "default_profile": "local",
        "profiles": {"local": {"redis_url": "redis://:pw@10.0.0.5:6379/1"}},
    }
    assert "'local' is the default profile" in result.err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    again = qops("config", "init")
    assert again.code == 1
    assert "already exists" in error_line(again)
    assert tomllib.loads(path.read_text()) == data
    forced = qops("config", "init", "--force", "--default")
    assert forced.code == 0
    assert tomllib.loads(path.read_text()) == {
        "default_profile": "local",
        "profiles": {"local": {"redis_url": "redis://127.0.0.1:6379/0"}},
    }


def test_init_without_a_url_keeps_the_embedded_redis(
    tmp_path: Path, embedded: EmbeddedRedis
) -> None:
    result = qops("config", "init")
    assert result.code == 0, result
    assert tomllib.loads(config_file(tmp_path).read_text()) == {
        "profiles": {"local": {"redis_url": "redis://127.0.0.1:6379/0"}}
    }
    assert f"wrote {config_file(tmp_path)}: profile 'local'" in result.err
    assert "commands keep using the embedded Redis" in result.err
    assert "--profile local" in result.err
    assert "qops config set default_profile local" in result.err
    # Right after it, commands still reach the embedded Redis (nothing listens on 6379 here).
    listed = qops("queue", "ls", "--json")
    assert listed.code == 0, listed
    assert listed.json() == []
    assert "using the embedded Redis" in listed.err
    assert qops("config", "show", "--json").json()["active_profile"] == "default"


def test_set_and_show_mask_passwords(tmp_path: Path) -> None:
    url = "rediss://ops:s3cret@redis.internal:6380/2"
    result = qops("config", "set", "profiles.prod.redis_url", url)
    assert result.code == 0, result
    assert "s3cret" not in result.err
    assert tomllib.loads(config_file(tmp_path).read_text())["profiles"]["prod"]["redis_url"] == url

    shown = qops("config", "show")
    assert shown.code == 0
    assert "s3cret" not in shown.out + shown.err
    assert 'redis_url = "rediss://ops:***@redis.internal:6380/2"' in shown.out

    doc = qops("config", "show", "--json").json()
    assert (
        doc["config"]["profiles"]["prod"]["redis_url"] == "rediss://ops:***@redis.internal:6380/2"
    )
    assert doc["active_profile"] == "default"
    assert doc["exists"] is True


def test_set_short_key_goes_to_the_profile_option(tmp_path: Path) -> None:
    assert qops("--profile", "stage", "config", "set", "redis_url", "redis://h:1/0").code == 0
    assert qops("config", "set", "refresh", "2.5", "--profile", "stage").code == 0
    assert qops("config", "set", "default_profile", "stage").code == 0
    data = tomllib.loads(config_file(tmp_path).read_text())
    assert data["profiles"]["stage"] == {"redis_url": "redis://h:1/0", "refresh": 2.5}
    assert data["default_profile"] == "stage"
    assert qops("config", "show", "--json").json()["active_profile"] == "stage"


def test_set_refuses_bad_keys_and_values_and_keeps_the_file(tmp_path: Path) -> None:
    assert qops("config", "set", "profiles.a.redis_url", "redis://h:1/0").code == 0
    before = config_file(tmp_path).read_bytes()
    cases = [
        (("colour", "red"), "unknown setting 'colour'"),
        (("profiles.a.b.c", "x"), "use SETTING, profiles.NAME.SETTING or default_profile"),
        (("redis_url", "http://h:1"), "scheme must be one of"),
        (("redis_url", "redis://h:1/x"), "database must be a number"),
        (("refresh", "0.1"), "refresh: '0.1' must be a number of seconds >= 0.5"),
        (("default_profile", "nope"), "no profile 'nope' (known: a)"),
    ]
    for args, message in cases:
        result = qops("config", "set", *args)
        assert result.code == 2, result
        assert message in error_line(result)
    assert config_file(tmp_path).read_bytes() == before


def test_show_without_a_file(tmp_path: Path) -> None:
    result = qops("config", "show")
    assert result.code == 0
    assert result.out == ""
    assert "qops config init" in result.err


def test_profile_picks_the_redis(redis_url: str, r: redis.Redis) -> None:
    assert qops("config", "set", "profiles.test.redis_url", redis_url).code == 0
    result = qops("--profile", "test", "enqueue", "ping")
    assert result.code == 0, result
    assert r.exists(f"asynq:{{default}}:t:{result.out.strip()}")
    # QOPS_PROFILE works as well, and naming a missing profile is a usage error.
    assert qops("enqueue", "ping", env={"QOPS_PROFILE": "test"}).code == 0
    missing = qops("enqueue", "ping", "--profile", "nope")
    assert missing.code == 2
    assert "no profile 'nope'" in error_line(missing)


def test_flag_beats_env_beats_profile(redis_url: str, r: redis.Redis) -> None:
    assert qops("config", "set", "redis_url", "redis://127.0.0.1:1/0").code == 0
    # The profile points at a closed port; the env var wins over it.
    assert qops("enqueue", "a", url=redis_url).code == 0
    # The flag wins over a dead env var.
    result = qops(
        "enqueue", "b", "--redis-url", redis_url, env={"QOPS_REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert result.code == 0, result
    assert r.llen("asynq:{default}:pending") == 2
