"""The only code that sends commands to Redis: a sync and an asyncio face over one plan format.

Both run a sequence of `Call`s in one round trip (a single command goes out bare, more go in
a non-transactional pipeline). Scripts always go by EVALSHA; when Redis answers NOSCRIPT
(a restart, a SCRIPT FLUSH, a fresh server) the script is loaded once and the affected calls
are sent again, so nothing is ever sent as a full EVAL on the hot path.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.connection import ConnectionInterface
from redis.exceptions import AuthenticationError, NoScriptError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from qops.connection import mask_url
from qops.errors import ConnectionFailedError
from qops.storage.calls import Call
from qops.storage.scripts import Script

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, AuthenticationError, OSError)

# Redis answers these to a client that is connected but not allowed in.
_AUTH_REPLIES = ("NOAUTH", "WRONGPASS", "NOPERM")


def _connect_options(socket_timeout: float | None) -> dict[str, Any]:
    return {
        "socket_connect_timeout": 5.0,
        "socket_timeout": socket_timeout,
        "health_check_interval": 30,
        "retry_on_timeout": False,
    }


def _failed(url: str, exc: BaseException) -> ConnectionFailedError:
    reason = str(exc) or type(exc).__name__
    return ConnectionFailedError(mask_url(url), reason.rstrip("."))


def _reraise_auth(url: str, exc: ResponseError) -> None:
    if str(exc).startswith(_AUTH_REPLIES):
        raise _failed(url, exc) from exc


def _unloaded(calls: Sequence[Call], results: list[Any]) -> tuple[list[int], list[Script]]:
    """Indexes of the calls Redis answered NOSCRIPT, and the scripts to load for them."""
    missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
    scripts = {c.script.sha: c.script for i in missing if (c := calls[i]).script is not None}
    return missing, list(scripts.values())


def _settle(url: str, results: list[Any], raise_on_error: bool) -> list[Any]:
    err = next((r for r in results if isinstance(r, Exception)), None)
    if isinstance(err, ResponseError):
        _reraise_auth(url, err)
    if raise_on_error and err is not None:
        raise err
    return results


class Broker:
    """Synchronous Redis access for the client, the inspector and the CLI."""

    def __init__(self, client: redis.Redis, url: str) -> None:
        self.redis = client
        self.url = url
        # One connection kept out of the pool for `call_script`: skipping the pool's
        # checkout, retry and bookkeeping layers roughly halves redis-py's per-call cost.
        self._own: ConnectionInterface | None = None
        self._own_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, socket_timeout: float | None = 10.0) -> Broker:
        client = redis.Redis.from_url(url, **_connect_options(socket_timeout))
        return cls(client, url)

    def close(self) -> None:
        with self._own_lock:
            if self._own is not None:
                self._own.disconnect()
                self._own = None
        self.redis.close()

    def call_script(self, c: Call) -> Any:
        """`call` for one script call, on the broker's own connection when it is free.

        Script replies have no redis-py response callbacks, so the reply is the same as
        `call`'s. A thread that finds the connection busy falls back to the pool.
        """
        if not self._own_lock.acquire(blocking=False):
            return self.call(c)
        try:
            if self._own is None:
                self._own = self.redis.connection_pool.make_connection()
            return self._on_own(self._own, c)
        finally:
            self._own_lock.release()

    def _on_own(self, conn: ConnectionInterface, c: Call) -> Any:
        try:
            try:
                conn.send_command(*c.args)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                # Nothing reached Redis: a connection that went stale while idle is
                # replaced once, as the pool would do.
                conn.disconnect()
                conn.send_command(*c.args)
            try:
                return conn.read_response()
            except NoScriptError:
                assert c.script is not None
                conn.send_command("SCRIPT", "LOAD", c.script.source)
                conn.read_response()
                conn.send_command(*c.args)
                return conn.read_response()
        except _UNREACHABLE as exc:
            conn.disconnect()
            raise _failed(self.url, exc) from exc
        except ResponseError as exc:
            _reraise_auth(self.url, exc)
            raise

    def ping(self) -> None:
        self.call(Call(("PING",)))

    def call(self, c: Call) -> Any:
        """Run one command and return its reply; a Redis error reply is raised."""
        try:
            try:
                return self.redis.execute_command(*c.args)
            except NoScriptError:
                assert c.script is not None
                self.redis.execute_command("SCRIPT", "LOAD", c.script.source)
                return self.redis.execute_command(*c.args)
        except _UNREACHABLE as exc:
            raise _failed(self.url, exc) from exc
        except ResponseError as exc:
            _reraise_auth(self.url, exc)
            raise

    def run(self, calls: Sequence[Call], *, raise_on_error: bool = True) -> list[Any]:
        """Run ``calls`` in one round trip and return their replies in order.

        With ``raise_on_error`` false, a command's error reply takes its place in the list.
        """
        if len(calls) == 1:
            try:
                return [self.call(calls[0])]
            except ResponseError as exc:
                if raise_on_error:
                    raise
                return [exc]
        try:
            results = self._pipeline(calls)
            missing, scripts = _unloaded(calls, results)
            for s in scripts:
                self.redis.execute_command("SCRIPT", "LOAD", s.source)
            if missing:
                again = self._pipeline([calls[i] for i in missing])
                for i, r in zip(missing, again, strict=True):
                    results[i] = r
        except _UNREACHABLE as exc:
            raise _failed(self.url, exc) from exc
        return _settle(self.url, results, raise_on_error)

    def _pipeline(self, calls: Sequence[Call]) -> list[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for c in calls:
            pipe.execute_command(*c.args)
        return list(pipe.execute(raise_on_error=False))


class AsyncBroker:
    """asyncio Redis access for the async client and the worker runtime."""

    def __init__(self, client: aioredis.Redis, url: str) -> None:
        self.redis = client
        self.url = url

    @classmethod
    def from_url(cls, url: str, *, socket_timeout: float | None = 10.0) -> AsyncBroker:
        client = aioredis.Redis.from_url(url, **_connect_options(socket_timeout))
        return cls(client, url)

    async def close(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> None:
        await self.call(Call(("PING",)))

    async def call(self, c: Call) -> Any:
        try:
            try:
                return await self.redis.execute_command(*c.args)
            except NoScriptError:
                assert c.script is not None
                await self.redis.execute_command("SCRIPT", "LOAD", c.script.source)
                return await self.redis.execute_command(*c.args)
        except _UNREACHABLE as exc:
            raise _failed(self.url, exc) from exc
        except ResponseError as exc:
            _reraise_auth(self.url, exc)
            raise

    async def run(self, calls: Sequence[Call], *, raise_on_error: bool = True) -> list[Any]:
        if len(calls) == 1:
            try:
                return [await self.call(calls[0])]
            except ResponseError as exc:
                if raise_on_error:
                    raise
                return [exc]
        try:
            results = await self._pipeline(calls)
            missing, scripts = _unloaded(calls, results)
            for s in scripts:
                await self.redis.execute_command("SCRIPT", "LOAD", s.source)
            if missing:
                again = await self._pipeline([calls[i] for i in missing])
                for i, r in zip(missing, again, strict=True):
                    results[i] = r
        except _UNREACHABLE as exc:
            raise _failed(self.url, exc) from exc
        return _settle(self.url, results, raise_on_error)

    async def _pipeline(self, calls: Sequence[Call]) -> list[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for c in calls:
            pipe.execute_command(*c.args)
        return list(await pipe.execute(raise_on_error=False))


__all__ = ["AsyncBroker", "Broker", "RedisError"]
