"""This process's TracerProvider: the OpenTelemetry SDK with a batching OTLP/HTTP exporter.

Made once per process on first use (PerProcess): a Celery prefork child makes its own
after the fork (config/celery.py makes it as the child starts, so the first step pays
nothing), and inherits none of its parent's exporter threads. The web server, the
embedded worker, the scheduler and the consumers make theirs when they first start a run.

Spans are exported in batches from a background thread; ``shutdown`` sends what is left.
Celery ends its pool processes with os._exit, which skips atexit: the worker signals call
it. Every other process relies on the provider's own atexit hook.
"""

from __future__ import annotations

from django.conf import settings
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer

from runtime.engine.perprocess import PerProcess

SHUTDOWN_TIMEOUT_MILLIS = 5000


class Tracing(PerProcess):
    """The provider and tracer of this process."""

    def __init__(self) -> None:
        self.provider = TracerProvider(resource=_resource(), shutdown_on_exit=True)
        # The endpoint comes from settings (which read OTEL_EXPORTER_OTLP_*_ENDPOINT, or
        # their _FILE forms); headers, timeout and compression from the SDK's own variables.
        exporter = OTLPSpanExporter(endpoint=settings.TRIBUTARY_OTLP_TRACES_ENDPOINT)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer: Tracer = self.provider.get_tracer("tributary")

    def shutdown(self) -> None:
        """Send the spans still queued, then stop the exporter thread."""
        self.provider.force_flush(SHUTDOWN_TIMEOUT_MILLIS)
        self.provider.shutdown()


def _resource() -> Resource:
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win; "tributary" otherwise (the SDK
    would say "unknown_service")."""
    detected = Resource.create()
    name = str(detected.attributes.get(SERVICE_NAME, ""))
    if name.startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: "tributary"}))
    return detected
