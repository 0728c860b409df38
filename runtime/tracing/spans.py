"""What the engine and the steps call to trace. Free when tracing is off: every function
returns the shared no-op ``OFF`` after one module-level flag test, and the OpenTelemetry
SDK is not even imported.

Tracing is on when settings.TRIBUTARY_OTLP_TRACES_ENDPOINT is set (from the standard
OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT variables), for the whole
life of the process.

The spans of one run:

- ``run <flow>``: made where the run is started (web server, scheduler, consumer, or the
  worker for a child run), covering its recording only. It ends at once: the run itself
  goes on in other processes, and a span cannot be ended from another process. Its
  traceparent is stored on the run; a webhook caller's traceparent makes it a child of
  the caller's span, a step starting a child run makes it a child of that step's span.
- ``step <node id>``: one per step attempt, in the worker, a child of the run's span.
- Under a step: ``HTTP <method>`` (client; sends ``traceparent`` on), ``db.query``,
  ``queue.publish``, ``email.send`` and ``code.execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from designer.graph import Node
    from runtime.models import Run, StepRun

ENABLED: bool = bool(settings.TRIBUTARY_OTLP_TRACES_ENDPOINT)
if ENABLED:  # only then: with tracing off, no process pays for loading the SDK
    from runtime.tracing import otel


class Span(Protocol):
    """A started span (or OFF)."""

    @property
    def traceparent(self) -> str:
        """Its W3C traceparent ("" when off)."""

    def set(self, key: str, value: Any) -> None:
        """Set an attribute; texts are redacted of the step's secrets and shortened."""

    def propagate(self, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` plus a traceparent naming this span, unless they carry one."""

    def ended(self, status: str, error: str = "") -> None:
        """Record a step's outcome; an error marks the span failed."""


class _Off:
    """The span of a process that does not trace: does nothing, costs nothing."""

    traceparent = ""

    def set(self, key: str, value: Any) -> None:
        pass

    def propagate(self, headers: dict[str, str]) -> dict[str, str]:
        return headers

    def ended(self, status: str, error: str = "") -> None:
        pass

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


OFF = _Off()


def run_span(
    *, caller: str, flow_id: int, flow_name: str, version: int, trigger: str
) -> AbstractContextManager[Span]:
    """Around recording a new run; store the span's ``traceparent`` on the run.
    ``caller``: the traceparent an incoming request carried ("" for none; invalid ones
    are ignored)."""
    if not ENABLED:
        return OFF
    return otel.run_span(
        caller=caller, flow_id=flow_id, flow_name=flow_name, version=version, trigger=trigger
    )


def step_span(
    *,
    run: Run,
    step: StepRun,
    node: Node,
    redact: Callable[[str], str] | None = None,
    hide_errors: Callable[[], bool] | None = None,
) -> AbstractContextManager[Span]:
    """Around one attempt of ``step``; ``redact`` (the step's secrets redaction) is applied
    to every text put on it and on its children, whose errors are not sent at all when
    ``hide_errors()`` says so (the step used secrets)."""
    if not ENABLED:
        return OFF
    return otel.step_span(run=run, step=step, node=node, redact=redact, hide_errors=hide_errors)


def child_span(name: str, kind: str, attributes: Mapping[str, Any]) -> AbstractContextManager[Span]:
    """Around one call a step makes: ``kind`` is "client", "producer" or "internal"."""
    if not ENABLED:
        return OFF
    return otel.child_span(name, kind, attributes)


def current_parent() -> str:
    """The traceparent of the span now current ("" when off or outside any span): what a
    run started from here, but not through run_start, stores (a for-each's items)."""
    return otel.current_parent() if ENABLED else ""


def process_started(**_: Any) -> None:
    """Celery's worker_process_init: make the provider now, not on the first step."""
    if ENABLED:
        otel.process_started()


def process_stopping(**_: Any) -> None:
    """Celery's worker_process_shutdown / worker_shutdown: send what is still queued (a
    pool process ends with os._exit, which skips the SDK's atexit hook)."""
    if ENABLED:
        otel.process_stopping()
