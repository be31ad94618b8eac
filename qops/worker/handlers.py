"""`Handlers`: which function processes which task type, and the middleware around them."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from qops.errors import InvalidInputError
from qops.task import Task

F = TypeVar("F", bound=Callable[..., Any])

Call = Callable[[Task], Awaitable[Any]]
"""A handler as the runtime calls it: awaited, whatever the user's function is."""
Middleware = Callable[[Task, Call], Awaitable[Any]]
Aggregate = Callable[[str, list[Task]], "Task | Awaitable[Task]"]
"""``fn(group, tasks) -> Task``, plain or ``async``; plain functions run in a thread."""

# Resolved chains and matched patterns are cached per task type; a cap keeps a flood of
# unknown types bounded.
_CACHE_LIMIT = 4096


class SkipRetry(Exception):
    """Raise from a handler to archive the task at once instead of retrying it."""


class NoHandlerError(LookupError):
    """No registered pattern matches the task type; the task fails and is retried."""

    def __init__(self, task_type: str) -> None:
        self.task_type = task_type
        super().__init__(f"no handler for task type {task_type!r}")


def is_skip_retry(exc: BaseException) -> bool:
    """True for `SkipRetry`, also when another exception was raised from it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, SkipRetry):
            return True
        seen = seen.__cause__
    return False


class Handlers:
    """Task type patterns mapped to handlers, matched as Asynq's ServeMux does.

    An exact type match wins; otherwise the longest registered pattern that is a prefix of the
    type (``"email:"`` matches ``"email:welcome"``). A handler is a plain function or an
    ``async def`` taking the `Task`; its return value is ignored and an exception fails the
    task. Plain functions run in the worker's thread pool.

    Example:
        >>> handlers = Handlers()
        >>> @handlers.task("email:send")
        ... async def send(task: Task) -> None: ...
    """

    def __init__(self) -> None:
        self._handlers: dict[str, Callable[[Task], Any]] = {}
        self._middleware: list[Middleware] = []
        self._aggregate: Aggregate | None = None
        self._cache: dict[tuple[str, int], Call | None] = {}
        self._patterns: dict[str, str | None] = {}

    def task(self, pattern: str) -> Callable[[F], F]:
        """Decorator registering the decorated function for ``pattern``."""

        def decorate(fn: F) -> F:
            self.register(pattern, fn)
            return fn

        return decorate

    def register(self, pattern: str, fn: Callable[[Task], Any]) -> None:
        """Register ``fn`` for task types equal to, or starting with, ``pattern``.

        Raises:
            InvalidInputError: a blank pattern, a non-callable, or a pattern registered twice.
        """
        if not isinstance(pattern, str) or not pattern.strip():
            raise InvalidInputError("handler pattern must be a non-empty string")
        if not callable(fn):
            raise InvalidInputError(f"handler for {pattern!r} is not callable")
        if pattern in self._handlers:
            raise InvalidInputError(f"a handler for {pattern!r} is already registered")
        self._handlers[pattern] = fn
        self._cache.clear()
        self._patterns.clear()

    def use(self, middleware: Middleware) -> None:
        """Wrap every handler in ``middleware``: ``async def mw(task, call_next)``.

        The first middleware registered is the outermost. ``await call_next(task)`` runs the
        rest of the chain and returns the handler's value; not calling it skips the handler.
        """
        if not callable(middleware):
            raise InvalidInputError("middleware must be callable")
        self._middleware.append(middleware)
        self._cache.clear()

    def aggregator(self, fn: Aggregate) -> Aggregate:
        """Register the group aggregate function: ``fn(group, tasks) -> Task`` (or async).

        With it, a worker serving a queue combines the tasks waiting in each group into one
        task (see the worker's group options). Usable as a decorator.
        """
        if not callable(fn):
            raise InvalidInputError("aggregate function must be callable")
        self._aggregate = fn
        return fn

    @property
    def aggregate(self) -> Aggregate | None:
        return self._aggregate

    @property
    def patterns(self) -> list[str]:
        return list(self._handlers)

    def match(self, task_type: str) -> Callable[[Task], Any] | None:
        """The handler for ``task_type``, or None."""
        pattern = self.pattern_of(task_type)
        return None if pattern is None else self._handlers[pattern]

    def pattern_of(self, task_type: str) -> str | None:
        """The registered pattern that matches ``task_type``, or None."""
        try:
            return self._patterns[task_type]
        except KeyError:
            pass
        best: str | None = task_type if task_type in self._handlers else None
        if best is None:
            for pattern in self._handlers:
                if len(pattern) > len(best or "") and task_type.startswith(pattern):
                    best = pattern
        if len(self._patterns) >= _CACHE_LIMIT:
            self._patterns.clear()
        self._patterns[task_type] = best
        return best

    def resolve(self, task_type: str, executor: Executor) -> Call | None:
        """The awaitable chain (middleware around handler) for ``task_type``, or None."""
        key = (task_type, id(executor))
        try:
            return self._cache[key]
        except KeyError:
            pass
        fn = self.match(task_type)
        chain = None if fn is None else self._build(fn, executor)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = chain
        return chain

    def _build(self, fn: Callable[[Task], Any], executor: Executor) -> Call:
        call: Call
        if _is_async(fn):
            call = fn
        else:

            async def call(task: Task) -> Any:
                # The thread runs in a copy of this context, so whatever middleware set
                # (the current span, contextvars) is seen by the handler, as in async ones.
                ctx = contextvars.copy_context()
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(executor, ctx.run, fn, task)

        for mw in reversed(self._middleware):
            call = _wrap(mw, call)
        return call


def _is_async(fn: Callable[..., Any]) -> bool:
    target = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(target)


def _wrap(mw: Middleware, inner: Call) -> Call:
    async def call(task: Task) -> Any:
        return await mw(task, inner)

    return call
