"""`HandlerThreads`, the pool of sync handlers: shutdown leaves queued work unstarted."""

from __future__ import annotations

import threading

from qops.worker.threads import HandlerThreads


def test_shutdown_with_cancel_futures_never_starts_queued_work() -> None:
    pool = HandlerThreads(1)
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def hold() -> bool:
        started.set()
        return release.wait(10)

    running = pool.submit(hold)
    assert started.wait(10)
    queued = pool.submit(ran.append, "queued")
    pool.shutdown(wait=False, cancel_futures=True)
    release.set()
    assert running.result(timeout=10) is True
    assert queued.cancelled()
    assert ran == []


def test_shutdown_without_cancel_futures_runs_queued_work() -> None:
    pool = HandlerThreads(1)
    release = threading.Event()
    ran: list[str] = []
    pool.submit(release.wait, 10)
    queued = pool.submit(ran.append, "queued")
    release.set()
    pool.shutdown(wait=True)
    assert queued.done() and not queued.cancelled()
    assert ran == ["queued"]
