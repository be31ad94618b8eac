"""``qops demo``: a worker and sample tasks of every kind, watched live for a few seconds."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qops.cli.common import SETTINGS, command, stdout_is_terminal
from qops.cli.output import Column, emit

if TYPE_CHECKING:
    from rich.console import RenderableType

    from qops.inspector import Inspector
    from qops.models import QueueInfo

EXPLORE = [
    ("qops queue ls", "the queues and their counts"),
    ("qops task ls -q default -s archived", "the task that gave up with SkipRetry"),
    ("qops task ls -q default -s completed", "tasks kept for an hour by their retention"),
    ("qops task ls -q default -s scheduled", "the task scheduled for tomorrow"),
    ("qops stats", "everything at a glance"),
    ("qops tui", "the live dashboard"),
]


def _target() -> tuple[str, bool]:
    """The demo's Redis: --redis-url or --profile when given, else the embedded one.

    The default profile is not used on purpose: the demo must not write sample tasks into
    a Redis someone configured for real work unless asked to.
    """
    from qops import connection

    if SETTINGS.redis_url or SETTINGS.profile:
        target = connection.resolve(SETTINGS.redis_url, SETTINGS.profile)
        return target.url, target.embedded
    server = connection.EmbeddedRedis.default()
    url = server.ensure()
    SETTINGS.info(f"qops demo: using the embedded Redis at {url} (data in {server.data_dir})")
    return url, True


class _Counters:
    """Today's processed/failed counts, minus what they were when the demo started."""

    def __init__(self, inspector: Inspector, queues: list[str]) -> None:
        self.queues = queues
        existing = set(inspector.queues())
        start = inspector.queue_infos([q for q in queues if q in existing])
        self.base = {q.queue: (q.processed, q.failed) for q in start}

    def delta(self, info: QueueInfo) -> tuple[int, int]:
        processed, failed = self.base.get(info.queue, (0, 0))
        return info.processed - processed, info.failed - failed


def _columns(counters: _Counters) -> list[Column[QueueInfo]]:
    # Short headers: the live view must fit 80 columns.
    def n(attr: str, header: str) -> Column[QueueInfo]:
        return Column(header, lambda q: str(getattr(q, attr)), justify="right")

    return [
        Column("QUEUE", lambda q: q.queue),
        n("pending", "PEND"),
        n("active", "ACTIVE"),
        n("scheduled", "SCHED"),
        n("retry", "RETRY"),
        n("archived", "ARCH"),
        n("completed", "DONE"),
        n("aggregating", "AGGR"),
        Column("RUNS", lambda q: str(counters.delta(q)[0]), justify="right"),
        Column("FAILS", lambda q: str(counters.delta(q)[1]), justify="right"),
    ]


def _view(
    inspector: Inspector, counters: _Counters, elapsed: float, seconds: float
) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    infos = inspector.queue_infos(counters.queues)
    table = Table(
        title=f"qops demo  {elapsed:4.1f}s of {seconds:g}s  (Ctrl+C stops)",
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=None,
        padding=(0, 2, 0, 0),
    )
    columns = _columns(counters)
    for c in columns:
        table.add_column(c.header, justify=c.justify)
    for info in infos:
        table.add_row(*(c.human(info) for c in columns))
    running = [w.task_type for s in inspector.servers() for w in s.active_workers]
    line = "running: " + (", ".join(sorted(running)) if running else "nothing")
    return Group(table, Text(line, style="dim"))


def _watch(inspector: Inspector, counters: _Counters, seconds: float) -> None:
    """Show the live view until ``seconds`` pass or Ctrl+C; off a terminal, just wait."""
    started = time.monotonic()
    deadline = started + seconds
    try:
        if not stdout_is_terminal():
            time.sleep(seconds)
            return
        from rich.live import Live

        view = _view(inspector, counters, 0.0, seconds)
        with Live(view, console=SETTINGS.out(), refresh_per_second=4, transient=False) as live:
            while (now := time.monotonic()) < deadline:
                live.update(_view(inspector, counters, now - started, seconds))
                time.sleep(0.25)
    except KeyboardInterrupt:
        SETTINGS.info("stopping the demo")


def _summary(
    doc: dict[str, Any], infos: list[QueueInfo], counters: _Counters, embedded: bool
) -> None:
    if SETTINGS.json:
        SETTINGS.emit_json(doc)
        return
    console = SETTINGS.out()
    refused = f" ({doc['refused']} refused as a duplicate, as intended)" if doc["refused"] else ""
    console.print(
        f"Enqueued {doc['enqueued']} sample tasks{refused}; the worker processed "
        f"{doc['processed']} runs, {doc['failed']} of them failed (and were retried or archived).",
        soft_wrap=True,
    )
    if not stdout_is_terminal():
        emit(infos, _columns(counters), None, to_json=lambda q: q.to_json())
    where = "the embedded Redis (it keeps running)" if embedded else "this Redis"
    console.print(f"\nThe tasks stay in {where}. Explore them:", soft_wrap=True)
    width = max(len(c) for c, _ in EXPLORE)
    for cmd, what in EXPLORE:
        console.print(f"  {cmd.ljust(width)}  # {what}", markup=False, soft_wrap=True)


@command
def demo(
    seconds: Annotated[
        float, typer.Option("--seconds", "-s", min=1, help="How long to watch (Ctrl+C stops).")
    ] = 15,
) -> None:
    """Run a worker with sample handlers and enqueue sample tasks of every kind.

    Uses the embedded Redis unless --redis-url or --profile is given. Tasks go to two
    queues (critical=6, default=3): quick ones, a scheduled one, a unique one enqueued
    twice, ones kept after completion, a group that is aggregated, one that fails twice
    and then succeeds, one that gives up at once (SkipRetry), and a slow one.
    """
    from qops import demo as samples
    from qops.client import Client
    from qops.connection import mask_url
    from qops.errors import QopsError
    from qops.inspector import Inspector
    from qops.worker.runtime import Worker

    url, embedded = _target()
    # The worker logs through the "qops" logger; the live view owns the terminal.
    logging.getLogger("qops").addHandler(logging.NullHandler())
    with Inspector(url) as inspector, Client(url) as client:
        inspector.ping()
        counters = _Counters(inspector, list(samples.QUEUES))
        worker = Worker(
            samples.handlers(),
            redis_url=url,
            queues=samples.QUEUES,
            concurrency=4,
            retry_delay=samples.retry_delay,
            forward_interval=0.5,
            heartbeat_interval=0.5,
            group_grace_period=2,
            shutdown_timeout=2,
        )
        thread = threading.Thread(target=worker.run, name="qops-demo-worker", daemon=True)
        thread.start()
        try:
            results = client.enqueue_many(samples.tasks())
            _watch(inspector, counters, seconds)
        finally:
            worker.stop()
            thread.join(30)
        infos = inspector.queue_infos(counters.queues)
    deltas = [counters.delta(q) for q in infos]
    doc = {
        "redis_url": mask_url(url),
        "embedded": embedded,
        "enqueued": sum(1 for r in results if not isinstance(r, QopsError)),
        "refused": sum(1 for r in results if isinstance(r, QopsError)),
        "processed": sum(d[0] for d in deltas),
        "failed": sum(d[1] for d in deltas),
        "queues": [q.to_json() for q in infos],
    }
    _summary(doc, infos, counters, embedded)
