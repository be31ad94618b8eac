"""Sample handlers and tasks for ``qops demo``: one of every kind, in two weighted queues.

Handlers: quick ones (``demo:email``, ``demo:thumbnail``), one that fails twice and then
succeeds (``demo:flaky``), one that gives up at once with `SkipRetry` (``demo:broken``), a slow
one (``demo:report``) and one that receives aggregated groups (``demo:digest``, built from
``demo:notify`` tasks of one group).
"""

from __future__ import annotations

import random
import time

from qops.task import Task
from qops.worker.handlers import Handlers, SkipRetry

QUEUES = {"critical": 6, "default": 3}
"""Queue weights: critical is tried first about two times in three."""

GROUP = "user:42"


def retry_delay(retried: int, error: BaseException, task: Task) -> float:
    """Retry within seconds, so the demo shows a task go through retry and succeed."""
    return 1.0 + retried


def handlers() -> Handlers:
    h = Handlers()

    @h.task("demo:email")
    def email(task: Task) -> None:
        time.sleep(random.uniform(0.05, 0.3))

    @h.task("demo:thumbnail")
    def thumbnail(task: Task) -> None:
        time.sleep(random.uniform(0.1, 0.5))
        task.write_result({"width": 128, "height": 128})

    @h.task("demo:flaky")
    def flaky(task: Task) -> None:
        if task.retried < 2:
            raise RuntimeError(f"upstream timed out (attempt {task.retried + 1})")

    @h.task("demo:broken")
    def broken(task: Task) -> None:
        raise SkipRetry("the payload names an account that does not exist")

    @h.task("demo:report")
    def report(task: Task) -> None:
        time.sleep(4)

    @h.task("demo:digest")
    def digest(task: Task) -> None:
        time.sleep(0.1)

    @h.aggregator
    def combine(group: str, tasks: list[Task]) -> Task:
        return Task(
            "demo:digest",
            {"group": group, "notifications": [t.json() for t in tasks]},
            queue="default",
        )

    return h


def tasks() -> list[Task]:
    """The sample tasks: now, scheduled, unique, kept after completion, grouped, failing."""
    out: list[Task] = []
    for i in range(12):
        out.append(Task("demo:email", {"to": f"user{i}@example.com"}, queue="critical"))
    for i in range(8):
        out.append(Task("demo:thumbnail", {"image": f"img-{i}.png"}, retention=3600))
    out += [
        Task("demo:flaky", {"order": 1001}, queue="critical", max_retry=5),
        Task("demo:broken", {"account": "acme-0"}, max_retry=5),
        Task("demo:report", {"day": "today"}, timeout=60),
        Task("demo:report", {"day": "yesterday"}, timeout=60, process_in=3),
        Task("demo:email", {"to": "later@example.com"}, queue="critical", process_in=6),
        Task("demo:email", {"to": "tomorrow@example.com"}, process_in=86400),
        # The same unique task twice: Redis refuses the second one.
        Task("demo:thumbnail", {"image": "logo.png"}, unique=600),
        Task("demo:thumbnail", {"image": "logo.png"}, unique=600),
    ]
    for i in range(5):
        out.append(Task("demo:notify", {"event": f"comment-{i}"}, group=GROUP))
    return out
