"""`Scheduler`: enqueue periodic tasks on cron specs, once per tick across many schedulers.

Entries are published in Asynq's layout, so ``asynq cron ls`` and `qops.Inspector` list
them: every heartbeat (10 s) rewrites the ``asynq:schedulers:{<scheduler id>}`` list of
``SchedulerEntry`` messages (TTL 20 s) and refreshes its member in ``asynq:schedulers``;
each enqueue adds a ``SchedulerEnqueueEvent`` to ``asynq:scheduler_history:<entry id>``
(the newest 1000 are kept). Entry ids are stable (see `qops.periodic`), so the history
survives restarts and is not deleted at shutdown as Asynq does.

One tick, one task, however many schedulers run the same entries. Asynq has no such
guarantee: N schedulers enqueue N copies, and the usual workaround, a fixed task id, stops
the entry for good once one copy is archived, since every later run collides with it. Here
each tick of each entry has its own claim key, ``qops:cron:{<queue>}:<entry id>:<tick>``,
taken with ``SET NX EX`` by the same Lua script that enqueues the task. Because it lives in
the target queue's hash slot, claim and enqueue are one atomic step: whichever scheduler
comes first enqueues, the others see the claim and move on, and a scheduler that dies
midway leaves the tick either done or unclaimed, never claimed but lost. The claim is per
tick, so nothing carries over from one run to the next, whatever became of earlier tasks.
It expires ``misfire_grace`` plus one minute after it is taken, which covers any scheduler
that is late by less than the grace and clocks that differ by less than a minute; a
scheduler never fires a tick older than ``misfire_grace``. The task id is also derived from
entry and tick, so a retry after a lost reply cannot enqueue a second copy either.

This only works if every scheduler computes the same ticks: cron specs do, and ``@every``
ticks are aligned on the Unix epoch for that reason (see `qops.cron`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from qops import connection
from qops import scheduler_store as store
from qops import scheduler_ticks as ticks
from qops.cron import parse_spec, zone
from qops.errors import (
    ConnectionFailedError,
    InvalidInputError,
    InvalidScheduleError,
    SchedulerEntryNotFoundError,
)
from qops.models import SchedulerEntry
from qops.periodic import Entry, as_template
from qops.scheduler_ticks import EntryState, Firing
from qops.storage import keys
from qops.storage.broker import AsyncBroker, RedisError
from qops.storage.calls import cmd
from qops.task import Payload, Task

log = logging.getLogger("qops.scheduler")

HEARTBEAT_INTERVAL = 10.0
# How far apart two schedulers' clocks may be and still never enqueue one tick twice.
CLOCK_SKEW = 60
# The longest the loop sleeps, so a wall-clock jump is noticed within a second.
MAX_SLEEP = 1.0


@dataclass(frozen=True, slots=True)
class ReloadSummary:
    added: int
    removed: int
    unchanged: int


class Scheduler:
    """Enqueues tasks on cron specs; run several for availability, each tick runs once.

    Args:
        redis_url: as for `qops.Client`.
        profile: config profile to read the URL from.
        tz: time zone of cron specs registered without one (IANA name); default UTC.
        clock: returns the time in unix seconds; replace it to drive ticks in tests.
        heartbeat_interval: seconds between two publications of the entries.
        misfire_grace: seconds after which a tick that could not be enqueued (scheduler
            busy or Redis unreachable) is given up as missed.
        scheduler_id: defaults to ``<host>:<pid>:<uuid>`` as in Asynq.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        profile: str | None = None,
        tz: str | tzinfo = "UTC",
        clock: Callable[[], float] = time.time,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        misfire_grace: float = 60.0,
        scheduler_id: str | None = None,
    ) -> None:
        self.url = connection.resolve(redis_url, profile).url
        self.tz = zone(tz)[0]
        self.clock = clock
        self.heartbeat_interval = heartbeat_interval
        self.misfire_grace = misfire_grace
        host = socket.gethostname() or "unknown-host"
        self.id = scheduler_id or f"{host}:{os.getpid()}:{uuid.uuid4()}"
        self.config_path: Path | None = None
        self._states: dict[str, EntryState] = {}
        self._lock = threading.Lock()
        self._broker: AsyncBroker | None = None
        self._known_queues: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._reload_requested = False
        self._dirty = True

    @classmethod
    def from_file(cls, path: str | Path, redis_url: str | None = None, **kwargs: Any) -> Scheduler:
        """A scheduler with the entries of a TOML schedule file; `reload` reads it again.

        Raises:
            ConfigError: the file cannot be read or is not valid (names file and line).
        """
        scheduler = cls(redis_url, **kwargs)
        scheduler.config_path = Path(path)
        scheduler.reload()
        return scheduler

    # -- entries --------------------------------------------------------------------------
    def register(
        self,
        spec: str,
        task: Task | str,
        payload: Payload | None = None,
        *,
        tz: str | tzinfo | None = None,
        **options: Any,
    ) -> str:
        """Enqueue ``task`` at every tick of ``spec``; returns the entry id.

        Args:
            spec: cron spec (see `qops.cron`), e.g. ``"*/5 * * * *"``, ``"@every 30s"``.
            task: a `Task`, or a task type with ``payload`` and task options as keywords.
            tz: time zone of the spec (default: the scheduler's); a ``CRON_TZ=`` prefix in
                the spec wins over both.

        Raises:
            InvalidScheduleError: bad spec or zone, or the same entry is already registered.
            InvalidTaskError: a task option is invalid.
        """
        entry = Entry.create(parse_spec(spec, tz or self.tz), as_template(task, payload, options))
        with self._lock:
            if entry.id in self._states:
                raise InvalidScheduleError(
                    f"entry {entry.id} ({spec!r}, {entry.task.type!r}) is already registered"
                )
            self._states[entry.id] = EntryState(entry, entry.schedule.next_after(self.clock()))
        self._changed()
        return entry.id

    def unregister(self, entry_id: str) -> None:
        """Raises SchedulerEntryNotFoundError."""
        with self._lock:
            if self._states.pop(entry_id, None) is None:
                raise SchedulerEntryNotFoundError(entry_id)
        self._changed()

    def replace(self, entries: Iterable[Entry]) -> ReloadSummary:
        """Make ``entries`` the scheduler's entries; those already there keep their ticks."""
        now = self.clock()
        with self._lock:
            old = self._states
            new: dict[str, EntryState] = {}
            for e in entries:
                new[e.id] = old.get(e.id) or EntryState(e, e.schedule.next_after(now))
            self._states = new
        kept = len(new.keys() & old.keys())
        self._changed()
        return ReloadSummary(len(new) - kept, len(old) - kept, kept)

    def reload(self) -> ReloadSummary:
        """Read the schedule file again and apply it; on error nothing changes.

        Raises:
            ConfigError: the file is not valid; the running entries stay as they were.
            InvalidScheduleError: the scheduler was not made with `from_file`.
        """
        from qops.schedule_file import load_schedule

        if self.config_path is None:
            raise InvalidScheduleError("this scheduler has no schedule file to reload")
        return self.replace(load_schedule(self.config_path, default_tz=self.tz))

    def entries(self) -> list[SchedulerEntry]:
        """The registered entries with their next and previous ticks."""
        with self._lock:
            states = list(self._states.values())
        return [s.model() for s in states]

    # -- running --------------------------------------------------------------------------
    def run(self) -> None:
        """Run until SIGINT or SIGTERM; SIGHUP reloads the schedule file."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            handled = [signal.SIGINT, signal.SIGTERM]
            for sig in handled:
                loop.add_signal_handler(sig, self.stop)
            if hasattr(signal, "SIGHUP"):
                loop.add_signal_handler(signal.SIGHUP, self.request_reload)
                handled.append(signal.SIGHUP)
            try:
                await self.serve()
            finally:
                for sig in handled:
                    loop.remove_signal_handler(sig)

        asyncio.run(main())

    async def serve(self) -> None:
        """Run in the current event loop until `stop` is called.

        Raises:
            ConnectionFailedError: Redis cannot be reached at start.
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        try:
            await self._get_broker().ping()
        except ConnectionFailedError:
            await self.close()
            raise
        self._reanchor(self.clock())
        log.info("scheduler %s started; entries: %d", self.id, len(self._states))
        next_beat = 0.0
        unreachable = False
        try:
            while not self._stopping:
                if self._reload_requested:
                    self._reload_requested = False
                    self._reload_logged()
                now = self.clock()
                try:
                    await self.run_due(now)
                    if self._dirty or now >= next_beat:
                        await self._heartbeat(now)
                        next_beat = now + self.heartbeat_interval
                    if unreachable:
                        unreachable = False
                        log.warning("Redis is reachable again")
                except (ConnectionFailedError, RedisError) as exc:
                    # Once per outage: the loop retries every second.
                    if not unreachable:
                        log.warning("cannot reach Redis, retrying every second: %s", exc)
                    unreachable = True
                await self._sleep(min(self._next_wake(), next_beat) - self.clock())
        finally:
            await self._clear()
            await self.close()
            self._loop = self._wake = None
            log.info("scheduler %s stopped", self.id)

    def stop(self) -> None:
        """Ask `serve`/`run` to return after the current step; safe from any thread."""
        self._stopping = True
        self._poke()

    def request_reload(self) -> None:
        """Ask the running loop to `reload` the file (what SIGHUP does); errors are logged."""
        self._reload_requested = True
        self._poke()

    async def close(self) -> None:
        if self._broker is not None:
            await self._broker.close()
            self._broker = None

    async def run_due(self, now: float | None = None) -> list[Firing]:
        """Enqueue every tick due at ``now`` (default: the clock), claimed once across schedulers.

        Ticks older than ``misfire_grace`` are given up as missed. All claims and enqueues go
        out in one round trip.

        Raises:
            ConnectionFailedError: Redis cannot be reached; the due ticks stay due.
        """
        now = self.clock() if now is None else now
        with self._lock:
            states = list(self._states.values())
        plan, out = ticks.due(states, now, self.misfire_grace)
        if plan:
            out += await self._enqueue(plan, now)
        return out

    # -- internals ------------------------------------------------------------------------
    async def _enqueue(self, plan: list[ticks.Planned], now: float) -> list[Firing]:
        broker = self._get_broker()
        new_queues = {p.task.queue for _, _, p in plan} - self._known_queues
        claim_ttl = math.ceil(self.misfire_grace) + CLOCK_SKEW
        calls = [cmd("SADD", keys.ALL_QUEUES, q) for q in sorted(new_queues)]
        calls += [
            store.claim_and_enqueue(st.entry, tick, p, now, claim_ttl, self.id)
            for st, tick, p in plan
        ]
        try:
            replies = await broker.run(calls, raise_on_error=False)
        except ConnectionFailedError:
            for st, _, _ in plan:
                st.retry_at = now + 1.0
            raise
        self._known_queues |= new_queues
        fired, enqueued = ticks.settle(plan, replies[len(new_queues) :])
        if enqueued:
            history = [store.record_event(entry_id, task_id, now) for entry_id, task_id in enqueued]
            for r in await broker.run(history, raise_on_error=False):
                if isinstance(r, Exception):
                    log.warning("enqueue history not recorded: %s", r)
        self._dirty = True
        return fired

    async def _heartbeat(self, now: float) -> None:
        with self._lock:
            states = list(self._states.values())
        if not states:
            await self._clear()
            return
        ttl = math.ceil(2 * self.heartbeat_interval)
        rows = [(s.entry, s.next, s.prev) for s in states]
        await self._get_broker().run(store.publish_entries(self.id, rows, now, ttl))
        self._dirty = False

    async def _clear(self) -> None:
        try:
            await self._get_broker().run(store.clear_entries(self.id))
        except (ConnectionFailedError, RedisError) as exc:
            log.warning("scheduler entries not cleared from Redis: %s", exc)

    def _get_broker(self) -> AsyncBroker:
        if self._broker is None:
            self._broker = AsyncBroker.from_url(self.url)
        return self._broker

    def _reanchor(self, now: float) -> None:
        # Entries registered long before the loop starts would otherwise report their stale
        # first tick as missed.
        with self._lock:
            for st in self._states.values():
                if now - st.next > self.misfire_grace:
                    st.next = st.entry.schedule.next_after(now)

    def _reload_logged(self) -> None:
        try:
            s = self.reload()
        except InvalidInputError as exc:
            log.error("reload failed, the running entries stay as they were: %s", exc)
            return
        log.info("reloaded %s: %d added, %d removed, %d unchanged",
                 self.config_path, s.added, s.removed, s.unchanged)  # fmt: skip

    def _next_wake(self) -> float:
        with self._lock:
            states = list(self._states.values())
        return min((max(s.next, s.retry_at) for s in states), default=math.inf)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        if self._stopping or self._reload_requested:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(0.0, min(seconds, MAX_SLEEP)))
        self._wake.clear()

    def _changed(self) -> None:
        self._dirty = True
        self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)
