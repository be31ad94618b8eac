"""Running a worker from plain settings: what ``qops worker`` and its child processes share.

The settings travel as JSON in the `SETTINGS_ENV` variable (not in argv, where a Redis
password would show in ``ps``), so the supervisor can start each child as
``python -m qops.worker`` without importing the CLI there: a worker process loads only what
serving needs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from qops.errors import InvalidInputError, QopsError

if TYPE_CHECKING:
    from qops.task import Task
    from qops.worker.runtime import Worker

SETTINGS_ENV = "QOPS_WORKER_SETTINGS"
LOG_FORMAT = "%(asctime)s %(levelname)s pid=%(process)d %(message)s"


@dataclasses.dataclass
class Settings:
    """Everything a worker process needs; ``options`` are `Worker` keyword arguments."""

    app: str
    redis_url: str
    options: dict[str, Any]
    retry_delay: float | None = None
    verbose: bool = False
    quiet: bool = False

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return cls(**json.loads(text))

    def worker(self) -> Worker:
        # Imported here: the CLI builds settings without loading Redis or the application.
        from qops.worker.loader import load_handlers
        from qops.worker.runtime import Worker

        handlers = load_handlers(self.app)
        delay = self.retry_delay
        fixed = None if delay is None else _FixedDelay(delay)
        return Worker(handlers, redis_url=self.redis_url, retry_delay=fixed, **self.options)


class _FixedDelay:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retried: int, error: BaseException, task: Task) -> float:
        return self.seconds


def configure_logging(verbose: bool, quiet: bool) -> None:
    """Worker logs on stderr: warnings and errors, per-task events with ``verbose``."""
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger("qops")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


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
    configure_logging(settings.verbose, settings.quiet)
    try:
        return settings.worker().run()
    except QopsError as exc:
        print(f"qops: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, InvalidInputError) else exc.exit_code
