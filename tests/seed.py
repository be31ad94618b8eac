"""Tasks written straight into Redis in Asynq's layout, in any state, for inspector tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis

from qops.storage import keys, wire


def message(queue: str, task_id: str, task_type: str, payload: bytes, **fields: Any) -> bytes:
    m = wire.TaskMessage(
        type=task_type, payload=payload, id=task_id, queue=queue, retry=25, timeout=1800
    )
    for name, value in fields.items():
        if name == "headers":
            m.headers.update(value)
        else:
            setattr(m, name, value)
    return wire.encode(m)


def put(
    r: redis.Redis | Any,
    queue: str,
    state: str,
    *,
    task_id: str | None = None,
    task_type: str = "email",
    payload: bytes = b'{"to":"a@b.c"}',
    score: float | None = None,
    group: str = "",
    unique_key: str = "",
    result: bytes | None = None,
    pending_since: int | None = None,
    **fields: Any,
) -> str:
    """Store one task in ``state``; ``r`` may be a pipeline. Returns its id.

    ``score`` is the zset score (scheduled/retry/archived/completed time, lease expiry of
    an active task, time added to a group); it defaults to now.
    """
    tid = task_id or str(uuid.uuid4())
    now = time.time()
    if group:
        fields["group_key"] = group
    if unique_key:
        fields["unique_key"] = unique_key
    h: dict[str, Any] = {
        "msg": message(queue, tid, task_type, payload, **fields),
        "state": state,
    }
    r.sadd(keys.ALL_QUEUES, queue)
    at = now if score is None else score
    if state == "pending":
        h["pending_since"] = pending_since if pending_since is not None else time.time_ns()
        r.lpush(keys.pending(queue), tid)
    elif state == "active":
        r.lpush(keys.active(queue), tid)
        r.zadd(keys.lease(queue), {tid: at})
    elif state == "aggregating":
        h["group"] = group
        r.zadd(keys.group(queue, group), {tid: at})
        r.sadd(keys.all_groups(queue), group)
    else:
        r.zadd(keys.state_key(queue, state), {tid: at})
    if unique_key:
        h["unique_key"] = unique_key
        r.set(unique_key, tid, ex=3600)
    if result is not None:
        h["result"] = result
    r.hset(keys.task(queue, tid), mapping=h)
    return tid


def put_many(
    r: redis.Redis, queue: str, state: str, n: int, prefix: str = "t", **options: Any
) -> list[str]:
    """``n`` tasks in one pipeline, ids ``<prefix>000000``...; zset scores 1 s apart.

    Listing order is id order: the first id is the oldest score, or the next to run.
    ``types`` cycles the task type over the given names.
    """
    pipe = r.pipeline(transaction=False)
    base = options.pop("score", time.time() - n)
    types = options.pop("types", None)
    ids = []
    for i in range(n):
        if types:
            options["task_type"] = types[i % len(types)]
        ids.append(put(pipe, queue, state, score=base + i, task_id=f"{prefix}{i:06d}", **options))
    pipe.execute()
    return ids
