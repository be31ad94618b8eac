"""TOML config file with named profiles.

    default_profile = "local"        # optional; else the profile named "default"

    [profiles.local]
    redis_url = "redis://127.0.0.1:6379/0"

    [profiles.prod]
    redis_url = "rediss://ops:secret@redis.internal:6380/2"

The file lives in the user's config directory (``qops config path`` prints it); the
``QOPS_CONFIG`` environment variable points elsewhere.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from qops.errors import ConfigError

PROFILE_KEYS = ("redis_url", "refresh", "theme")


def config_path() -> Path:
    env = os.environ.get("QOPS_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("qops")) / "config.toml"


def load(path: Path | None = None) -> dict[str, Any]:
    """The whole config file as a dict; an absent file is an empty config."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise ConfigError(f"config file {path}: [profiles.NAME] must be tables")
    return data


def save(data: dict[str, Any], path: Path | None = None) -> Path:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # The file may hold passwords in URLs: readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(data, fh)
    tmp.replace(path)
    return path


def profile_name(data: dict[str, Any], requested: str | None = None) -> str:
    name = requested or os.environ.get("QOPS_PROFILE") or data.get("default_profile") or "default"
    return str(name)


def profile(requested: str | None = None, path: Path | None = None) -> dict[str, Any]:
    """Settings of the requested (or default) profile; naming a missing profile is an error."""
    data = load(path)
    name = profile_name(data, requested)
    profiles: dict[str, dict[str, Any]] = data.get("profiles", {})
    if name not in profiles:
        if requested or os.environ.get("QOPS_PROFILE"):
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"no profile {name!r} in {path or config_path()} (known: {known})")
        return {}
    return profiles[name]
