"""``qops stats``: every queue at a glance, today's throughput, and the Redis behind them."""

from __future__ import annotations

from typing import Any

import typer

from qops.cli.common import SETTINGS, command, stdout_is_terminal
from qops.cli.output import duration, plain_cell, print_table, size
from qops.cli.queue import QUEUE_COLUMNS, rate
from qops.models import QueueInfo, TaskState

STATES = [s.value for s in TaskState]

# The INFO fields stats reports (the rest is for `redis-cli info`), with their labels.
REDIS_FIELDS = {
    "redis_version": "version",
    "redis_mode": "mode",
    "uptime_in_seconds": "uptime",
    "connected_clients": "clients",
    "used_memory": "memory used",
    "used_memory_peak": "memory peak",
    "maxmemory": "memory limit",
    "maxmemory_policy": "eviction policy",
}
_SIZES = ("used_memory", "used_memory_peak", "maxmemory")


def summary(infos: list[QueueInfo], redis: dict[str, str]) -> dict[str, Any]:
    processed = sum(q.processed for q in infos)
    failed = sum(q.failed for q in infos)
    return {
        "states": {s: sum(getattr(q, s) for q in infos) for s in STATES},
        "total": sum(q.size for q in infos),
        "queues": [q.to_json() for q in infos],
        "today": {
            "processed": processed,
            "failed": failed,
            "error_rate": round(failed / processed, 4) if processed else 0.0,
        },
        "redis": {k: redis[k] for k in REDIS_FIELDS if k in redis},
    }


def _flat(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _flat(f"{prefix}.{k}" if prefix else k, v)]
    if isinstance(value, list):
        return [kv for i, v in enumerate(value) for kv in _flat(f"{prefix}.{i}", v)]
    return [(prefix, "" if value is None else str(value))]


def _human(doc: dict[str, Any], infos: list[QueueInfo]) -> None:
    from rich import box
    from rich.table import Table

    console = SETTINGS.out()
    states = Table(
        box=box.SIMPLE_HEAD,
        title="Tasks by state",
        title_justify="left",
        title_style="bold",
        collapse_padding=True,
    )
    for s in STATES:
        states.add_column(s, justify="right")
    states.add_column("total", justify="right", style="bold")
    states.add_row(*(str(doc["states"][s]) for s in STATES), str(doc["total"]))
    console.print(states)
    if infos:
        print_table(infos, QUEUE_COLUMNS, title="Queues")
    today = doc["today"]
    console.print(
        f"[bold]Today (UTC)[/]  processed {today['processed']}  failed {today['failed']}  "
        f"error rate {rate(today['failed'], today['processed'])}"
    )
    redis: dict[str, str] = doc["redis"]
    shown = []
    for key, label in REDIS_FIELDS.items():
        value = redis.get(key, "")
        if key in _SIZES and value.isdigit():
            value = size(int(value)) if int(value) else "none"
        elif key == "uptime_in_seconds" and value.isdigit():
            value = duration(int(value))
        if value:
            shown.append(f"{label} {value}")
    console.print("[bold]Redis[/]  " + "  ".join(shown))


@command
def stats_cmd() -> None:
    """All queues at a glance: tasks per state, today's throughput, Redis memory.

    Shows counts per state over all queues, each queue's sizes, today's (UTC) processed and
    failed counts with the error rate, and the Redis version, clients and memory.
    """
    insp = SETTINGS.inspector()
    infos = insp.queue_infos()
    doc = summary(infos, insp.redis_info())
    if SETTINGS.json:
        SETTINGS.emit_json(doc)
    elif stdout_is_terminal():
        _human(doc, infos)
    else:
        for key, value in _flat("", doc):
            typer.echo(f"{key}\t{plain_cell(value)}")
