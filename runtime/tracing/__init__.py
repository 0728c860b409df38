"""OpenTelemetry traces of runs: off unless an OTLP endpoint is configured.

``spans`` is what the engine and the steps call; with tracing off each call returns a
shared no-op and the SDK is never imported. ``otel`` makes the real spans with the
OpenTelemetry API; ``setup`` builds this process's TracerProvider and OTLP exporter.

One run is one trace. Its steps run in other processes (often other machines), so the
run's trace context travels in the database: ``Run.trace_parent`` holds the W3C
traceparent of the run's span, and every step attempt's span is its child.
"""
