"""Short human forms of counts, sizes, times and payloads for narrow table cells."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

from qops.models import QueueInfo, TaskInfo


def count(n: int) -> str:
    """``1,234`` up to 99,999, then ``123k``, ``1.2M``, ``3.4G``."""
    if n < 100_000:
        return f"{n:,}"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(n)


def size(n: int) -> str:
    """Bytes as ``512 B``, ``1.5 KB``, ``12 MB`` (powers of 1024)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def duration(seconds: float) -> str:
    """``0s``, ``45s``, ``3m05s``, ``2h10m``, ``4d3h``."""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h}h"


def latency(q: QueueInfo) -> str:
    """How long the oldest pending task has waited; ``-`` when nothing waits, as in the CLI."""
    return duration(q.latency) if q.pending and q.latency > 0 else "-"


def ago(t: datetime | None, now: float) -> str:
    """``5s ago`` or ``in 3m00s`` relative to the unix time ``now``; ``-`` when unset."""
    if t is None:
        return "-"
    delta = now - t.timestamp()
    if delta >= 0:
        return f"{duration(delta)} ago"
    return f"in {duration(-delta)}"


def waited(t: datetime | None, now: float) -> str:
    """How long since ``t`` (``3m05s``); ``-`` when unknown."""
    return "-" if t is None else duration(now - t.timestamp())


def percent(ratio: float) -> str:
    if ratio <= 0:
        return "0%"
    if ratio < 0.001:
        return "<0.1%"
    return f"{ratio * 100:.1f}%" if ratio < 0.1 else f"{ratio * 100:.0f}%"


def printable(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` (they would garble the screen)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\t\n" else f"\\x{ord(c):02x}" for c in text)


def clip(text: str, width: int) -> str:
    """One printable line of at most ``width`` cells, with an ellipsis when cut."""
    line = printable(" ".join(text.split()))
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


def is_binary(data: bytes) -> bool:
    """Not UTF-8, or UTF-8 with control characters other than whitespace."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return not all(c.isprintable() or c in "\t\n\r" for c in text)


def preview(payload: bytes, width: int = 40) -> str:
    """Payload as one short line: compact JSON, text, or ``<N bytes binary>``."""
    if not payload:
        return "(empty)"
    if is_binary(payload):
        return f"<{len(payload):,} bytes binary>"
    text = payload.decode("utf-8")
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    return clip(text, width)


def short_id(task_id: str, width: int) -> str:
    return clip(task_id, width)


def retries(t: TaskInfo) -> str:
    return f"{t.retried}/{t.max_retry}"


def hexdump(data: bytes, limit: int = 4096) -> str:
    """Offset, hex and printable-ASCII columns, like ``hexdump -C``."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{text}|")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit:,} more bytes")
    return "\n".join(lines)
