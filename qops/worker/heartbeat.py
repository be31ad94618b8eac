"""`Heartbeat`: what `asynq server ls` and `Inspector.servers()` see of a running worker.

Every beat writes the server's ServerInfo (TTL 10 s), one WorkerInfo per running task, and
refreshes both entries in the global ``asynq:servers`` / ``asynq:workers`` sets, whose scores
are the expiry times. The same tick extends the leases of every task the worker owns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping

from qops.errors import ConnectionFailedError
from qops.storage import keys, wire
from qops.storage.broker import AsyncBroker, RedisError
from qops.storage.calls import Arg, cmd, lua
from qops.worker.processor import Processor
from qops.worker.waiting import wait_at_most

log = logging.getLogger("qops.worker")

TTL = 10  # seconds, twice Asynq's beat


class Identity:
    """host:pid:server-id, as Asynq names a server."""

    def __init__(self) -> None:
        try:
            self.host = socket.gethostname() or "unknown-host"
        except OSError:
            self.host = "unknown-host"
        self.pid = os.getpid()
        self.server_id = str(uuid.uuid4())
        self.server_key = keys.server_info(self.host, self.pid, self.server_id)
        self.workers_key = keys.workers(self.host, self.pid, self.server_id)


class Heartbeat:
    def __init__(
        self,
        broker: AsyncBroker,
        processor: Processor,
        *,
        queues: Mapping[str, int],
        strict_priority: bool,
        concurrency: int,
        interval: float,
    ) -> None:
        self.broker = broker
        self.processor = processor
        self.identity = Identity()
        self.queues = dict(queues)
        self.strict_priority = strict_priority
        self.concurrency = concurrency
        self.interval = interval
        self.started = time.time()
        self.status = "active"

    async def run(self, stopping: asyncio.Event) -> None:
        """Beat (and extend leases) every interval until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                await self.processor.ledger.extend()
                await self.beat()
            except (ConnectionFailedError, RedisError) as exc:
                log.error("heartbeat failed: %s", exc)
            await wait_at_most(stopping, self.interval)

    def server_info(self) -> bytes:
        ident = self.identity
        info = wire.ServerInfoMessage(
            host=ident.host,
            pid=ident.pid,
            server_id=ident.server_id,
            concurrency=self.concurrency,
            strict_priority=self.strict_priority,
            status=self.status,
            active_worker_count=len(self.processor.running),
        )
        info.queues.update(self.queues)
        wire.set_time(info.start_time, self.started)
        return wire.encode(info)

    async def beat(self) -> None:
        ident = self.identity
        argv: list[Arg] = [TTL, self.server_info()]
        for job in self.processor.snapshot():
            w = wire.WorkerInfoMessage(
                host=ident.host,
                pid=ident.pid,
                server_id=ident.server_id,
                task_id=job.id,
                task_type=job.msg.type,
                task_payload=job.msg.payload,
                queue=job.queue,
            )
            wire.set_time(w.start_time, job.started)
            wire.set_time(w.deadline, job.deadline)
            argv += [job.id, wire.encode(w)]
        expiry = int(time.time()) + TTL
        await self.broker.run(
            [
                cmd("ZADD", keys.ALL_SERVERS, expiry, ident.server_key),
                cmd("ZADD", keys.ALL_WORKERS, expiry, ident.workers_key),
                lua("write_server_state", [ident.server_key, ident.workers_key], argv),
            ]
        )

    async def clear(self) -> None:
        ident = self.identity
        await self.broker.run(
            [
                cmd("ZREM", keys.ALL_SERVERS, ident.server_key),
                cmd("ZREM", keys.ALL_WORKERS, ident.workers_key),
                cmd("DEL", ident.server_key, ident.workers_key),
            ]
        )
