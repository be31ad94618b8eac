"""Sample handlers and tasks for ``qops demo``: one of every kind, in its own weighted queues.

Handlers: quick ones (``demo:email``, ``demo:thumbnail``), one that fails twice and then
succeeds (``demo:flaky``), one that gives up at once with `SkipRetry` (``demo:broken``), a slow
one (``demo:report``) and one that receives aggregated groups (``demo:digest``, built from
``demo:notify`` tasks of one group).

The queues are the demo's own (``demo:critical``, ``demo:default``, ``demo:low``), so its worker
never takes anyone else's tasks; each task carries the id of the demo run that enqueued it
(`RUN_HEADER`), so a run counts only its own tasks.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from qops.task import Task
from qops.worker.handlers import Handlers, SkipRetry

CRITICAL, DEFAULT, LOW = "demo:critical", "demo:default", "demo:low"
QUEUES = {CRITICAL: 6, DEFAULT: 3, LOW: 1}
"""Queue weights: demo:critical is tried first six times in ten, demo:low one in ten."""

RUN_HEADER = "qops-demo-run"
"""Task header naming the demo run that enqueued the task."""

GROUP = "user:42"


def retry_delay(retried: int, error: BaseException, task: Task) -> float:
    """Retry within seconds, so the demo shows a task go through retry and succeed."""
    return 1.0 + retried


class Tally:
    """Runs and failed runs of one demo run's own tasks, per queue.

    Its `middleware` sees every run; tasks left in the demo queues by an earlier run (a
    scheduled one coming due, say) are run too, but not counted.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.runs: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    async def middleware(self, task: Task, call_next: Callable[[Task], Awaitable[Any]]) -> Any:
        if task.headers.get(RUN_HEADER) != self.run_id:
            return await call_next(task)
        self.runs[task.queue] += 1
        try:
            return await call_next(task)
        except BaseException:
            self.failures[task.queue] += 1
            raise


def handlers(tally: Tally | None = None) -> Handlers:
    h = Handlers()
    if tally is not None:
        h.use(tally.middleware)

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
            queue=DEFAULT,
            headers=tasks[-1].headers,
        )

    return h


def tasks(run_id: str) -> list[Task]:
    """The sample tasks of one run: now, scheduled, unique, kept, grouped, failing, slow."""
    run = {RUN_HEADER: run_id}

    def task(kind: str, payload: Any, queue: str = DEFAULT, **options: Any) -> Task:
        return Task(kind, payload, queue=queue, headers=run, **options)

    out = [task("demo:email", {"to": f"user{i}@example.com"}, CRITICAL) for i in range(12)]
    out += [task("demo:thumbnail", {"image": f"img-{i}.png"}, retention=3600) for i in range(8)]
    out += [
        task("demo:flaky", {"order": 1001}, CRITICAL, max_retry=5),
        task("demo:broken", {"account": "acme-0"}, max_retry=5),
        task("demo:report", {"day": "today"}, LOW, timeout=60),
        task("demo:report", {"day": "yesterday"}, LOW, timeout=60, process_in=3),
        task("demo:email", {"to": "later@example.com"}, CRITICAL, process_in=6),
        task("demo:email", {"to": "tomorrow@example.com"}, process_in=86400),
        # The same unique task twice: Redis refuses the second one.
        task("demo:thumbnail", {"image": "logo.png"}, unique=600),
        task("demo:thumbnail", {"image": "logo.png"}, unique=600),
    ]
    out += [task("demo:notify", {"event": f"comment-{i}"}, group=GROUP) for i in range(5)]
    return out
