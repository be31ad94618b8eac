"""The only code that sends commands to Redis: a sync and an asyncio face over one plan format.

Both run a sequence of `Call`s in one round trip (a single command goes out bare, more go in
a non-transactional pipeline). Scripts always go by EVALSHA; when Redis answers NOSCRIPT
(a restart, a SCRIPT FLUSH, a fresh server) the script is loaded once and the affected calls
are sent again, so nothing is ever sent as a full EVAL on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio as aioredis
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

    @classmethod
    def from_url(cls, url: str, *, socket_timeout: float | None = 10.0) -> Broker:
        client = redis.Redis.from_url(url, **_connect_options(socket_timeout))
        return cls(client, url)

    def close(self) -> None:
        self.redis.close()

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
