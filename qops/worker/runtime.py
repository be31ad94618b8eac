"""`Worker`: serves queues with the handlers of a `Handlers`, with Asynq's semantics.

One asyncio loop runs everything: the fetcher and the async handlers, the outcome writer, the
heartbeat (which also extends leases), the Pub/Sub listener (cancel requests and wake-ups) and
the maintenance loops (forwarder, recoverer, janitor, aggregator). Sync handlers run in a pool
of threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from qops import connection
from qops.connection import mask_url
from qops.errors import ConnectionFailedError, InvalidInputError
from qops.storage.broker import AsyncBroker, RedisError
from qops.wording import plural
from qops.worker.aggregator import Aggregator
from qops.worker.backoff import RetryDelay, default_retry_delay
from qops.worker.forwarder import Forwarder
from qops.worker.handlers import Handlers
from qops.worker.heartbeat import Heartbeat
from qops.worker.janitor import Janitor
from qops.worker.listener import Listener
from qops.worker.observer import GuardedObserver, WorkerObserver
from qops.worker.options import count, duration
from qops.worker.processor import Processor
from qops.worker.queues import QueueOrder, normalize, parse_queues
from qops.worker.recoverer import RecoverDelay, Recoverer
from qops.worker.threads import HandlerThreads
from qops.worker.waiting import wait_at_most

__all__ = ["Worker", "parse_queues"]

log = logging.getLogger("qops.worker")

# Seconds the last outcome writes may take at shutdown before they are left to the recoverer.
FINAL_FLUSH_TIMEOUT = 5.0


class _Loop(Protocol):
    async def run(self, stopping: asyncio.Event) -> None: ...


class Worker:
    """Processes tasks from Redis queues with the handlers registered in ``handlers``.

    Args:
        handlers: Task types and their handlers.
        redis_url: Redis URL; default ``QOPS_REDIS_URL``, the config profile, then the
            embedded Redis.
        profile: Config profile to read the URL from.
        queues: Queues to serve, as ``{"critical": 6, "default": 3}``, a list of names
            (weight 1 each), or a spec string ``"critical=6,default=3"``. Default
            ``{"default": 1}``.
        strict_priority: Always empty higher-priority queues first; otherwise a queue is
            tried first with probability weight / sum of weights.
        concurrency: Tasks run at the same time.
        shutdown_timeout: Seconds running tasks get to finish on shutdown before they are put
            back at the head of their queue.
        retry_delay: ``(retried, error, task) -> seconds`` before a failed task runs again.
            Default: Asynq's ``retried**4 + 15 + rand(0..29) * (retried + 1)``.
        threads: Threads for sync handlers; default ``concurrency``.
        poll_interval: Seconds between looks at empty queues (jittered ±50 %). qops producers
            wake idle workers at once; this bounds the delay for producers that do not
            (such as Go Asynq).
        lease_duration: Seconds a task's lease lasts; it is extended while the task runs.
            A crashed worker's tasks are recovered once their lease has lapsed.
        heartbeat_interval: Seconds between heartbeats (and lease extensions); at most a
            third of ``lease_duration`` is used.
        forward_interval: Seconds between moves of due scheduled and retry tasks to pending.
        recover_interval: Seconds between looks for tasks whose lease lapsed.
        recover_skew: Seconds a lease must be past before its task is recovered: the clock
            difference tolerated between hosts. A crashed worker's tasks are recovered
            ``lease_duration + recover_skew`` to that plus ``recover_interval`` seconds
            after its last lease extension: at most 40 s after the crash with the defaults.
        recover_delay: Seconds before a recovered task runs again, or a function
            ``(retried, LeaseExpiredError, task) -> seconds``. 0 (default): it is pending
            again at once and idle workers start it; above 0 it waits in retry. Either way
            it counts as a failure and is archived once its retries are used up.
        janitor_interval: Seconds between deletions of expired completed tasks.
        janitor_batch_size: Completed tasks deleted per script call.
        group_grace_period: Seconds a group must stay unchanged before it is aggregated.
        group_max_delay: Seconds the oldest task of a group may wait; 0 means no limit.
        group_max_size: Tasks that trigger an aggregation at once; 0 means no limit.
        observer: Receives task and maintenance events, for metrics (see
            `qops.worker.observer.WorkerObserver`); nothing is called without one.
        log_payloads: Put the payload (at most 1 KiB; base64 when not UTF-8) in the start,
            retry and archive log lines. Off by default: payloads may hold personal data.
    """

    def __init__(
        self,
        handlers: Handlers,
        *,
        redis_url: str | None = None,
        profile: str | None = None,
        queues: Mapping[str, int] | Sequence[str] | str | None = None,
        strict_priority: bool = False,
        concurrency: int = 10,
        shutdown_timeout: float = 8.0,
        retry_delay: RetryDelay | None = None,
        threads: int | None = None,
        poll_interval: float = 0.1,
        lease_duration: float = 30.0,
        heartbeat_interval: float = 5.0,
        forward_interval: float = 5.0,
        recover_interval: float = 5.0,
        recover_skew: float = 5.0,
        recover_delay: RecoverDelay = 0.0,
        janitor_interval: float = 8.0,
        janitor_batch_size: int = 100,
        group_grace_period: float = 60.0,
        group_max_delay: float = 0.0,
        group_max_size: int = 0,
        observer: WorkerObserver | None = None,
        log_payloads: bool = False,
    ) -> None:
        if not isinstance(handlers, Handlers):
            raise InvalidInputError("handlers must be a qops.Handlers")
        self.handlers = handlers
        self.redis_url = redis_url
        self.profile = profile
        self.queues = normalize(queues)
        self.strict_priority = bool(strict_priority)
        self.concurrency = count(concurrency, "concurrency", minimum=1)
        self.threads = self.concurrency if threads is None else count(threads, "threads", minimum=1)
        self.shutdown_timeout = duration(shutdown_timeout, "shutdown_timeout")
        self.retry_delay = retry_delay or default_retry_delay
        self.poll_interval = duration(poll_interval, "poll_interval", minimum=0.001)
        self.lease_duration = duration(lease_duration, "lease_duration", minimum=1.0)
        self.heartbeat_interval = min(
            duration(heartbeat_interval, "heartbeat_interval", positive=True),
            self.lease_duration / 3,
        )
        self.forward_interval = duration(forward_interval, "forward_interval", positive=True)
        self.recover_interval = duration(recover_interval, "recover_interval", positive=True)
        self.recover_skew = duration(recover_skew, "recover_skew")
        self.recover_delay: RecoverDelay = (
            recover_delay if callable(recover_delay) else duration(recover_delay, "recover_delay")
        )
        self.janitor_interval = duration(janitor_interval, "janitor_interval", positive=True)
        self.janitor_batch_size = count(janitor_batch_size, "janitor_batch_size", minimum=1)
        self.group_grace_period = duration(group_grace_period, "group_grace_period", minimum=1.0)
        self.group_max_delay = duration(group_max_delay, "group_max_delay")
        self.group_max_size = count(group_max_size, "group_max_size")
        if observer is not None and not isinstance(observer, WorkerObserver):
            raise InvalidInputError("observer must be a qops.worker.observer.WorkerObserver")
        self.observer = None if observer is None else GuardedObserver(observer)
        self.log_payloads = bool(log_payloads)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._hard: asyncio.Event | None = None
        self._stop_early = False
        self._lock = threading.Lock()
        self.heartbeat: Heartbeat | None = None
        self.processor: Processor | None = None

    # -- control ------------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT (a second one stops at once); return 0.

        Raises:
            ConnectionFailedError: Redis cannot be reached at startup.
        """
        asyncio.run(self.serve())
        return 0

    def stop(self) -> None:
        """Ask for a graceful shutdown; safe from any thread, also before `serve` starts."""
        with self._lock:
            loop, stop = self._loop, self._stop
            if loop is None or stop is None:
                self._stop_early = True
                return
        loop.call_soon_threadsafe(self._request_stop)

    def _request_stop(self) -> None:
        assert self._stop is not None and self._hard is not None
        if self._stop.is_set():
            log.warning("stopping now: requeueing running tasks")
            self._hard.set()
        else:
            log.info("shutting down: waiting up to %gs for running tasks", self.shutdown_timeout)
            self._stop.set()

    # -- serving ------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Serve until `stop` is called or SIGTERM/SIGINT arrives (in the main thread).

        Raises:
            ConnectionFailedError: Redis cannot be reached at startup.
        """
        target = connection.resolve(self.redis_url, self.profile)
        broker = AsyncBroker.from_url(target.url)
        try:
            await broker.ping()
            await self._serve(broker)
        finally:
            with self._lock:
                self._loop = self._stop = self._hard = None
            await broker.close()

    async def _serve(self, broker: AsyncBroker) -> None:
        loop = asyncio.get_running_loop()
        stop, hard = asyncio.Event(), asyncio.Event()
        with self._lock:
            self._loop, self._stop, self._hard = loop, stop, hard
            if self._stop_early:
                self._stop_early = False
                stop.set()
        executor = HandlerThreads(self.threads)
        processor = Processor(
            broker=broker,
            handlers=self.handlers,
            order=QueueOrder(self.queues, self.strict_priority),
            concurrency=self.concurrency,
            executor=executor,
            retry_delay=self.retry_delay,
            lease_duration=self.lease_duration,
            poll_interval=self.poll_interval,
            observer=self.observer,
            log_payloads=self.log_payloads,
        )
        heartbeat = Heartbeat(
            broker,
            processor,
            queues=self.queues,
            strict_priority=self.strict_priority,
            concurrency=self.concurrency,
            interval=self.heartbeat_interval,
        )
        self.processor, self.heartbeat = processor, heartbeat
        listener = Listener(broker, processor, self.queues)
        done = asyncio.Event()  # the writer, heartbeat and listener stop on it
        maintenance_stop = asyncio.Event()
        writer = loop.create_task(processor.ledger.run(done))
        beats = loop.create_task(heartbeat.run(done))
        listening = loop.create_task(listener.run(done))
        watching = loop.create_task(processor.ledger.watch(done, min(1.0, self.heartbeat_interval)))
        chores = [loop.create_task(m.run(maintenance_stop)) for m in self._maintenance(broker)]
        await wait_at_most(listener.ready, 2.0)
        if self.observer is not None:
            self.observer.serving(list(self.queues), self.handlers.patterns)
        fetcher = loop.create_task(processor.fetch())
        restore = self._install_signals(loop)
        url = mask_url(broker.url)
        log.info(
            "worker %s serving %s with concurrency %d from Redis at %s",
            heartbeat.identity.server_id,
            ", ".join(f"{q}={w}" for q, w in self.queues.items()),
            self.concurrency,
            url,
            extra={
                "event": "serving",
                "server_id": heartbeat.identity.server_id,
                "queues": self.queues,
                "concurrency": self.concurrency,
                "redis": url,
            },
        )
        try:
            await stop.wait()
        finally:
            heartbeat.status = "closed"
            maintenance_stop.set()
            # Redis being down must not keep the drain below from putting tasks back.
            with contextlib.suppress(ConnectionFailedError, RedisError):
                await heartbeat.beat()
            processor.stop_fetching()
            await asyncio.gather(fetcher, return_exceptions=True)
            await self._drain(processor, hard)
            done.set()
            try:
                async with asyncio.timeout(FINAL_FLUSH_TIMEOUT):
                    await writer
            except TimeoutError:
                log.error("could not record every outcome; the recoverer will retry those tasks")
            await asyncio.gather(*chores, return_exceptions=True)
            listening.cancel()
            await asyncio.gather(listening, beats, watching, return_exceptions=True)
            with contextlib.suppress(ConnectionFailedError, RedisError):
                await heartbeat.clear()
            executor.shutdown(wait=False, cancel_futures=True)
            restore()
            log.info("worker %s stopped", heartbeat.identity.server_id)

    async def _drain(self, processor: Processor, hard: asyncio.Event) -> None:
        if processor.running and not hard.is_set():
            idle = asyncio.ensure_future(processor.wait_idle())
            now = asyncio.ensure_future(hard.wait())
            await asyncio.wait(
                (idle, now), timeout=self.shutdown_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            idle.cancel()
            now.cancel()
        if processor.running:
            log.warning("requeueing %s", plural(len(processor.running), "unfinished task"))
        await processor.abort_all()

    def _maintenance(self, broker: AsyncBroker) -> list[_Loop]:
        queues = list(self.queues)
        return [
            Forwarder(broker, queues, interval=self.forward_interval, observer=self.observer),
            Recoverer(
                broker,
                queues,
                interval=self.recover_interval,
                skew=self.recover_skew,
                delay=self.recover_delay,
                observer=self.observer,
            ),
            Janitor(
                broker, queues, interval=self.janitor_interval, batch_size=self.janitor_batch_size
            ),
            Aggregator(
                broker,
                queues,
                aggregate=self.handlers.aggregate,
                grace_period=self.group_grace_period,
                max_delay=self.group_max_delay,
                max_size=self.group_max_size,
            ),
        ]

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._request_stop)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):
                pass

        def restore() -> None:
            for sig in installed:
                loop.remove_signal_handler(sig)

        return restore
