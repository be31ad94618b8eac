"""`Inspector`: read and administer queues. The CLI and the TUI touch Redis only through it.

Costs, so callers can poll: `queue_infos` is one pipelined round trip in the steady state
(one stats script per queue, none of them O(queue size)); a page of `list_tasks` is O(page);
a type filter scans forward and costs O(position reached); bulk actions go 1 000 tasks per
script call so Redis never blocks long.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Self

from qops import connection
from qops.errors import (
    CorruptTaskError,
    InvalidArgumentError,
    QueueNotFoundError,
    QueueStateError,
    TaskNotFoundError,
)
from qops.inspection import arguments, decoding, processes, reading, removal, stats, writing
from qops.inspection.reading import Source
from qops.models import (
    DailyStats,
    GroupInfo,
    QueueInfo,
    SchedulerEnqueueEvent,
    SchedulerEntry,
    ServerInfo,
    TaskInfo,
    TaskState,
)
from qops.storage import keys
from qops.storage.broker import Broker
from qops.storage.calls import cmd, lua


class Inspector:
    """Reads queues, tasks, servers and scheduler entries, and acts on them.

    Args:
        redis_url: as for `qops.Client`.
        profile: config profile to read the URL from.
    """

    def __init__(self, redis_url: str | None = None, *, profile: str | None = None) -> None:
        target = connection.resolve(redis_url, profile)
        self.url = target.url
        self.embedded = target.embedded
        self.broker = Broker.from_url(target.url)
        # INFO comes back as its text, parsed here, not as redis-py's typed dict.
        self.broker.redis.set_response_callback("INFO", lambda reply, **_: reply)
        self._known_queues: list[str] = []

    def close(self) -> None:
        self.broker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> None:
        """Raises ConnectionFailedError when Redis cannot be reached."""
        self.broker.ping()

    # -- queues ---------------------------------------------------------------------------
    def queues(self) -> list[str]:
        """Every queue name, sorted."""
        return sorted(decoding.text(q) for q in self.broker.call(cmd("SMEMBERS", keys.ALL_QUEUES)))

    def queue_info(self, queue: str) -> QueueInfo:
        """Counts per state, today's and total counters, latency, memory and pause flag.

        When the queue has more than `stats.GROUPS_COUNTED` groups, ``aggregating`` (and
        ``size``) is extrapolated from that many random groups instead of reading them all.

        Raises:
            QueueNotFoundError: the queue is not in ``asynq:queues``.
        """
        return self.queue_infos([queue])[0]

    def queue_infos(self, queues: Sequence[str] | None = None) -> list[QueueInfo]:
        """Info of many queues (all when None) in one pipelined round trip, sorted by name.

        With None, the names are read in the same round trip as the stats of the queues
        seen by the previous call; only queues new since then cost a second one.

        Raises:
            QueueNotFoundError: a queue named in ``queues`` does not exist.
        """
        now = time.time()
        day = decoding.utc_day(now)
        if queues is None:
            guess = self._known_queues
            replies = self.broker.run(
                [cmd("SMEMBERS", keys.ALL_QUEUES)] + [stats.stats_call(q, day) for q in guess]
            )
            names = sorted(decoding.text(q) for q in replies[0])
            got = dict(zip(guess, replies[1:], strict=True))
            new = [q for q in names if q not in got]
            if new:
                more = self.broker.run([stats.stats_call(q, day) for q in new])
                got.update(zip(new, more, strict=True))
            self._known_queues = names
            return [stats.queue_info(q, got[q], now) for q in names]
        names = sorted(dict.fromkeys(arguments.queue(q) for q in queues))
        if not names:
            return []
        replies = self.broker.run(
            [cmd("SISMEMBER", keys.ALL_QUEUES, q) for q in names]
            + [stats.stats_call(q, day) for q in names]
        )
        for q, found in zip(names, replies, strict=False):
            if not found:
                raise QueueNotFoundError(q)
        return [
            stats.queue_info(q, reply, now)
            for q, reply in zip(names, replies[len(names) :], strict=True)
        ]

    def history(self, queue: str, days: int = 7) -> list[DailyStats]:
        """Processed/failed per UTC day, today first."""
        q = arguments.queue(queue)
        arguments.positive(days, "days")
        dates, names = stats.history_keys(q, decoding.utc_day(time.time()), days)
        found, values = self.broker.run([cmd("SISMEMBER", keys.ALL_QUEUES, q), cmd("MGET", *names)])
        if not found:
            raise QueueNotFoundError(q)
        return stats.history(q, dates, values)

    def groups(self, queue: str) -> list[GroupInfo]:
        """The groups of aggregating tasks with their sizes, by name; O(number of groups)."""
        q = arguments.queue(queue)
        self._require(q)
        return reading.groups(self.broker, q)

    def pause(self, queue: str) -> None:
        """Raises QueueNotFoundError, QueueStateError (already paused)."""
        q = arguments.queue(queue)
        self._require(q)
        if not self.broker.call(cmd("SET", keys.paused(q), int(time.time()), "NX")):
            raise QueueStateError(f"queue {q!r} is already paused")

    def unpause(self, queue: str) -> None:
        """Raises QueueNotFoundError, QueueStateError (not paused)."""
        q = arguments.queue(queue)
        self._require(q)
        if not self.broker.call(cmd("DEL", keys.paused(q))):
            raise QueueStateError(f"queue {q!r} is not paused")

    def delete_queue(self, queue: str, *, force: bool = False) -> None:
        """Delete the queue and every key it owns.

        Without ``force`` a queue that holds any task (completed and aggregating included)
        is refused. With ``force`` its tasks are deleted first, with the unique locks they
        hold, unless some are active; the queue is paused meanwhile so workers take none.
        Unlike Asynq, nothing of the queue is left behind: completed tasks, groups,
        aggregation sets, the pause flag, counters and lease go too. A unique lock is freed
        through the task's ``unique_key`` hash field, which Go Asynq leaves out for grouped
        tasks; those locks expire on their own.

        Raises:
            QueueNotFoundError: no such queue.
            QueueNotEmptyError: it holds tasks (without force) or active tasks (with force).
        """
        q = arguments.queue(queue)
        self._require(q)
        removal.delete_queue(self.broker, q, force=force)

    # -- tasks ----------------------------------------------------------------------------
    def list_tasks(
        self,
        queue: str,
        state: TaskState | str,
        *,
        page: int = 1,
        page_size: int = 30,
        group: str | None = None,
        task_type: str | None = None,
    ) -> list[TaskInfo]:
        """One page of tasks in ``state`` (1-based pages), O(page) in Redis.

        Order is Asynq's: pending and active next-to-run first; scheduled and retry by next
        run; archived and completed oldest first. ``aggregating`` lists all groups (by
        group name, then age; this reads the group list first, O(groups)), or ``group``.
        A stored message that cannot be decoded is listed with ``corrupt`` set; ids whose
        task hash is gone are skipped. With ``task_type`` the page is filled by scanning
        forward from the start of the state, so it costs O(position of the page) instead.

        Raises:
            QueueNotFoundError: no such queue.
            InvalidArgumentError: an unknown state, a page below 1, a group for a state
                other than aggregating.
        """
        st = arguments.state(state)
        arguments.positive(page, "page")
        arguments.positive(page_size, "page size")
        grp = arguments.group_for(st, group)
        prefix = arguments.type_prefix(task_type)
        q = arguments.queue(queue)
        self._require(q)
        now = time.time()
        skip = (page - 1) * page_size
        if st is TaskState.AGGREGATING and grp is None:
            return reading.across_groups(self.broker, q, prefix, skip, page_size, now)
        src = reading.source(q, st, grp or "")
        if prefix:
            return reading.filtered_page(self.broker, src, prefix, skip, page_size, now)[0]
        return reading.page(self.broker, src, skip, page_size, now)

    def iter_tasks(
        self,
        queue: str,
        state: TaskState | str,
        *,
        batch: int = 1000,
        task_type: str | None = None,
    ) -> Iterator[TaskInfo]:
        """Every task in ``state``, fetched ``batch`` at a time (constant memory).

        Reads move forward by position, so a state that does not change while it is read
        comes out exactly once per task; tasks that move meanwhile may be missed or repeated.
        A batch is at most 10 000 tasks, so one read never blocks Redis long. The queue and
        arguments are checked on the call, before the first task is read.
        """
        st = arguments.state(state)
        arguments.positive(batch, "batch")
        prefix = arguments.type_prefix(task_type)
        q = arguments.queue(queue)
        self._require(q)
        return self._iter(reading.sources(self.broker, q, st, None), prefix, min(batch, 10_000))

    def count_tasks(
        self, queue: str, state: TaskState | str, *, task_type: str | None = None
    ) -> int:
        """Tasks in ``state``: O(1) (O(groups) for aggregating), O(state) with ``task_type``."""
        st = arguments.state(state)
        prefix = arguments.type_prefix(task_type)
        q = arguments.queue(queue)
        self._require(q)
        if prefix:
            return sum(
                reading.count(self.broker, s, prefix)
                for s in reading.sources(self.broker, q, st, None)
            )
        if st is TaskState.AGGREGATING:
            return sum(g.size for g in reading.groups(self.broker, q))
        src = reading.source(q, st)
        # A container of the wrong type counts as empty, as in `queue_info`.
        (n,) = self.broker.run(
            [cmd("LLEN" if src.is_list else "ZCARD", src.key)], raise_on_error=False
        )
        return n if isinstance(n, int) else 0

    def get_task(self, queue: str, task_id: str) -> TaskInfo:
        """Raises QueueNotFoundError, TaskNotFoundError, CorruptTaskError."""
        q = arguments.queue(queue)
        tid = self._task_id(task_id)
        key = keys.task(q, tid)
        found, raw = self.broker.run(
            [
                cmd("SISMEMBER", keys.ALL_QUEUES, q),
                lua(
                    "inspect_get_task",
                    [key, keys.scheduled(q), keys.retry(q), keys.lease(q)],
                    [tid],
                ),
            ]
        )
        if not found:
            raise QueueNotFoundError(q)
        if raw is None:
            raise TaskNotFoundError(q, tid)
        if int(raw[0]) == 0:
            raise CorruptTaskError(key, f"the key holds a {decoding.text(raw[1])}, not a hash")
        _, msg, state, result, score, since = raw
        name = decoding.text(state)
        if name not in arguments.STATE_VALUES:
            raise CorruptTaskError(key, f"unknown task state {name!r}")
        return decoding.task_info(
            q, tid, TaskState(name), msg, result, decoding.number(score), time.time(), since
        )

    def delete_task(self, queue: str, task_id: str) -> None:
        """Delete a task in any state but active, with the unique lock it holds.

        Raises:
            QueueNotFoundError, TaskNotFoundError, TaskStateError (active).
        """
        self._task_op("delete", queue, task_id)

    def run_task(self, queue: str, task_id: str) -> None:
        """Move a scheduled, retry, archived, completed or aggregating task to pending.

        It runs next in line (pending since now) and idle qops workers are woken at once.

        Raises:
            QueueNotFoundError, TaskNotFoundError, TaskStateError (pending or active).
        """
        self._task_op("run", queue, task_id)

    def archive_task(self, queue: str, task_id: str) -> None:
        """Move a pending, scheduled, retry, completed or aggregating task to archived.

        Raises:
            QueueNotFoundError, TaskNotFoundError, TaskStateError (active or archived).
        """
        self._task_op("archive", queue, task_id)

    def cancel_task(self, task_id: str) -> None:
        """Ask the worker running ``task_id`` to cancel it (Asynq's cancel channel).

        Best effort, as in Asynq: nothing tells whether a worker was running it.
        """
        self.broker.call(cmd("PUBLISH", keys.CANCEL_CHANNEL, self._task_id(task_id)))

    def delete_all(
        self,
        queue: str,
        state: TaskState | str,
        *,
        task_type: str | None = None,
        group: str | None = None,
    ) -> int:
        """Delete every task in ``state`` (not active), freeing their unique locks.

        Returns the number deleted. ``task_type`` keeps other types; ``group`` limits
        aggregating tasks to one group.
        """
        return self._bulk("delete", queue, state, task_type, group)

    def run_all(
        self,
        queue: str,
        state: TaskState | str,
        *,
        task_type: str | None = None,
        group: str | None = None,
    ) -> int:
        """Move every task in ``state`` to pending; returns the number moved.

        ``state`` is scheduled, retry, archived, completed or aggregating.
        """
        return self._bulk("run", queue, state, task_type, group)

    def archive_all(
        self,
        queue: str,
        state: TaskState | str,
        *,
        task_type: str | None = None,
        group: str | None = None,
    ) -> int:
        """Archive every task in ``state``; returns the number archived.

        ``state`` is pending, scheduled, retry, completed or aggregating. The archive is
        then trimmed as Asynq does (90 days, the newest 9 999), deleting what it drops.
        """
        return self._bulk("archive", queue, state, task_type, group)

    # -- servers and scheduler ------------------------------------------------------------
    def servers(self) -> list[ServerInfo]:
        """Live servers with their active workers."""
        return processes.servers(self.broker)

    def scheduler_entries(self) -> list[SchedulerEntry]:
        """Periodic tasks registered by live schedulers, next to run first."""
        return processes.scheduler_entries(self.broker)

    def scheduler_history(
        self, entry_id: str, *, page: int = 1, page_size: int = 30
    ) -> list[SchedulerEnqueueEvent]:
        """Newest first."""
        if not entry_id:
            raise InvalidArgumentError("scheduler entry id must not be empty")
        arguments.positive(page, "page")
        arguments.positive(page_size, "page size")
        return processes.scheduler_history(self.broker, entry_id, page, page_size)

    def redis_info(self) -> dict[str, str]:
        """Redis INFO: version, uptime, clients, memory."""
        return processes.parse_info(self.broker.call(cmd("INFO")))

    # -- internals ------------------------------------------------------------------------
    def _require(self, queue: str) -> None:
        if not self.broker.call(cmd("SISMEMBER", keys.ALL_QUEUES, queue)):
            raise QueueNotFoundError(queue)

    @staticmethod
    def _task_id(task_id: str) -> str:
        if not isinstance(task_id, str) or not task_id:
            raise InvalidArgumentError("task id must be a non-empty string")
        return task_id

    def _iter(self, sources: list[Source], prefix: bytes, batch: int) -> Iterator[TaskInfo]:
        for src in sources:
            yield from reading.scan(self.broker, src, prefix, batch, time.time())

    def _task_op(self, action: str, queue: str, task_id: str) -> None:
        q = arguments.queue(queue)
        tid = self._task_id(task_id)
        self._require(q)
        writing.task_reply(self.broker.call(writing.task_call(action, q, tid)), action, q, tid)

    def _bulk(
        self,
        action: str,
        queue: str,
        state: TaskState | str,
        task_type: str | None,
        group: str | None,
    ) -> int:
        st = arguments.state(state)
        grp = arguments.group_for(st, group)
        prefix = arguments.type_prefix(task_type)
        q = arguments.queue(queue)
        writing.check_bulk(action, st)
        self._require(q)
        sources = reading.sources(self.broker, q, st, grp)
        return sum(writing.bulk(self.broker, action, src, prefix) for src in sources)
