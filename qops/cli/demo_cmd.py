"""``qops demo``: a worker and sample tasks of every kind, watched live for a few seconds."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qops.cli.common import SETTINGS, command, program, stdout_is_terminal
from qops.cli.output import Column, print_table
from qops.wording import plural

if TYPE_CHECKING:
    from rich.console import RenderableType

    from qops import demo as samples
    from qops.inspector import Inspector
    from qops.models import QueueInfo

QUEUE = "demo:default"
"""The queue the hints look into (`qops.demo.DEFAULT`, not imported to keep startup quick)."""

EXPLORE = [
    ("queue ls", "the queues and their counts"),
    (f"task ls -q {QUEUE} -s archived", "the task that gave up with SkipRetry"),
    (f"task ls -q {QUEUE} -s completed", "tasks kept for an hour by their retention"),
    (f"task ls -q {QUEUE} -s scheduled", "the task scheduled for tomorrow"),
    ("stats", "everything at a glance"),
    ("tui", "the live dashboard"),
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


def _columns(tally: samples.Tally) -> list[Column[QueueInfo]]:
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
        Column("RUNS", lambda q: str(tally.runs[q.queue]), justify="right"),
        Column("FAILS", lambda q: str(tally.failures[q.queue]), justify="right"),
    ]


def _view(
    inspector: Inspector, tally: samples.Tally, elapsed: float, seconds: float
) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    infos = inspector.queue_infos(_existing(inspector))
    table = Table(
        title=f"qops demo  {elapsed:4.1f}s of {seconds:g}s  (Ctrl+C stops)",
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=None,
        padding=(0, 2, 0, 0),
    )
    columns = _columns(tally)
    for c in columns:
        table.add_column(c.header, justify=c.justify)
    for info in infos:
        table.add_row(*(c.human(info) for c in columns))
    from qops import demo as samples

    running = [
        w.task_type
        for s in inspector.servers()
        for w in s.active_workers
        if w.queue in samples.QUEUES
    ]
    line = "running: " + (", ".join(sorted(running)) if running else "nothing")
    return Group(table, Text(line, style="dim"))


def _existing(inspector: Inspector) -> list[str]:
    """The demo queues that exist (a queue appears once a task was enqueued to it)."""
    from qops import demo as samples

    known = set(inspector.queues())
    return [q for q in samples.QUEUES if q in known]


def _watch(inspector: Inspector, tally: samples.Tally, seconds: float) -> None:
    """Show the live view until ``seconds`` pass or Ctrl+C; off a terminal, just wait."""
    started = time.monotonic()
    deadline = started + seconds
    try:
        if not stdout_is_terminal():
            time.sleep(seconds)
            return
        from rich.live import Live

        view = _view(inspector, tally, 0.0, seconds)
        with Live(view, console=SETTINGS.out(), refresh_per_second=4, transient=False) as live:
            while (now := time.monotonic()) < deadline:
                live.update(_view(inspector, tally, now - started, seconds))
                time.sleep(0.25)
    except KeyboardInterrupt:
        SETTINGS.info("stopping the demo")


def _invocation(url: str, embedded: bool) -> str:
    """How to run qops so that it reaches the Redis the demo used."""
    import os
    import shlex

    from qops import config
    from qops.connection import mask_url

    words = [program()]
    if SETTINGS.profile:
        words += ["--profile", SETTINGS.profile]
    elif SETTINGS.redis_url and SETTINGS.redis_url != os.environ.get("QOPS_REDIS_URL"):
        words += ["-u", mask_url(url)]
    elif embedded and config.profile().get("redis_url"):
        # A default profile would win over the embedded Redis.
        words += ["-u", url]
    return shlex.join(words)


def _summary(
    doc: dict[str, Any], infos: list[QueueInfo], tally: samples.Tally, url: str, embedded: bool
) -> None:
    if SETTINGS.json:
        SETTINGS.emit_json(doc)
        return
    console = SETTINGS.out()
    refused = doc["refused"]
    duplicate = f" ({refused} refused as a duplicate, as intended)" if refused else ""
    console.print(
        f"Enqueued {plural(doc['enqueued'], 'sample task')}{duplicate}; the worker ran them "
        f"{plural(doc['processed'], 'time')}, and {plural(doc['failed'], 'run')} failed "
        "(retried or archived).",
        soft_wrap=True,
        markup=False,
    )
    if not stdout_is_terminal():
        # The live view showed the table on a terminal; elsewhere it comes here, with header.
        print_table(infos, _columns(tally))
    where = "the embedded Redis (it keeps running)" if embedded else "this Redis"
    console.print(f"\nThe tasks stay in {where}. Explore them:", soft_wrap=True)
    qops = _invocation(url, embedded)
    hints = [(f"{qops} {cmd}", what) for cmd, what in EXPLORE]
    width = max(len(c) for c, _ in hints)
    for cmd, what in hints:
        console.print(f"  {cmd.ljust(width)}  # {what}", markup=False, soft_wrap=True)


@command
def demo(
    seconds: Annotated[
        float, typer.Option("--seconds", "-s", min=1, help="How long to watch (Ctrl+C stops).")
    ] = 15,
) -> None:
    """Run a worker with sample handlers and enqueue sample tasks of every kind.

    Uses the embedded Redis unless --redis-url or --profile is given. Tasks go to the demo's
    own queues (demo:critical=6, demo:default=3, demo:low=1), so no other task is touched:
    quick ones, a scheduled one, a unique one enqueued twice, ones kept after completion, a
    group that is aggregated, one that fails twice and then succeeds, one that gives up at
    once (SkipRetry), and slow ones. The counts of runs are those of this run's tasks.
    """
    import uuid

    from qops import demo as samples
    from qops.client import Client
    from qops.connection import mask_url
    from qops.errors import QopsError
    from qops.inspector import Inspector
    from qops.worker.runtime import Worker

    url, embedded = _target()
    tally = samples.Tally(uuid.uuid4().hex)
    # The worker logs through the "qops" logger; the live view owns the terminal.
    logging.getLogger("qops").addHandler(logging.NullHandler())
    with Inspector(url) as inspector, Client(url) as client:
        inspector.ping()
        worker = Worker(
            samples.handlers(tally),
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
            results = client.enqueue_many(samples.tasks(tally.run_id))
            _watch(inspector, tally, seconds)
        finally:
            worker.stop()
            thread.join(30)
        infos = inspector.queue_infos(_existing(inspector))
    doc = {
        "redis_url": mask_url(url),
        "embedded": embedded,
        "queues": [q.to_json() for q in infos],
        "enqueued": sum(1 for r in results if not isinstance(r, QopsError)),
        "refused": sum(1 for r in results if isinstance(r, QopsError)),
        "processed": sum(tally.runs.values()),
        "failed": sum(tally.failures.values()),
    }
    _summary(doc, infos, tally, url, embedded)
