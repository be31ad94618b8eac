"""``qops worker``: serve queues with the handlers of an application."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from qops.cli.common import SETTINGS, command, fail

if TYPE_CHECKING:
    from qops.worker.entry import Settings

ADVANCED = "Tuning"
OBSERVE = "Logs and metrics"

log = logging.getLogger("qops.worker")


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@command
def worker(
    app: Annotated[
        str,
        typer.Option(
            "--app",
            "-a",
            help="Handlers to serve with, as package.module:attribute (a qops.Handlers, or a "
            "function returning one).",
            show_default=False,
        ),
    ],
    queues: Annotated[
        str,
        typer.Option(
            "--queues",
            "-q",
            help="Queues and priorities: 'critical=6,default=3', or names of equal weight 'a,b'.",
        ),
    ] = "default",
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Tasks run at the same time.")
    ] = 10,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Strict priority: empty higher-priority queues first, always."
        ),
    ] = False,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            "-p",
            min=1,
            help="Worker processes under one supervisor that restarts any that die.",
        ),
    ] = 1,
    shutdown_timeout: Annotated[
        float,
        typer.Option(
            "--shutdown-timeout",
            min=0,
            help="Seconds running tasks get on SIGTERM/SIGINT before they are requeued.",
        ),
    ] = 8.0,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Log one line per task event on stderr (--log-level info).",
            rich_help_panel=OBSERVE,
        ),
    ] = False,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            help="Least severe log lines shown (default: warning; info with -v, error with "
            "--quiet).",
            case_sensitive=False,
            show_default=False,
            rich_help_panel=OBSERVE,
        ),
    ] = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            help="text, or json: one object per line with the event's fields.",
            case_sensitive=False,
            rich_help_panel=OBSERVE,
        ),
    ] = LogFormat.TEXT,
    log_payloads: Annotated[
        bool,
        typer.Option(
            "--log-payloads",
            help="Put task payloads (first 1 KiB; base64 when not UTF-8) in start, retry and "
            "archive lines. Off: payloads may hold personal data.",
            rich_help_panel=OBSERVE,
        ),
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus metrics of the worker (all --processes together) on "
            "http://BIND:PORT/metrics.",
            show_default=False,
            rich_help_panel=OBSERVE,
        ),
    ] = None,
    metrics_bind: Annotated[
        str,
        typer.Option(
            "--metrics-bind",
            help="Address the metrics endpoint listens on; 0.0.0.0 or :: opens it to the network.",
            rich_help_panel=OBSERVE,
        ),
    ] = "127.0.0.1",
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="Threads for sync handlers (default: --concurrency).",
            rich_help_panel=ADVANCED,
        ),
    ] = None,
    poll_interval: Annotated[
        float,
        typer.Option(
            "--poll-interval",
            min=0.001,
            help="Seconds between looks at empty queues, for producers that do not wake "
            "workers (Go Asynq).",
            rich_help_panel=ADVANCED,
        ),
    ] = 0.1,
    retry_delay: Annotated[
        float | None,
        typer.Option(
            "--retry-delay",
            min=0,
            help="Fixed seconds before a failed task runs again (default: Asynq's backoff, "
            "n^4+15+rand(0..29)*(n+1)).",
            rich_help_panel=ADVANCED,
        ),
    ] = None,
    lease_duration: Annotated[
        float,
        typer.Option(
            "--lease-duration",
            min=1,
            help="Seconds a task's lease lasts; a crashed worker's tasks are recovered after it.",
            rich_help_panel=ADVANCED,
        ),
    ] = 30.0,
    recover_interval: Annotated[
        float,
        typer.Option(
            "--recover-interval",
            min=0.01,
            help="Seconds between looks for tasks whose lease lapsed.",
            rich_help_panel=ADVANCED,
        ),
    ] = 5.0,
    recover_skew: Annotated[
        float,
        typer.Option(
            "--recover-skew",
            min=0,
            help="Seconds a lease must be past before its task is recovered (clock skew "
            "tolerated between hosts).",
            rich_help_panel=ADVANCED,
        ),
    ] = 5.0,
    recover_delay: Annotated[
        float,
        typer.Option(
            "--recover-delay",
            min=0,
            help="Seconds before a recovered task runs again (0: pending at once). A killed "
            "worker's tasks run again within lease + skew + interval + this (40 s).",
            rich_help_panel=ADVANCED,
        ),
    ] = 0.0,
    forward_interval: Annotated[
        float,
        typer.Option(
            "--forward-interval",
            min=0.01,
            help="Seconds between moves of due scheduled and retry tasks to pending.",
            rich_help_panel=ADVANCED,
        ),
    ] = 5.0,
    janitor_interval: Annotated[
        float,
        typer.Option(
            "--janitor-interval",
            min=0.01,
            help="Seconds between deletions of expired completed tasks.",
            rich_help_panel=ADVANCED,
        ),
    ] = 8.0,
    group_grace_period: Annotated[
        float,
        typer.Option(
            "--group-grace-period",
            min=1,
            help="Seconds a group must stay unchanged before it is aggregated.",
            rich_help_panel=ADVANCED,
        ),
    ] = 60.0,
    group_max_delay: Annotated[
        float,
        typer.Option(
            "--group-max-delay",
            min=0,
            help="Seconds the oldest task of a group may wait (0: no limit).",
            rich_help_panel=ADVANCED,
        ),
    ] = 0.0,
    group_max_size: Annotated[
        int,
        typer.Option(
            "--group-max-size",
            min=0,
            help="Group size that triggers an aggregation at once (0: no limit).",
            rich_help_panel=ADVANCED,
        ),
    ] = 0,
) -> None:
    """Process tasks from the queues until SIGTERM or Ctrl-C.

    On the first signal the worker stops taking tasks, gives running ones --shutdown-timeout
    seconds, puts the rest back at the head of their queues and exits 0; a second signal
    skips the wait.
    """
    from qops import connection
    from qops.worker.entry import Settings, child_command, child_env
    from qops.worker.queues import parse_queues

    weights = parse_queues(queues)
    url = connection.resolve(SETTINGS.redis_url, SETTINGS.profile).url
    options = {
        "queues": weights,
        "strict_priority": strict,
        "concurrency": concurrency,
        "shutdown_timeout": shutdown_timeout,
        "threads": threads,
        "poll_interval": poll_interval,
        "lease_duration": lease_duration,
        "recover_interval": recover_interval,
        "recover_skew": recover_skew,
        "recover_delay": recover_delay,
        "forward_interval": forward_interval,
        "janitor_interval": janitor_interval,
        "group_grace_period": group_grace_period,
        "group_max_delay": group_max_delay,
        "group_max_size": group_max_size,
        "log_payloads": log_payloads,
    }
    level = log_level or ("info" if verbose else "error" if SETTINGS.quiet else "warning")
    settings = Settings(
        app,
        url,
        options,
        retry_delay,
        log_level=level,
        log_format=log_format,
        metrics_port=metrics_port if processes == 1 else None,
        metrics_bind=metrics_bind,
        metrics_shared=metrics_port is not None and processes > 1,
    )
    # Without -v or --log-level no log line says the worker started: one line does.
    announce = log_level is None and not verbose and not SETTINGS.quiet
    if processes == 1:
        # The worker process loads the handlers (exit 2), reaches Redis (exit 4) and binds its
        # metrics port before it says it started: checking here as well would load the
        # application twice and hold the CLI's memory at the same time.
        settings = dataclasses.replace(settings, announce=announce)
        sys.stdout.flush()
        sys.stderr.flush()
        # Become the worker process: the same pid and exit code, without the CLI's modules in
        # memory.
        argv = child_command()
        os.execve(argv[0], argv, child_env(settings))
    _supervise(settings, processes, metrics_port, metrics_bind, announce)


def _check(settings: Settings) -> None:
    """Load the handlers and reach Redis once, here: bad settings exit 2, no Redis exits 4."""
    from qops.storage.broker import Broker

    settings.worker()
    broker = Broker.from_url(settings.redis_url, socket_timeout=5.0)
    try:
        broker.ping()
    finally:
        broker.close()


def _cannot_listen(bind: str, port: int, exc: OSError) -> typer.Exit:
    return fail(f"cannot listen on {bind}:{port}: {exc.strerror or exc}")


def _supervise(
    settings: Settings, processes: int, port: int | None, bind: str, announce: bool
) -> None:
    from qops.worker.entry import announce_start, child_command, child_env, configure_logging
    from qops.worker.supervisor import Supervisor

    # Check once here rather than in every child.
    _check(settings)
    configure_logging(settings.log_level, settings.log_format)
    env = child_env(settings)
    if port is None:
        if announce:
            announce_start(settings, processes)
        raise typer.Exit(Supervisor(child_command(), processes, env).run())
    from qops.metrics.worker_metrics import SharedMetrics

    try:
        metrics = SharedMetrics(bind, port)
    except OSError as exc:
        raise _cannot_listen(bind, port, exc) from None
    if announce:
        announce_start(settings, processes)
    metrics.start()
    log.info("serving worker metrics on %s", metrics.server.url)
    try:
        env.update(metrics.child_env())
        supervisor = Supervisor(child_command(), processes, env, on_exit=metrics.process_exited)
        code = supervisor.run()
    finally:
        metrics.close()
    raise typer.Exit(code)
