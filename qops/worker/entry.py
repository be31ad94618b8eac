"""Running a worker from plain settings: what ``qops worker`` and its child processes share.

The settings travel as JSON in the `SETTINGS_ENV` variable (not in argv, where a Redis
password would show in ``ps``), so the supervisor can start each child as
``python -m qops.worker`` without importing the CLI there: a worker process loads only what
serving needs (prometheus-client only when metrics are asked for).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from qops.errors import InvalidInputError, QopsError
from qops.worker import logs

if TYPE_CHECKING:
    from qops.task import Task
    from qops.worker.observer import WorkerObserver
    from qops.worker.runtime import Worker

SETTINGS_ENV = "QOPS_WORKER_SETTINGS"
LOG_FORMAT = logs.TEXT_FORMAT
EXIT_FAILED = 1

log = logging.getLogger("qops.worker")


@dataclasses.dataclass
class Settings:
    """Everything a worker process needs; ``options`` are `Worker` keyword arguments."""

    app: str
    redis_url: str
    options: dict[str, Any]
    retry_delay: float | None = None
    log_level: str = "warning"
    log_format: str = "text"
    metrics_port: int | None = None
    """Serve this process's metrics on this port."""
    metrics_bind: str = "127.0.0.1"
    metrics_shared: bool = False
    """Record metrics into the supervisor's ``PROMETHEUS_MULTIPROC_DIR``; it serves them."""
    announce: bool = False
    """Say in one line on stderr that the worker started, once it is ready to serve."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return cls(**json.loads(text))

    def worker(self, observer: WorkerObserver | None = None) -> Worker:
        # Imported here: the CLI builds settings without loading Redis or the application.
        from qops.worker.loader import load_handlers
        from qops.worker.runtime import Worker

        handlers = load_handlers(self.app)
        delay = self.retry_delay
        fixed = None if delay is None else _FixedDelay(delay)
        return Worker(
            handlers,
            redis_url=self.redis_url,
            retry_delay=fixed,
            observer=observer,
            **self.options,
        )

    @property
    def metrics(self) -> bool:
        return self.metrics_shared or self.metrics_port is not None


class _FixedDelay:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retried: int, error: BaseException, task: Task) -> float:
        return self.seconds


def configure_logging(level: str, fmt: str) -> None:
    """Worker logs on stderr at ``level`` (debug, info, warning, error), as text or JSON.

    At info and below there is one line per task event.
    """
    logs.configure(level, fmt, sys.stderr)


def child_command() -> list[str]:
    """argv of one worker process; its settings go in the `SETTINGS_ENV` variable."""
    return [sys.executable, "-m", "qops.worker"]


def child_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, SETTINGS_ENV: settings.to_json()}


def main() -> int:
    """Serve with the settings in `SETTINGS_ENV`; the exit code of ``qops worker``."""
    text = os.environ.pop(SETTINGS_ENV, None)
    if text is None:
        print(
            f"qops: error: {SETTINGS_ENV} is not set; start workers with 'qops worker'",
            file=sys.stderr,
        )
        return 2
    settings = Settings.from_json(text)
    configure_logging(settings.log_level, settings.log_format)
    try:
        return _serve(settings)
    except QopsError as exc:
        print(f"qops: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, InvalidInputError) else exc.exit_code


def _serve(settings: Settings) -> int:
    observer = None
    if settings.metrics:
        from qops.metrics.worker_metrics import PrometheusObserver

        observer = (
            PrometheusObserver(registry=None) if settings.metrics_shared else PrometheusObserver()
        )
    worker = settings.worker(observer)
    _ping(settings.redis_url)
    server = None
    if settings.metrics_port is not None:
        from qops.metrics.worker_metrics import standalone_server

        try:
            server = standalone_server(settings.metrics_bind, settings.metrics_port)
        except OSError as exc:
            where = f"{settings.metrics_bind}:{settings.metrics_port}"
            print(f"qops: error: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAILED
    if settings.announce:
        announce_start(settings, processes=1)
    if server is None:
        return worker.run()
    server.start()
    log.info("serving worker metrics on %s", server.url, extra={"metrics": server.url})
    try:
        return worker.run()
    finally:
        server.shutdown()


def _ping(url: str) -> None:
    """Reach Redis once before saying the worker started; unreachable Redis exits 4."""
    from qops.storage.broker import Broker

    broker = Broker.from_url(url, socket_timeout=5.0)
    try:
        broker.ping()
    finally:
        broker.close()


def announce_start(settings: Settings, processes: int) -> None:
    """One line on stderr saying what the worker serves (a JSON object with JSON logs)."""
    from qops.connection import mask_url

    opts = settings.options
    queues = ",".join(f"{q}={w}" for q, w in opts["queues"].items())
    strict = " (strict)" if opts["strict_priority"] else ""
    per = " per process" if processes > 1 else ""
    pid = f"pid {os.getpid()}" + (" (supervisor)" if processes > 1 else "")
    url = mask_url(settings.redis_url)
    message = (
        f"qops worker: {pid}, queues {queues}{strict}, concurrency {opts['concurrency']}{per}, "
        f"{processes} process{'es' if processes > 1 else ''}, Redis {url} "
        "(-v logs every task; Ctrl-C stops)"
    )
    if settings.log_format != "json":
        print(message, file=sys.stderr, flush=True)
        return
    fields = {
        "event": "starting",
        "queues": opts["queues"],
        "strict_priority": opts["strict_priority"],
        "concurrency": opts["concurrency"],
        "processes": processes,
        "redis": url,
    }
    record = logging.makeLogRecord(
        {"name": log.name, "levelno": logging.INFO, "levelname": "INFO", "msg": message, **fields}
    )
    print(logs.JsonFormatter().format(record), file=sys.stderr, flush=True)
