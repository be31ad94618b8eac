"""``qops config``: the TOML file of named profiles (see `qops.config`)."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from qops import config
from qops.cli.common import SETTINGS, command, fail
from qops.connection import mask_url, validate_url
from qops.errors import InvalidInputError

config_app = typer.Typer(
    help="Show and edit the config file of named profiles.", no_args_is_help=True
)

DEFAULT_URL = "redis://127.0.0.1:6379/0"
PROFILE = "local"
"""The profile ``config init`` writes."""


def masked(data: Any) -> Any:
    """A copy of ``data`` with every ``redis_url`` password replaced by ``***``."""
    if isinstance(data, dict):
        return {
            k: mask_url(v) if k == "redis_url" and isinstance(v, str) else masked(v)
            for k, v in data.items()
        }
    return data


def _check_value(key: str, value: str) -> Any:
    if key == "redis_url":
        return validate_url(value)
    if key == "refresh":
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if seconds < 0.5:
            raise InvalidInputError(f"refresh: {value!r} must be a number of seconds >= 0.5")
        return seconds
    if not value.strip():
        raise InvalidInputError(f"{key}: the value must not be empty")
    return value


def _target(key: str, data: dict[str, Any]) -> tuple[str | None, str]:
    """(profile, setting) named by ``key``; profile None for top-level settings."""
    if key == "default_profile":
        return None, key
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "profiles" and parts[1]:
        profile, setting = parts[1], parts[2]
    elif len(parts) == 1:
        profile, setting = config.profile_name(data, SETTINGS.profile), key
    else:
        raise InvalidInputError(
            f"key {key!r}: use SETTING, profiles.NAME.SETTING or default_profile"
        )
    if setting not in config.PROFILE_KEYS:
        raise InvalidInputError(
            f"key {key!r}: unknown setting {setting!r} (known: {', '.join(config.PROFILE_KEYS)})"
        )
    return profile, setting


@config_app.command("path")
@command
def path_cmd() -> None:
    """Print where the config file is (QOPS_CONFIG overrides it)."""
    typer.echo(str(config.config_path()))


@config_app.command("init")
@command
def init_cmd(
    default: Annotated[
        bool,
        typer.Option(
            "--default", help="Make the profile the default one (implied by a Redis URL)."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a config file with a profile named "local".

    Its URL is --redis-url (or QOPS_REDIS_URL) when given, and the profile is then the default
    one. Without a URL it is redis://127.0.0.1:6379/0 and, unless --default, not the default:
    commands keep using the embedded Redis until it is chosen.
    """
    path = config.config_path()
    if path.exists() and not force:
        raise fail(f"config file {path} already exists; pass --force to overwrite it")
    url = validate_url(SETTINGS.redis_url or DEFAULT_URL)
    is_default = default or SETTINGS.redis_url is not None
    data: dict[str, Any] = {"profiles": {PROFILE: {"redis_url": url}}}
    if is_default:
        data = {"default_profile": PROFILE, **data}
    config.save(data, path)
    SETTINGS.info(f"wrote {path}: profile {PROFILE!r} with redis_url {mask_url(url)}")
    if is_default:
        SETTINGS.info(
            f"{PROFILE!r} is the default profile: commands use it unless --redis-url, "
            "QOPS_REDIS_URL or --profile say otherwise"
        )
    else:
        SETTINGS.info(
            f"{PROFILE!r} is not the default, so commands keep using the embedded Redis; "
            f"use it with --profile {PROFILE}, or make it the default with "
            f"`qops config set default_profile {PROFILE}`"
        )


@config_app.command("show")
@command
def show_cmd() -> None:
    """Print the config file with passwords masked, and which profile is active."""
    import tomli_w

    path = config.config_path()
    data = config.load(path)
    active = config.profile_name(data, SETTINGS.profile)
    if SETTINGS.json:
        SETTINGS.emit_json(
            {
                "path": str(path),
                "exists": path.exists(),
                "active_profile": active,
                "config": masked(data),
            }
        )
        return
    if not path.exists():
        SETTINGS.info(f"no config file at {path}; `qops config init` writes one")
        return
    SETTINGS.info(f"{path} (active profile: {active})")
    typer.echo(tomli_w.dumps(masked(data)), nl=False)


@config_app.command("set")
@command
def set_cmd(
    key: Annotated[
        str,
        typer.Argument(
            help="redis_url, refresh or theme (in the --profile profile, else the default "
            "one), profiles.NAME.SETTING, or default_profile."
        ),
    ],
    value: Annotated[str, typer.Argument(help="The new value.")],
) -> None:
    """Set one value, creating the file and the profile when needed.

    Examples: `qops config set profiles.prod.redis_url rediss://ops:pw@redis:6380/0`,
    `qops --profile prod config set redis_url redis://10.0.0.5:6379/0`,
    `qops config set default_profile prod`.
    """
    path = config.config_path()
    data = config.load(path)
    profile, setting = _target(key, data)
    profiles: dict[str, Any] = data.setdefault("profiles", {})
    if profile is None:
        if value not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise InvalidInputError(f"default_profile: no profile {value!r} (known: {known})")
        data["default_profile"] = value
        shown = value
    else:
        checked = _check_value(setting, value)
        profiles.setdefault(profile, {})[setting] = checked
        shown = mask_url(value) if setting == "redis_url" else str(checked)
    config.save(data, path)
    where = f"profiles.{profile}.{setting}" if profile else setting
    SETTINGS.info(f"set {where} = {shown} in {path}")
    if profile is not None and os.environ.get("QOPS_REDIS_URL") and setting == "redis_url":
        SETTINGS.info("note: QOPS_REDIS_URL is set and takes precedence over profiles")
