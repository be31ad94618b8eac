"""Redis commands as values, so one plan serves the sync and the asyncio broker alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qops.storage.scripts import Script, script

Arg = str | bytes | int | float


@dataclass(frozen=True, slots=True)
class Call:
    """One Redis command; ``script`` is set when the command is an EVALSHA of that script."""

    args: tuple[Arg, ...]
    script: Script | None = None


def cmd(*args: Arg) -> Call:
    return Call(args)


def lua(name: str, keys: Sequence[Arg], argv: Sequence[Arg] = ()) -> Call:
    s = script(name)
    return Call(("EVALSHA", s.sha, len(keys), *keys, *argv), s)
