"""``qops enqueue``: one task from flags, or many from a JSON Lines file with ``--batch``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from qops.cli.common import EXIT_FAILED, SETTINGS, command
from qops.cli.taskspec import build_task, flag_name
from qops.errors import InvalidInputError, QopsError
from qops.wording import plural

if TYPE_CHECKING:
    from qops.client import Client
    from qops.task import Task

CHUNK = 1000


def arg_name(field: str) -> str:
    """How ``qops enqueue`` names a field in errors: TYPE is its argument, the rest flags."""
    return "TYPE" if field == "type" else flag_name(field)


def read_source(spec: str, what: str) -> tuple[str, str]:
    """(text, label) of ``-`` (stdin), ``@-``, ``@path`` or a literal; file errors exit 2."""
    if spec in ("-", "@-"):
        return sys.stdin.read(), f"{what} (stdin)"
    if spec.startswith("@"):
        path = Path(spec[1:])
        try:
            return path.read_text(encoding="utf-8"), f"{what} {spec}"
        except FileNotFoundError:
            raise InvalidInputError(f"{what} {spec}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise InvalidInputError(f"{what} {spec}: cannot read: {reason}") from None
    return spec, what


def parse_payload(spec: str) -> Any:
    text, label = read_source(spec, "--payload")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{label}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def open_lines(spec: str, what: str) -> tuple[IO[str], str]:
    """The file ``spec`` names (``-``: stdin) and its label; ``what`` names it in errors."""
    if spec == "-":
        return sys.stdin, "<stdin>"
    try:
        return open(spec, encoding="utf-8"), spec
    except FileNotFoundError:
        raise InvalidInputError(f"{what} {spec}: no such file") from None
    except OSError as exc:
        raise InvalidInputError(f"{what} {spec}: cannot read: {exc.strerror}") from None


def enqueue_chunks(
    client: Client, tasks: Iterator[tuple[int, Task]]
) -> Iterator[tuple[int, Task, Any]]:
    """(line, task, TaskInfo or QopsError) for every task, sent CHUNK at a time."""
    chunk: list[tuple[int, Task]] = []
    for item in tasks:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield from _send(client, chunk)
            chunk = []
    if chunk:
        yield from _send(client, chunk)


def _send(client: Client, chunk: list[tuple[int, Task]]) -> Iterator[tuple[int, Task, Any]]:
    results = client.enqueue_many([t for _, t in chunk])
    for (line, task), result in zip(chunk, results, strict=True):
        yield line, task, result


def _batch(spec: str, defaults: dict[str, Any]) -> None:
    from qops.client import Client

    fh, label = open_lines(spec, "--batch")
    failed = 0

    def report(line: int, reason: str) -> None:
        nonlocal failed
        failed += 1
        SETTINGS.err().print(f"qops: error: {label}:{line}: {reason}", markup=False)

    def tasks() -> Iterator[tuple[int, Task]]:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
                if not isinstance(doc, dict):
                    raise InvalidInputError("a line must be a JSON object")
                yield n, build_task({**defaults, **doc}, str)
            except json.JSONDecodeError as exc:
                report(n, f"invalid JSON at column {exc.colno}: {exc.msg}")
            except InvalidInputError as exc:
                report(n, str(exc))

    enqueued = 0
    try:
        with Client(SETTINGS.redis_url, profile=SETTINGS.profile) as client:
            for line, _task, result in enqueue_chunks(client, tasks()):
                if isinstance(result, QopsError):
                    report(line, str(result))
                    continue
                enqueued += 1
                if SETTINGS.json:
                    typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
                else:
                    typer.echo(result.id)
    finally:
        if fh is not sys.stdin:
            fh.close()
    SETTINGS.info(f"enqueued {plural(enqueued, 'task')}; {plural(failed, 'line')} failed")
    if failed:
        raise typer.Exit(EXIT_FAILED)


@command
def enqueue(
    task_type: Annotated[
        str | None, typer.Argument(metavar="TYPE", help="Task type (omit with --batch).")
    ] = None,
    payload: Annotated[
        str | None,
        typer.Option(
            "--payload",
            "-p",
            metavar="JSON|@FILE|-",
            help="Payload as JSON text, @file.json, or - for stdin.",
        ),
    ] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", "-q", help="Queue (default: default).")
    ] = None,
    in_: Annotated[
        str | None,
        typer.Option("--in", metavar="DURATION", help="Run after a delay: 10s, 5m, 1h30m."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="TIME", help="Run at an ISO 8601 time with timezone."),
    ] = None,
    max_retry: Annotated[
        int | None, typer.Option("--max-retry", min=0, help="Retries before archiving (25).")
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="Longest one run may take (30m default)."),
    ] = None,
    deadline: Annotated[
        str | None, typer.Option(metavar="TIME", help="Never run after this ISO 8601 time.")
    ] = None,
    unique: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="Refuse identical tasks for this long."),
    ] = None,
    task_id: Annotated[str | None, typer.Option("--id", help="Task id (default: UUID).")] = None,
    retention: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="Keep the task as completed this long."),
    ] = None,
    group: Annotated[str | None, typer.Option(help="Group to aggregate the task in.")] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", metavar="KEY=VALUE", help="Task header; repeatable."),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            metavar="FILE|-",
            help="JSON Lines, one task per line; flags given too act as defaults.",
        ),
    ] = None,
) -> None:
    """Enqueue a task and print its id (its TaskInfo with --json).

    Examples: `qops enqueue email:send -p '{"to": "a@b.c"}' --in 5m`,
    `qops enqueue report -p @args.json -q critical --unique 1h`,
    `qops enqueue --batch tasks.jsonl` (exit 1 when some lines failed; see README).
    """
    headers: dict[str, str] | None = None
    for item in header or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--header {item!r}: expected KEY=VALUE")
        headers = {**(headers or {}), key: value}
    fields: dict[str, Any] = {
        "queue": queue,
        "max_retry": max_retry,
        "timeout": timeout,
        "deadline": deadline,
        "unique": unique,
        "retention": retention,
        "group": group,
        "headers": headers,
        "in": in_,
        "at": at,
    }
    if batch is not None:
        given = [arg_name(k) for k, v in (("type", task_type), ("payload", payload)) if v]
        if task_id is not None:
            given.append("--id")
        if given:
            raise InvalidInputError(f"--batch reads tasks from lines; drop {', '.join(given)}")
        _batch(batch, {k: v for k, v in fields.items() if v is not None})
        return
    if task_type is None:
        raise InvalidInputError("give a task TYPE, or --batch FILE")
    fields.update(type=task_type, id=task_id)
    if payload is not None:
        fields["payload"] = parse_payload(payload)
    task = build_task(fields, arg_name)

    from qops.client import Client

    with Client(SETTINGS.redis_url, profile=SETTINGS.profile) as client:
        info = client.enqueue(task)
    if SETTINGS.json:
        SETTINGS.emit_json(info.to_json())
    else:
        typer.echo(info.id)
