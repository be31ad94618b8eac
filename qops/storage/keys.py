"""Asynq's Redis key names, one function per key.

Every per-queue key carries the ``{queue}`` hash tag, so all keys of a queue share one Redis
Cluster slot and every script stays on one node.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

ALL_QUEUES = "asynq:queues"
ALL_SERVERS = "asynq:servers"
ALL_WORKERS = "asynq:workers"
ALL_SCHEDULERS = "asynq:schedulers"
CANCEL_CHANNEL = "asynq:cancel"


def task_prefix(queue: str) -> str:
    return f"asynq:{{{queue}}}:t:"


def task(queue: str, task_id: str) -> str:
    return f"asynq:{{{queue}}}:t:{task_id}"


def pending(queue: str) -> str:
    return f"asynq:{{{queue}}}:pending"


def active(queue: str) -> str:
    return f"asynq:{{{queue}}}:active"


def lease(queue: str) -> str:
    return f"asynq:{{{queue}}}:lease"


def scheduled(queue: str) -> str:
    return f"asynq:{{{queue}}}:scheduled"


def retry(queue: str) -> str:
    return f"asynq:{{{queue}}}:retry"


def archived(queue: str) -> str:
    return f"asynq:{{{queue}}}:archived"


def completed(queue: str) -> str:
    return f"asynq:{{{queue}}}:completed"


def state_key(queue: str, state: str) -> str:
    """The container of ``state`` (not valid for ``aggregating``, whose tasks live per group)."""
    return f"asynq:{{{queue}}}:{state}"


def paused(queue: str) -> str:
    return f"asynq:{{{queue}}}:paused"


def processed_total(queue: str) -> str:
    return f"asynq:{{{queue}}}:processed"


def failed_total(queue: str) -> str:
    return f"asynq:{{{queue}}}:failed"


def processed_day(queue: str, day: datetime) -> str:
    return f"asynq:{{{queue}}}:processed:{day:%Y-%m-%d}"


def failed_day(queue: str, day: datetime) -> str:
    return f"asynq:{{{queue}}}:failed:{day:%Y-%m-%d}"


def unique(queue: str, task_type: str, payload: bytes | None) -> str:
    # Asynq leaves the digest off only for a nil Go payload; an empty one is hashed.
    digest = "" if payload is None else hashlib.md5(payload).hexdigest()
    return f"asynq:{{{queue}}}:unique:{task_type}:{digest}"


def group_prefix(queue: str) -> str:
    return f"asynq:{{{queue}}}:g:"


def group(queue: str, group_name: str) -> str:
    return f"asynq:{{{queue}}}:g:{group_name}"


def aggregation_set(queue: str, group_name: str, set_id: str) -> str:
    return f"asynq:{{{queue}}}:g:{group_name}:{set_id}"


def all_groups(queue: str) -> str:
    return f"asynq:{{{queue}}}:groups"


def all_aggregation_sets(queue: str) -> str:
    return f"asynq:{{{queue}}}:aggregation_sets"


def server_info(host: str, pid: int, server_id: str) -> str:
    return f"asynq:servers:{{{host}:{pid}:{server_id}}}"


def workers(host: str, pid: int, server_id: str) -> str:
    return f"asynq:workers:{{{host}:{pid}:{server_id}}}"


def scheduler_entries(scheduler_id: str) -> str:
    return f"asynq:schedulers:{{{scheduler_id}}}"


def scheduler_history(entry_id: str) -> str:
    return f"asynq:scheduler_history:{entry_id}"


def cron_claim(queue: str, entry_id: str, tick: int) -> str:
    """qops's claim on one tick (unix seconds) of one periodic entry; Asynq has no such key.

    It lives in the target queue's hash slot so one script can claim the tick and enqueue
    its task together.
    """
    return f"qops:cron:{{{queue}}}:{entry_id}:{tick}"


def wake_channel(queue: str) -> str:
    """Pub/Sub channel on which qops producers announce new pending work in ``queue``.

    Asynq has no such channel; idle qops workers listen here so they start a task as soon as
    it is enqueued instead of after a poll sleep.
    """
    return f"qops:wake:{{{queue}}}"
