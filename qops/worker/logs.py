"""Worker log lines: one per task event, with its fields in the record's ``extra``.

Task events are logged at INFO on the ``qops.worker`` logger, with these fields: ``event``
(``start``, ``done``, ``retry``, ``archive``, ``requeue``, ``recovered``), ``task_id``,
``task_type``, ``queue``, ``retried``, ``max_retry``, and per event ``duration`` (seconds),
``delay`` (seconds), ``error`` and ``outcome``. Payloads are logged only when asked for
(``payload``, ``payload_encoding``, ``payload_bytes``, ``payload_truncated``).

`JsonFormatter` prints a record and its extra fields as one JSON object per line;
`TextFormatter` prints the message (plus the payload, when the record has one).
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

PAYLOAD_CAP = 1024
"""Payload bytes logged at most; the rest is cut off (``payload_truncated``)."""

TEXT_FORMAT = "%(asctime)s %(levelname)s pid=%(process)d %(message)s"

# Attributes every LogRecord has: whatever else a record carries came in through ``extra``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def payload_fields(payload: bytes, cap: int = PAYLOAD_CAP) -> dict[str, Any]:
    """Log fields for ``payload``: its first ``cap`` bytes as text, or base64 when not UTF-8."""
    head = payload[:cap]
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(head).decode("ascii"), "base64"
    else:
        # A cut may split a character: drop the broken tail rather than log replacement marks.
        text, encoding = head.decode("utf-8", "ignore"), "utf-8"
    return {
        "payload": text,
        "payload_encoding": encoding,
        "payload_bytes": len(payload),
        "payload_truncated": len(payload) > cap,
    }


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record got through ``extra``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, pid, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        data: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT`, with the payload appended to the lines that carry one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        payload = getattr(record, "payload", None)
        if payload is None:
            return line
        cut = " (truncated)" if getattr(record, "payload_truncated", False) else ""
        encoding = getattr(record, "payload_encoding", "utf-8")
        label = "payload" if encoding == "utf-8" else f"payload({encoding})"
        return f"{line} {label}={payload!r}{cut}"


LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure(level: str, fmt: str, stream: Any) -> None:
    """Send the ``qops`` loggers to ``stream`` at ``level`` (a `LEVELS` name), as text or JSON."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("qops")
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    root.propagate = False
