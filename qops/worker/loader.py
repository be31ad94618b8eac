"""`load_handlers`: find the application's `Handlers` from a ``"package.module:attribute"`` ref."""

from __future__ import annotations

import importlib
import os
import sys

from qops.errors import ConfigError
from qops.worker.handlers import Handlers


def load_handlers(ref: str) -> Handlers:
    """Import ``package.module`` and return its ``attribute``.

    The attribute is a `Handlers`, or a callable taking no arguments that returns one. The
    current directory is importable, as it is for ``python -m``.

    Raises:
        ConfigError: a malformed ref, a module that cannot be imported (or fails while
            importing), a missing attribute, or an object that is not a `Handlers`.
    """
    module_name, sep, attr = ref.partition(":")
    module_name, attr = module_name.strip(), attr.strip()
    if not sep or not module_name or not attr:
        raise ConfigError(f"--app must look like 'package.module:handlers', got {ref!r}")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise ConfigError(f"cannot import module {module_name!r} (from --app {ref!r})") from exc
        raise ConfigError(f"importing {module_name!r} failed: {exc}") from exc
    except Exception as exc:
        raise ConfigError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not isinstance(obj, Handlers) and callable(obj) and not isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:
            raise ConfigError(f"{ref} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, Handlers):
        raise ConfigError(
            f"{ref} is a {type(obj).__name__}, not a qops.Handlers or a function returning one"
        )
    return obj
