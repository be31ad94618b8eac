"""``qops export`` streams tasks out as JSON Lines or CSV; ``qops import`` enqueues them again.

An export line is a task's ``--json`` document, with one guarantee more: its ``payload`` and
``result`` give back the exact stored bytes (JSON is kept as JSON only when re-encoding it
reproduces the bytes; otherwise it is exported as text, and binary data as base64).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from qops.cli.common import EXIT_FAILED, SETTINGS, command
from qops.cli.durations import parse_time
from qops.cli.enqueue import enqueue_chunks, open_lines
from qops.cli.output import write_csv, write_jsonl
from qops.cli.params import MaybeQueueOpt, QueueOpt, StateOpt, TypeOpt
from qops.cli.taskspec import build_task, json_bytes
from qops.errors import InvalidInputError, QopsError, QueueNotFoundError, TaskIdConflictError
from qops.models import TaskInfo, TaskState, bytes_json
from qops.wording import plural

if TYPE_CHECKING:
    from qops.task import Task


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def exact_bytes_json(data: bytes | None) -> dict[str, Any] | None:
    """`bytes_json`, except that JSON which would not re-encode to ``data`` is given as text."""
    doc = bytes_json(data)
    if doc is not None and doc["encoding"] == "json" and json_bytes(doc["data"]) != data:
        assert data is not None
        return {"encoding": "text", "data": data.decode("utf-8")}
    return doc


def export_doc(t: TaskInfo) -> dict[str, Any]:
    doc = t.to_json()
    doc["payload"] = exact_bytes_json(t.payload)
    doc["result"] = exact_bytes_json(t.result)
    return doc


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """stdout, or ``path`` written under a temporary name and renamed once complete."""
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    part = target.with_name(target.name + ".part")
    try:
        fh = open(part, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InvalidInputError(f"-o {path}: cannot write: {exc.strerror}") from None
    try:
        with fh:
            yield fh
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=SETTINGS.err(),
        transient=True,
    )


@command
def export_cmd(
    queue: QueueOpt,
    state: StateOpt,
    task_type: TypeOpt = None,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="jsonl (re-importable) or csv.")
    ] = ExportFormat.JSONL,
    out: Annotated[
        str | None, typer.Option("--output", "-o", metavar="FILE", help="Write here, not stdout.")
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Tasks fetched per round trip.")] = 1000,
) -> None:
    """Stream every task of a queue in a state, in constant memory.

    Examples: `qops export -q default -s archived > archived.jsonl`,
    `qops export -q default -s retry -f csv -o retry.csv`.
    """
    insp = SETTINGS.inspector()
    if queue not in insp.queues():
        raise QueueNotFoundError(queue)
    tasks: Iterator[TaskInfo] = insp.iter_tasks(queue, state, batch=batch, task_type=task_type)
    writer = write_jsonl if fmt is ExportFormat.JSONL else write_csv
    docs = (export_doc(t) if fmt is ExportFormat.JSONL else t.to_json() for t in tasks)
    with _output(out) as fh:
        if sys.stderr.isatty() and not SETTINGS.quiet:
            total = insp.count_tasks(queue, state, task_type=task_type)
            with _progress() as progress:
                bar = progress.add_task("export", total=total)

                def counted() -> Iterator[dict[str, Any]]:
                    # Advancing in steps keeps the bar's lock off the per-task path.
                    for i, doc in enumerate(docs, start=1):
                        yield doc
                        if i % 256 == 0:
                            progress.update(bar, completed=i)

                n = writer(counted(), fh)
        else:
            n = writer(docs, fh)
    SETTINGS.info(f"exported {plural(n, f'{state.value} task')} from queue {queue!r}")


# -- import -------------------------------------------------------------------------------

BAD_LINE = "bad line"
DEADLINE_PASSED = "deadline passed"
ID_CONFLICT = "id conflict"


class SkipError(InvalidInputError):
    """An export line that is not imported, with the reason counted in the summary."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


def _payload(value: Any, what: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"encoding", "data"}:
        raise InvalidInputError(f'{what}: expected {{"encoding": ..., "data": ...}}')
    encoding, data = value["encoding"], value["data"]
    if encoding == "json":
        return json_bytes(data)
    if encoding == "text" and isinstance(data, str):
        return data.encode("utf-8")
    if encoding == "base64" and isinstance(data, str):
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error:
            raise InvalidInputError(f"{what}: invalid base64") from None
    raise InvalidInputError(f"{what}: unknown encoding {encoding!r}")


def task_from_export(doc: Any, queue: str | None, new_ids: bool, now: datetime) -> Task:
    """The task an export line describes, to run now or at its next run time if still ahead."""
    if not isinstance(doc, dict):
        raise SkipError(BAD_LINE, "a line must be a JSON object")
    if doc.get("corrupt"):
        raise SkipError(BAD_LINE, f"the task was exported as corrupt: {doc['corrupt']}")
    try:
        deadline = doc.get("deadline")
        if deadline is not None and parse_time(str(deadline), "deadline") <= now:
            raise SkipError(DEADLINE_PASSED, f"its deadline {deadline} has passed")
        fields: dict[str, Any] = {
            "type": doc.get("type"),
            "payload": _payload(doc.get("payload"), "payload"),
            "queue": queue or doc.get("queue"),
            "max_retry": doc.get("max_retry"),
            "timeout": doc.get("timeout") or None,  # 0 means "deadline only"
            "deadline": deadline,
            "retention": doc.get("retention") or None,
            "group": doc.get("group") or None,
            "headers": doc.get("headers") or None,
            "id": None if new_ids else doc.get("id"),
        }
        at = doc.get("next_process_at")
        if doc.get("state") in (TaskState.SCHEDULED, TaskState.RETRY) and at is not None:
            when = parse_time(str(at), "next_process_at")
            # A second of slack: a time that passes while the line is read just runs now.
            if when.timestamp() > time.time() + 1:
                fields["at"] = when.timestamp()
        return build_task(fields, str, payload_is_bytes=True)
    except SkipError:
        raise
    except InvalidInputError as exc:
        raise SkipError(BAD_LINE, str(exc)) from None


def check_json_lines(first: str, label: str, line: int) -> None:
    """Refuse, before going further, a file that is not JSON Lines at all.

    Every export line is a JSON object; a first line that does not even start like one (a CSV
    header, a JSON array) means a wrong file, better said once than once per line.
    """
    text = first.strip()
    if text.startswith("{"):
        return
    only = "only JSON Lines exports can be imported (qops export without --format csv)"
    if "," in text and not text.startswith("["):
        raise InvalidInputError(f"{label} looks like CSV; {only}")
    raise InvalidInputError(f"{label}: line {line} is not a JSON object; {only}")


@command
def import_cmd(
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="A JSON Lines export.")],
    queue: MaybeQueueOpt = None,
    new_ids: Annotated[
        bool, typer.Option("--new-ids", help="Give every task a new id (no id conflicts).")
    ] = False,
) -> None:
    """Enqueue the tasks of a `qops export` file again (migration, replay of archived tasks).

    Each task keeps its id (unless --new-ids), type, payload, queue (unless --queue), max
    retries, timeout, deadline, retention, group and headers, and runs now, or at its next
    run time when that is still ahead. Skipped lines (id conflict, deadline passed, bad line)
    are reported on stderr with their reason and counted; exit 1 if any was skipped.
    """
    from qops.client import Client

    fh, label = open_lines(file, "input file")
    skipped: Counter[str] = Counter()
    now = datetime.now(UTC)

    def skip(line: int, reason: str, detail: str) -> None:
        skipped[reason] += 1
        SETTINGS.err().print(f"qops: skipped {label}:{line}: {reason}: {detail}", markup=False)

    def tasks(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, Task]]:
        for n, raw in lines:
            try:
                yield n, task_from_export(json.loads(raw), queue, new_ids, now)
            except json.JSONDecodeError as exc:
                skip(n, BAD_LINE, f"invalid JSON at column {exc.colno}: {exc.msg}")
            except SkipError as exc:
                skip(n, exc.reason, str(exc))

    imported = 0
    try:
        lines: Iterator[tuple[int, str]] = (
            (n, raw) for n, raw in enumerate(fh, start=1) if raw.strip()
        )
        first = next(lines, None)
        if first is not None:
            check_json_lines(first[1], label, first[0])
            lines = itertools.chain([first], lines)
        with Client(SETTINGS.redis_url, profile=SETTINGS.profile) as client:
            for line, _task, result in enqueue_chunks(client, tasks(lines)):
                if isinstance(result, TaskIdConflictError):
                    skip(line, ID_CONFLICT, f"{result}; --new-ids imports it under a new id")
                elif isinstance(result, QopsError):
                    skip(line, BAD_LINE, str(result))
                else:
                    imported += 1
    finally:
        if fh is not sys.stdin:
            fh.close()
    total_skipped = sum(skipped.values())
    if SETTINGS.json:
        SETTINGS.emit_json(
            {"imported": imported, "skipped": total_skipped, "skipped_by_reason": dict(skipped)}
        )
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))
    SETTINGS.info(
        f"imported {plural(imported, 'task')}; skipped {total_skipped}"
        + (f" ({reasons})" if reasons else "")
    )
    if total_skipped:
        raise typer.Exit(EXIT_FAILED)
