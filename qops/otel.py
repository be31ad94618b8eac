"""OpenTelemetry tracing across the queue: the trace context travels in the task's headers.

The producer writes the current context into each task's headers (W3C ``traceparent`` and
``tracestate``, plus whatever else the globally configured propagator carries); the worker
reads it back and runs the handler in a ``qops.process <type>`` span that continues the
producer's trace::

    import qops, qops.otel

    client = qops.Client(before_enqueue=[qops.otel.inject_headers])
    with tracer.start_as_current_span("signup"):
        client.enqueue("email:welcome", {"to": "ada@example.com"})

    handlers = qops.Handlers()
    handlers.use(qops.otel.tracing_middleware)

Headers are plain task metadata, so a Go Asynq producer or worker that uses the same
propagator joins the same traces. Needs the ``otel`` extra (``pip install 'qops[otel]'``);
nothing else in qops imports OpenTelemetry.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, TypeVar, overload

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, TracerProvider
from opentelemetry.util.types import AttributeValue

from qops import __version__
from qops.task import Task
from qops.worker.handlers import Call, Middleware

__all__ = ["inject_headers", "task_attributes", "tracing", "tracing_middleware"]

H = TypeVar("H", bound=MutableMapping[str, str])


@overload
def inject_headers(target: Task, *, context: Context | None = None) -> Task: ...
@overload
def inject_headers(target: H, *, context: Context | None = None) -> H: ...
def inject_headers(target: Task | H, *, context: Context | None = None) -> Task | H:
    """Write the trace context into a task's headers (or into a headers mapping).

    Fits `qops.Client`'s ``before_enqueue`` hook as it is. Outside any span the global
    propagator writes nothing, and the task starts a new trace in the worker.

    Args:
        target: A `Task` (its ``headers`` are updated) or a mutable mapping of headers.
        context: The context to write; the current one by default.

    Returns:
        ``target``, updated in place.
    """
    headers = target.headers if isinstance(target, Task) else target
    propagate.inject(headers, context=context)
    return target


def task_attributes(task: Task) -> dict[str, AttributeValue]:
    """Span attributes for ``task``, with OpenTelemetry's messaging names where there are some."""
    return {
        "messaging.system": "qops",
        "messaging.operation.type": "process",
        "messaging.destination.name": task.queue,
        "messaging.message.id": task.task_id or "",
        "qops.task.type": task.type,
        "qops.task.retried": task.retried,
    }


def tracing(tracer_provider: TracerProvider | None = None) -> Middleware:
    """A `qops.Handlers` middleware running each handler in a span that continues its trace.

    The span is named ``qops.process <task type>``, has kind CONSUMER and the attributes of
    `task_attributes`; its parent is the context found in the task's headers. An exception
    from the handler is recorded on the span, sets its status to ERROR, and is raised on
    unchanged, so retries and archiving work as without the middleware.

    Args:
        tracer_provider: Where spans go; the global provider by default (resolved when spans
            start, so it may be configured after this call).
    """
    tracer = trace.get_tracer("qops", __version__, tracer_provider)

    async def middleware(task: Task, call_next: Call) -> Any:
        with tracer.start_as_current_span(
            f"qops.process {task.type}",
            context=propagate.extract(task.headers),
            kind=SpanKind.CONSUMER,
            attributes=task_attributes(task),
        ):
            return await call_next(task)

    return middleware


tracing_middleware: Middleware = tracing()
"""`tracing` with the global tracer provider: ``handlers.use(qops.otel.tracing_middleware)``."""
