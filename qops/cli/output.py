"""How commands print data: Rich tables, plain rows, JSON, JSON Lines and CSV.

On a terminal listings are Rich tables with humanized times and sizes. When stdout is not a
terminal they are tab-separated rows without header, colour or truncation (as ``gh`` does),
so ``cut`` and ``awk`` work. ``--json`` (or ``-o json|jsonl|csv``) prints the models'
``to_json()`` schema. Only data goes to stdout.
"""

from __future__ import annotations

import base64
import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import IO, Annotated, Any, Generic, Literal, TypeVar

import typer

from qops.cli.common import SETTINGS, stdout_is_terminal

T = TypeVar("T")


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


OutputOpt = Annotated[
    Format | None,
    typer.Option(
        "--output",
        "-o",
        help="table (plain tab-separated rows when piped), json, jsonl or csv. --json = -o json.",
        case_sensitive=False,
    ),
]

STATE_STYLES = {
    "active": "cyan",
    "pending": "blue",
    "aggregating": "magenta",
    "scheduled": "bright_blue",
    "retry": "yellow",
    "archived": "red",
    "completed": "green",
}


def chosen_format(output: Format | None) -> Format:
    if output is not None:
        return output
    return Format.JSON if SETTINGS.json else Format.TABLE


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column: how a row shows on a terminal, and as plain text when piped."""

    header: str
    human: Callable[[T], str]
    plain: Callable[[T], str] | None = None
    justify: Literal["left", "right"] = "left"
    max_width: int | None = None
    style: Callable[[T], str] | None = None
    keep: bool = False
    """Never shortened (ids): narrow terminals shorten the other columns instead."""
    wide: bool = False
    """Shown in tables only when the whole table fits the terminal (always in plain rows)."""


FLEX_MIN = 12
"""Characters a shortened column (payload, error) keeps at least when deciding what fits."""


# -- value formatting --------------------------------------------------------------------


def ago(t: datetime | None, now: datetime | None = None) -> str:
    """``5 minutes ago`` / ``in 5 minutes`` style, ``-`` when unset."""
    import humanize

    if t is None:
        return "-"
    delta = (now or datetime.now(UTC)) - t
    if abs(delta) < timedelta(seconds=1):
        return "now"
    return str(humanize.naturaltime(delta))


def since(t: datetime | None, now: datetime | None = None) -> str:
    """Compact relative time for table cells: ``5m ago``, ``in 1h30m``, ``now``, ``-``."""
    if t is None:
        return "-"
    seconds = ((now or datetime.now(UTC)) - t).total_seconds()
    if abs(seconds) < 1:
        return "now"
    return f"{duration(seconds)} ago" if seconds > 0 else f"in {duration(-seconds)}"


def size(n: int) -> str:
    import humanize

    return str(humanize.naturalsize(n, binary=True))


def duration(seconds: float) -> str:
    """Compact duration in the syntax the CLI accepts: ``45s``, ``1h30m``, ``2d3h``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms" if seconds > 0 else "0s"
    s = round(seconds)
    parts = []
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= span:
            parts.append(f"{s // span}{unit}")
            s %= span
    return "".join(parts[:2])


def iso(t: datetime | None) -> str:
    if t is None:
        return ""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bytes_text(data: bytes | None) -> str:
    """Bytes as text when they are printable UTF-8, else ``base64:…``, for plain output."""
    if not data:
        return ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode("ascii")
    if all(c.isprintable() or c in "\t\n\r" for c in text):
        return text
    return "base64:" + base64.b64encode(data).decode("ascii")


def bytes_preview(data: bytes | None) -> str:
    """Bytes for a table cell: the text, or a note that they are binary."""
    text = bytes_text(data)
    if text.startswith("base64:"):
        return f"<{len(data or b'')} bytes, binary>"
    return " ".join(text.split())


def plain_cell(text: str) -> str:
    """One tab-separated field: tabs and newlines escaped so each row stays one line."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and set(value) == {"encoding", "data"}:
        if value["encoding"] == "base64":
            return "base64:" + str(value["data"])
        if value["encoding"] == "json":
            return json.dumps(value["data"], ensure_ascii=False, separators=(",", ":"))
        return str(value["data"])
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


# -- emitting ----------------------------------------------------------------------------


def write_jsonl(docs: Iterable[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for doc in docs:
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(docs: Iterable[dict[str, Any]], out: IO[str]) -> int:
    writer: Any = None
    n = 0
    for doc in docs:
        if writer is None:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(list(doc))
        writer.writerow([csv_cell(v) for v in doc.values()])
        n += 1
    return n


def emit(
    items: Sequence[T],
    columns: Sequence[Column[T]],
    output: Format | None,
    *,
    to_json: Callable[[T], dict[str, Any]],
    empty: str = "nothing to list",
    title: str | None = None,
) -> None:
    """Print ``items`` in the chosen format; an empty listing says so on stderr."""
    fmt = chosen_format(output)
    if fmt is Format.JSON:
        SETTINGS.emit_json([to_json(i) for i in items])
    elif fmt is Format.JSONL:
        write_jsonl((to_json(i) for i in items), sys.stdout)
    elif fmt is Format.CSV:
        write_csv((to_json(i) for i in items), sys.stdout)
    elif not items:
        SETTINGS.info(empty)
    elif stdout_is_terminal():
        print_table(items, columns, title=title)
    else:
        for item in items:
            cells = [(c.plain or c.human)(item) for c in columns]
            typer.echo("\t".join(plain_cell(v) for v in cells))


def print_table(items: Sequence[T], columns: Sequence[Column[T]], title: str | None = None) -> None:
    from rich.table import Table

    console = SETTINGS.out()
    if _needed(items, columns) > console.width:
        columns = [c for c in columns if not c.wide]
    # kubectl-style: no borders, two spaces between columns, so more columns fit in 80.
    table = Table(
        box=None,
        title=title,
        title_justify="left",
        title_style="bold",
        padding=(0, 2, 0, 0),
        pad_edge=False,
        header_style="bold",
    )
    widths = _fit(items, columns, console.width)
    for c in columns:
        table.add_column(
            c.header,
            justify=c.justify,
            min_width=widths[c.header] if c.keep else None,
            max_width=widths[c.header],
            overflow="ellipsis",
            no_wrap=True,
        )
    for item in items:
        cells = []
        for c in columns:
            text = c.human(item)
            style = c.style(item) if c.style else ""
            cells.append(f"[{style}]{_escape(text)}[/]" if style else _escape(text))
        table.add_row(*cells)
    console.print(table)


def _natural(items: Sequence[T], columns: Sequence[Column[T]]) -> dict[str, int]:
    return {c.header: max([len(c.header), *(len(c.human(i)) for i in items)]) for c in columns}


def _is_flex(c: Column[T]) -> bool:
    return bool(c.max_width) and not c.keep


def _needed(items: Sequence[T], columns: Sequence[Column[T]]) -> int:
    """Width of the table with every column whole, payloads and errors cut to FLEX_MIN."""
    natural = _natural(items, columns)
    cells = sum(
        min(natural[c.header], FLEX_MIN) if _is_flex(c) else natural[c.header] for c in columns
    )
    return cells + 2 * (len(columns) - 1)


def _fit(items: Sequence[T], columns: Sequence[Column[T]], width: int) -> dict[str, int]:
    """Column widths: every column at its natural width, except that the ones with a
    ``max_width`` (payloads, errors) share what room is left, narrowest first."""
    natural = _natural(items, columns)
    flex = sorted((c for c in columns if _is_flex(c)), key=lambda c: natural[c.header])
    room = width - sum(natural[c.header] for c in columns if c not in flex)
    room -= 2 * (len(columns) - 1)
    widths = dict(natural)
    for n, c in enumerate(flex):
        share = max(room // (len(flex) - n), 1)
        widths[c.header] = min(natural[c.header], c.max_width or share, share)
        room -= widths[c.header]
    return widths


def emit_record(
    pairs: Sequence[tuple[str, str]], doc: dict[str, Any], output: Format | None
) -> None:
    """One object: key/value lines for people, ``doc`` as JSON for programs."""
    fmt = chosen_format(output)
    if fmt in (Format.JSON, Format.JSONL):
        SETTINGS.emit_json(doc)
    elif fmt is Format.CSV:
        write_csv([doc], sys.stdout)
    elif stdout_is_terminal():
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for key, value in pairs:
            table.add_row(key, _escape(value))
        SETTINGS.out().print(table)
    else:
        for key, value in pairs:
            typer.echo(f"{key}\t{plain_cell(value)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
