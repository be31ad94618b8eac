"""The Lua scripts in ``lua/``, read once on first use and run by their SHA1 digest."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    source: bytes
    sha: str


@functools.cache
def script(name: str) -> Script:
    source = resources.files("qops.storage").joinpath("lua", f"{name}.lua").read_bytes()
    return Script(name, source, hashlib.sha1(source).hexdigest())
