"""The spans themselves, made with the OpenTelemetry API on this process's provider
(runtime.tracing.setup). Imported only when tracing is on (runtime.tracing.spans).

Texts put on a span (URLs, error messages) pass through the running step's secrets
redaction (given by the engine), as everything the run records does
(runtime.engine.record): a collector is one more place a secret must never reach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from runtime.tracing.setup import Tracing

if TYPE_CHECKING:  # config/celery.py imports this before Django's models are ready
    from designer.graph import Node
    from runtime.models import Run, StepRun

Redact = Callable[[str], str]

PROPAGATOR = TraceContextTextMapPropagator()
MAX_TEXT = 1000  # characters of a URL or an error kept on a span
# runtime.disclosure.HIDDEN's words (that module needs the app registry, which a Celery
# worker has not loaded when it imports this one).
HIDDEN = "hidden: uses secrets"
KINDS = {"client": SpanKind.CLIENT, "producer": SpanKind.PRODUCER, "internal": SpanKind.INTERNAL}
# The redaction of the step whose span is current (its secrets, as it reads them): its
# child spans are made deep inside the step kinds.
_redact: ContextVar[Redact | None] = ContextVar("tributary_span_redact", default=None)
# Whether the step's errors must not reach the collector at all (it used secrets: an error,
# often a response excerpt, may hold one in a derived form exact redaction cannot catch).
_hide_errors: ContextVar[Callable[[], bool] | None] = ContextVar(
    "tributary_span_hide_errors", default=None
)


class Live:
    """A started span, as runtime.tracing.spans.Span describes it."""

    def __init__(self, span: Span) -> None:
        self.span = span

    @property
    def traceparent(self) -> str:
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier, context=trace.set_span_in_context(self.span))
        return carrier.get("traceparent", "")

    def set(self, key: str, value: Any) -> None:
        self.span.set_attribute(key, _clean(value))

    def propagate(self, headers: Mapping[str, str]) -> dict[str, str]:
        if any(name.lower() == "traceparent" for name in headers):
            return dict(headers)  # one the flow sets itself wins
        return {**headers, "traceparent": self.traceparent}

    def ended(self, status: str, error: str = "") -> None:
        self.set("tributary.step.status", status)
        if error:
            self.fail(error)

    def fail(self, error: str) -> None:
        hide = _hide_errors.get()
        text = HIDDEN if hide is not None and hide() else _clean(error)
        self.span.set_attribute("tributary.error", text)
        self.span.set_status(Status(StatusCode.ERROR, text))


def _clean(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    redact = _redact.get()
    return (redact(text) if redact else text)[:MAX_TEXT]


@contextlib.contextmanager
def _span(
    name: str, kind: SpanKind, attributes: Mapping[str, Any], parent: otel_context.Context | None
) -> Iterator[Live]:
    """A current span for the block; an exception escaping it marks it failed with the
    redacted message (the SDK's own exception event and status would carry it as is)."""
    span = Tracing.get().tracer.start_span(
        name, context=parent, kind=kind, attributes={k: _clean(v) for k, v in attributes.items()}
    )
    live = Live(span)
    with trace.use_span(
        span, end_on_exit=True, record_exception=False, set_status_on_exception=False
    ):
        try:
            yield live
        except Exception as exc:
            live.fail(f"{exc.__class__.__name__}: {exc}")
            raise


def run_span(
    *, caller: str, flow_id: int, flow_name: str, version: int, trigger: str
) -> AbstractContextManager[Live]:
    """The span of a run being started: under the ``caller``'s span when it is a valid
    traceparent (a webhook request's), else under the current span (a step starting a
    child run), else the root of a new trace."""
    parent = PROPAGATOR.extract({"traceparent": caller}, context=otel_context.get_current())
    remote = trace.get_current_span(parent).get_span_context().is_remote
    attributes = {
        "tributary.flow.id": flow_id,
        "tributary.flow.name": flow_name,
        "tributary.flow.version": version,
        "tributary.trigger.kind": trigger,
    }
    kind = SpanKind.SERVER if remote else SpanKind.INTERNAL
    return _span(f"run {flow_name}"[:100], kind, attributes, parent)


@contextlib.contextmanager
def step_span(
    *,
    run: Run,
    step: StepRun,
    node: Node,
    redact: Redact | None,
    hide_errors: Callable[[], bool] | None,
) -> Iterator[Live]:
    """One step attempt's span, a child of the run's span (Run.trace_parent) whatever the
    process; a root when the run has none (started while tracing was off)."""
    parent = PROPAGATOR.extract({"traceparent": run.trace_parent})
    attributes = {
        "tributary.run.id": run.pk,
        "tributary.flow.id": run.flow_id,
        "tributary.flow.name": run.flow.name,
        "tributary.flow.version": run.version.number,
        "tributary.node.id": node.id,
        "tributary.step.kind": node.type,
        "tributary.step.attempt": step.attempt,
    }
    token, hiding = _redact.set(redact), _hide_errors.set(hide_errors)
    try:
        with _span(f"step {node.id}", SpanKind.INTERNAL, attributes, parent) as live:
            yield live
    finally:
        _redact.reset(token)
        _hide_errors.reset(hiding)


def child_span(name: str, kind: str, attributes: Mapping[str, Any]) -> AbstractContextManager[Live]:
    """A span under the current one (the step's) for one call the step makes."""
    return _span(name, KINDS[kind], attributes, None)


def current_parent() -> str:
    """The current span's traceparent ("" outside any span)."""
    span = trace.get_current_span()
    return Live(span).traceparent if span.get_span_context().is_valid else ""


def process_started() -> None:
    Tracing.get()


def process_stopping() -> None:
    Tracing.get().shutdown()
