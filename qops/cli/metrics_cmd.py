"""``qops metrics``: the Prometheus exporter of queue metrics."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import Annotated

import typer

from qops.cli.common import SETTINGS, command, fail
from qops.connection import mask_url

metrics_app = typer.Typer(help="Export queue metrics to Prometheus.", no_args_is_help=True)


SERVE_HELP = (
    "Serve Asynq-compatible queue metrics on http://BIND:PORT/metrics until stopped.\n\n"
    "The series are those of Asynq's exporter (asynq_tasks_enqueued_total, asynq_queue_size, "
    "...) plus qops_* extras. A scrape costs a fixed number of Redis round trips however many "
    "queues there are. When Redis is slow or down, a scrape still answers within --timeout "
    "with the last values read, qops_metrics_scrape_ok 0 and a rising "
    "qops_metrics_last_success_age_seconds."
)


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("qops.metrics")
    logger.addHandler(handler)
    # --quiet drops the chatter, never the line saying Redis cannot be read.
    logger.setLevel(logging.WARNING if SETTINGS.quiet else logging.INFO)
    logger.propagate = False


@metrics_app.command("serve", help=SERVE_HELP)
@command
def serve_cmd(
    port: Annotated[
        int,
        typer.Option("--port", "-p", min=0, max=65535, help="TCP port (0: any free port)."),
    ] = 9876,
    bind: Annotated[
        str,
        typer.Option("--bind", help="Address to listen on; 0.0.0.0 or :: opens it to the network."),
    ] = "127.0.0.1",
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.1,
            max=60.0,
            help="Most seconds a scrape waits for Redis; past it the last values are served.",
        ),
    ] = 2.0,
    min_interval: Annotated[
        float,
        typer.Option(
            "--min-interval",
            min=0.0,
            help="Serve values read less than this many seconds ago without asking Redis again.",
        ),
    ] = 1.0,
) -> None:
    """Serve Asynq-compatible queue metrics on http://BIND:PORT/metrics until stopped."""
    from prometheus_client import (
        CollectorRegistry,
        GCCollector,
        PlatformCollector,
        ProcessCollector,
    )

    from qops.metrics.queue_collector import QueueCollector
    from qops.metrics.server import MetricsServer

    inspector = SETTINGS.inspector()
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    collector = QueueCollector(inspector, timeout=timeout, min_interval=min_interval)
    registry.register(collector)
    try:
        server = MetricsServer(registry, bind, port)
    except OSError as exc:
        raise fail(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from None

    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    SETTINGS.info(
        f"serving queue metrics of Redis at {mask_url(inspector.url)} on {server.url} "
        "(Ctrl+C stops)"
    )
    _log_to_stderr()
    collector.start()
    server.start()
    try:
        stop.wait()
    finally:
        server.shutdown()
        collector.close()
