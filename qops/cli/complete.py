"""Shell completion of values that live in Redis (queue names).

Completion runs on every Tab press, so it must be quick and quiet: it never starts the
embedded Redis, gives up after a short time, and answers nothing on any error.
"""

from __future__ import annotations

import os
import threading

import typer

TIMEOUT = 0.5
"""Seconds a completion may wait for Redis; ``QOPS_COMPLETION_TIMEOUT`` changes it."""


def _timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("QOPS_COMPLETION_TIMEOUT", TIMEOUT)))
    except ValueError:
        return TIMEOUT


def _url(ctx: typer.Context) -> str | None:
    node: typer.Context | None = ctx
    while node is not None:
        url = node.params.get("redis_url")
        if url:
            return str(url)
        node = node.parent  # type: ignore[assignment]
    url = os.environ.get("QOPS_REDIS_URL")
    if url:
        return url
    from qops import config
    from qops.connection import EmbeddedRedis

    configured = config.profile(ctx.find_root().params.get("profile")).get("redis_url")
    if configured:
        return str(configured)
    port = EmbeddedRedis.default().running_port()
    return None if port is None else f"redis://127.0.0.1:{port}/0"


def queue_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Queue names starting with ``incomplete``; ``[]`` when Redis cannot answer quickly."""
    found: list[str] = []

    def fetch() -> None:
        from qops.inspector import Inspector

        url = _url(ctx)
        if url is None:
            return
        with Inspector(url) as inspector:
            found.extend(q for q in inspector.queues() if q.startswith(incomplete))

    def guarded() -> None:
        try:
            fetch()
        except Exception:
            found.clear()

    # A daemon thread: a Redis that hangs cannot hold the shell's Tab press hostage.
    worker = threading.Thread(target=guarded, daemon=True)
    worker.start()
    worker.join(_timeout())
    return list(found) if not worker.is_alive() else []
