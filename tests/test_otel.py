"""Trace context from the producer to the handler: `qops.otel` with the client hook and a worker."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import qops
import qops.otel
from tests.helpers import async_wait_for
from tests.worker_helpers import serving


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def traceparent(span: trace.Span) -> str:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"


def only(finished: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = [s for s in finished if s.name == name]
    assert len(found) == 1, [s.name for s in finished]
    return found[0]


def test_inject_headers_into_a_task_or_a_mapping(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    tracer = spans[0].get_tracer("test")
    task = qops.Task("t", headers={"tenant": "a"})
    headers: dict[str, str] = {}
    with tracer.start_as_current_span("produce") as span:
        assert qops.otel.inject_headers(task) is task
        assert qops.otel.inject_headers(headers) is headers
    assert task.headers == {"tenant": "a", "traceparent": traceparent(span)}
    assert headers == {"traceparent": traceparent(span)}

    outside = qops.Task("t")
    qops.otel.inject_headers(outside)
    assert outside.headers == {}


def test_inject_headers_from_an_explicit_context(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    tracer = spans[0].get_tracer("test")
    span = tracer.start_span("elsewhere")
    headers = qops.otel.inject_headers({}, context=trace.set_span_in_context(span))
    span.end()
    assert headers == {"traceparent": traceparent(span)}


def test_client_hook_stores_the_trace_context_with_the_task(
    redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    tracer = spans[0].get_tracer("test")
    calls: list[str] = []
    hooks = [qops.otel.inject_headers, lambda t: calls.append(t.type)]
    with qops.Client(redis_url, before_enqueue=hooks) as client, qops.Inspector(redis_url) as ins:
        with tracer.start_as_current_span("one") as one:
            info = client.enqueue("a", {"n": 1})
        with tracer.start_as_current_span("many") as many:
            batch = client.enqueue_many([qops.Task("b"), qops.Task("c", queue="other")])
        assert info.headers == {"traceparent": traceparent(one)}
        assert ins.get_task("default", info.id).headers == {"traceparent": traceparent(one)}
        for result in batch:
            assert isinstance(result, qops.TaskInfo)
            stored = ins.get_task(result.queue, result.id)
            assert stored.headers == {"traceparent": traceparent(many)}
    assert calls == ["a", "b", "c"]


def test_hook_that_breaks_headers_writes_nothing(redis_url: str, r: Any) -> None:
    def bad(task: qops.Task) -> None:
        task.headers["attempt"] = 1  # type: ignore[assignment]

    client = qops.Client(redis_url, before_enqueue=[bad])
    with client, pytest.raises(qops.InvalidTaskError, match=r"before_enqueue hook .* task 'a'"):
        client.enqueue_many([qops.Task("a"), qops.Task("b")])
    assert r.keys("*") == []


def test_client_without_hooks_adds_no_headers(
    redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    tracer = spans[0].get_tracer("test")
    with qops.Client(redis_url) as client, tracer.start_as_current_span("s"):
        info = client.enqueue("a")
    with qops.Inspector(redis_url) as ins:
        assert ins.get_task("default", info.id).headers == {}


async def test_async_client_hook(
    redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    tracer = spans[0].get_tracer("test")
    client = qops.AsyncClient(redis_url, before_enqueue=[qops.otel.inject_headers])
    try:
        with tracer.start_as_current_span("async") as span:
            info = await client.enqueue("a")
    finally:
        await client.close()
    with qops.Inspector(redis_url) as ins:
        assert ins.get_task("default", info.id).headers == {"traceparent": traceparent(span)}


def handler_task(headers: dict[str, str], retried: int = 0) -> qops.Task:
    """The task as a worker hands it over: id, queue and retry count set by the stored message."""
    task = qops.Task("email:send", queue="mail", task_id="t-1", headers=headers)
    task.retried = retried
    return task


async def test_middleware_runs_the_handler_in_a_child_of_the_producer_span(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("enqueue") as producer:
        task = qops.otel.inject_headers(handler_task({}, retried=2))
    middleware = qops.otel.tracing(provider)
    inner: list[trace.Span] = []

    async def handler(t: qops.Task) -> str:
        assert t is task
        inner.append(trace.get_current_span())
        with tracer.start_as_current_span("inside"):
            return "done"

    assert await middleware(task, handler) == "done"
    finished = exporter.get_finished_spans()
    span = only(finished, "qops.process email:send")
    assert [s.get_span_context() for s in inner] == [span.context]
    assert span.context.trace_id == producer.get_span_context().trace_id
    assert span.parent is not None
    assert span.parent.span_id == producer.get_span_context().span_id
    assert span.kind is SpanKind.CONSUMER
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "messaging.system": "qops",
        "messaging.operation.type": "process",
        "messaging.destination.name": "mail",
        "messaging.message.id": "t-1",
        "qops.task.type": "email:send",
        "qops.task.retried": 2,
    }
    child = only(finished, "inside")
    assert child.parent is not None
    assert child.parent.span_id == span.context.span_id


async def test_middleware_without_context_starts_a_trace(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans

    async def handler(t: qops.Task) -> None:
        return None

    await qops.otel.tracing(provider)(handler_task({}), handler)
    span = only(exporter.get_finished_spans(), "qops.process email:send")
    assert span.parent is None


async def test_middleware_records_the_error_and_raises_it_unchanged(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    error = qops.SkipRetry("bad payload")

    async def handler(t: qops.Task) -> None:
        raise error

    with pytest.raises(qops.SkipRetry) as caught:
        await qops.otel.tracing(provider)(handler_task({}), handler)
    assert caught.value is error
    span = only(exporter.get_finished_spans(), "qops.process email:send")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "SkipRetry: bad payload"
    [event] = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.message"] == "bad payload"


def test_tracing_middleware_uses_the_global_provider() -> None:
    # The global provider can be set once per process, so this runs in its own interpreter.
    code = """
import asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import qops, qops.otel

exporter = InMemorySpanExporter()
# Configured after qops.otel was imported: spans still go to it.
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

async def handler(task):
    return None

asyncio.run(qops.otel.tracing_middleware(qops.Task("ping", task_id="x"), handler))
print([s.name for s in exporter.get_finished_spans()])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['qops.process ping']"


def test_opentelemetry_is_imported_only_with_qops_otel() -> None:
    # redis-py probes for the OpenTelemetry SDK when it is imported; that probe is its own.
    # What counts is that no qops module imports OpenTelemetry, except qops.otel.
    code = """
import importlib, json, pkgutil, sys

importers = []

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            frame = sys._getframe(1)
            while frame.f_globals.get("__name__", "").startswith(("importlib", "_frozen")):
                frame = frame.f_back
            importers.append(frame.f_globals["__name__"])
            raise ImportError(name + " is not installed here")
        return None

sys.meta_path.insert(0, Watch())
import qops, qops.client, qops.inspector, qops.task, qops.worker, qops.cli.main
import qops.metrics.queue_collector, qops.metrics.server
for m in pkgutil.iter_modules(qops.worker.__path__):
    if m.name != "__main__":
        importlib.import_module("qops.worker." + m.name)
qops.Worker, qops.Handlers, qops.Client, qops.Inspector
before = sorted(set(importers))
try:
    import qops.otel
except ImportError:
    pass
print(json.dumps([before, sorted(set(importers))]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = json.loads(out.stdout)
    assert [m for m in before if m.startswith("qops")] == []
    assert "qops.otel" in after


async def test_trace_continues_from_enqueue_into_a_worker_handler_and_its_retry(
    redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("test")
    handlers = qops.Handlers()
    handlers.use(qops.otel.tracing(provider))
    seen: list[tuple[int, Any]] = []

    @handlers.task("charge")
    async def charge(task: qops.Task) -> None:
        seen.append((task.retried, trace.get_current_span().get_span_context()))
        if task.retried == 0:
            raise RuntimeError("card declined")

    client = qops.Client(redis_url, before_enqueue=[qops.otel.inject_headers])
    with client, tracer.start_as_current_span("checkout") as checkout:
        info = client.enqueue("charge", {"cents": 500}, max_retry=3)
    worker = qops.Worker(
        handlers, redis_url=redis_url, retry_delay=lambda n, e, t: 0, forward_interval=0.05
    )
    async with serving(worker):
        await async_wait_for(lambda: len(seen) == 2)

    runs = sorted(
        (s for s in exporter.get_finished_spans() if s.name == "qops.process charge"),
        key=lambda s: s.start_time or 0,
    )
    assert len(runs) == 2
    origin = checkout.get_span_context()
    for run, (retried, ctx) in zip(runs, seen, strict=True):
        assert run.context.trace_id == origin.trace_id
        assert run.parent is not None and run.parent.span_id == origin.span_id
        assert ctx.span_id == run.context.span_id
        assert (run.attributes or {})["qops.task.retried"] == retried
        assert (run.attributes or {})["messaging.message.id"] == info.id
    assert [r.status.status_code for r in runs] == [StatusCode.ERROR, StatusCode.UNSET]
    assert [retried for retried, _ in seen] == [0, 1]


async def test_sync_handler_runs_inside_the_task_span(
    redis_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("test")
    handlers = qops.Handlers()
    handlers.use(qops.otel.tracing(provider))
    seen: list[Any] = []

    @handlers.task("resize")
    def resize(task: qops.Task) -> None:  # a plain function: runs in the worker's threads
        seen.append(trace.get_current_span().get_span_context())
        with tracer.start_as_current_span("inside"):
            pass

    qops.Client(redis_url).enqueue("resize", {"w": 64})
    async with serving(qops.Worker(handlers, redis_url=redis_url)):
        await async_wait_for(lambda: len(exporter.get_finished_spans()) == 2)

    finished = exporter.get_finished_spans()
    span = only(finished, "qops.process resize")
    inside = only(finished, "inside")
    assert seen == [span.context]
    assert inside.parent is not None and inside.parent.span_id == span.context.span_id
    assert inside.context.trace_id == span.context.trace_id
