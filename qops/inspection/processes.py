"""Reading what running processes publish: servers with their workers, scheduler entries.

Servers and schedulers register in a global zset scored by the time their record expires;
like Asynq, reading one drops the members whose time has passed. Records that cannot be
decoded are skipped rather than failing the whole listing.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from qops.inspection import decoding
from qops.models import SchedulerEnqueueEvent, SchedulerEntry, ServerInfo, WorkerInfo
from qops.storage import keys
from qops.storage.broker import Broker
from qops.storage.calls import Call, cmd


def _live(registry: str, now: int) -> list[Call]:
    # Members scored >= now are alive; the rest are pruned, as Asynq's tools do.
    return [
        cmd("ZRANGEBYSCORE", registry, now, "+inf"),
        cmd("ZREMRANGEBYSCORE", registry, "-inf", f"({now}"),
    ]


def _names(reply: Any) -> list[str]:
    return [decoding.text(k) for k in reply]


def servers(broker: Broker) -> list[ServerInfo]:
    now = int(time.time())
    found = broker.run([*_live(keys.ALL_SERVERS, now), *_live(keys.ALL_WORKERS, now)])
    server_keys, worker_keys = _names(found[0]), _names(found[2])
    if not server_keys:
        return []
    replies = broker.run(
        [cmd("GET", k) for k in server_keys] + [cmd("HVALS", k) for k in worker_keys],
        raise_on_error=False,
    )
    by_server: dict[str, list[WorkerInfo]] = {}
    for key, values in zip(worker_keys, replies[len(server_keys) :], strict=True):
        if not isinstance(values, list):
            continue
        for raw in values:
            w = decoding.worker(raw, key)
            if w is not None:
                by_server.setdefault(w.server_id, []).append(w)
    out = []
    for key, raw in zip(server_keys, replies[: len(server_keys)], strict=True):
        s = decoding.server(raw, key, []) if isinstance(raw, bytes) else None
        if s is not None:
            workers = sorted(
                by_server.get(s.id, []),
                key=lambda w: (w.started.timestamp() if w.started else 0.0, w.task_id),
            )
            out.append(dataclasses.replace(s, active_workers=workers))
    return sorted(out, key=lambda s: (s.host, s.pid, s.id))


def scheduler_entries(broker: Broker) -> list[SchedulerEntry]:
    now = int(time.time())
    found = broker.run(_live(keys.ALL_SCHEDULERS, now))
    names = _names(found[0])
    if not names:
        return []
    lists = broker.run([cmd("LRANGE", k, 0, -1) for k in names], raise_on_error=False)
    out = []
    for key, values in zip(names, lists, strict=True):
        if not isinstance(values, list):
            continue
        for raw in values:
            entry = decoding.scheduler_entry(raw, key)
            if entry is not None:
                out.append(entry)
    far = float("inf")
    return sorted(
        out,
        key=lambda e: (e.next_enqueue_at.timestamp() if e.next_enqueue_at else far, e.id),
    )


def scheduler_history(
    broker: Broker, entry_id: str, page: int, page_size: int
) -> list[SchedulerEnqueueEvent]:
    key = keys.scheduler_history(entry_id)
    start = (page - 1) * page_size
    raw = broker.call(cmd("ZREVRANGE", key, start, start + page_size - 1))
    events = (decoding.enqueue_event(item, key) for item in raw)
    return [e for e in events if e is not None]


def parse_info(raw: bytes | str) -> dict[str, str]:
    """Redis INFO text: ``name:value`` lines under ``# Section`` headers."""
    info: dict[str, str] = {}
    for line in decoding.text(raw).splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            info[name.strip()] = value.strip()
    return info
