"""/metrics in Prometheus text format, written by prometheus-client from a collector over
the engine's vitals (runtime.engine.vitals). Protected by TRIBUTARY_METRICS_TOKEN (Bearer),
or limited to local addresses when no token is set."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from runtime.engine.vitals import QUANTILES, Vitals, quantile, vitals

LOCAL = {"127.0.0.1", "::1"}
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


class RuntimeCollector(Collector):
    """Reads the vitals on every scrape: nothing is kept between scrapes."""

    def collect(self) -> Iterator[Metric]:
        now = vitals()
        yield _by_status(
            "tributary_runs_last_hour",
            "Runs created in the last hour, by their status now.",
            now.runs_last_hour,
        )
        yield _by_status(
            "tributary_runs_finished_last_hour",
            "Runs that finished in the last hour, by status.",
            now.runs_finished_last_hour,
        )
        yield GaugeMetricFamily(
            "tributary_runs_active", "Runs pending or running now.", value=now.runs_active
        )
        yield GaugeMetricFamily(
            "tributary_runs_queued",
            "Runs waiting for a slot of their flow's concurrency limit now.",
            value=now.runs_queued,
        )
        yield CounterMetricFamily(
            "tributary_runs_created",
            "Runs created since the database was set up.",
            value=now.runs_created_total,
        )
        yield _by_status(
            "tributary_steps_open",
            "Steps not finished, by status (queued: waiting for a worker).",
            now.steps_open,
        )
        yield _by_status(
            "tributary_steps_finished_last_hour",
            "Steps that finished in the last hour, by status.",
            now.steps_finished_last_hour,
        )
        yield _durations(now.durations)
        yield from _queues(now)


def _queues(now: Vitals) -> Iterator[Metric]:
    """Per queue, what an autoscaler reads (README, "Autoscaling across machines")."""
    steps = GaugeMetricFamily(
        "tributary_queue_steps_queued",
        "Steps queued in PostgreSQL, waiting for a worker of this queue.",
        labels=["queue"],
    )
    oldest = GaugeMetricFamily(
        "tributary_queue_oldest_age_seconds",
        "Seconds since the oldest queued step of this queue was sent (0: none waits).",
        labels=["queue"],
    )
    running = GaugeMetricFamily(
        "tributary_queue_steps_running",
        "Steps of this queue running now (a pool running some must not scale to zero).",
        labels=["queue"],
    )
    for queue, waiting in now.queues.items():
        steps.add_metric([queue], waiting.steps)
        oldest.add_metric([queue], waiting.oldest_age_seconds)
        running.add_metric([queue], waiting.running)
    yield steps
    yield oldest
    yield running
    if now.queue_depth is not None:
        depth = GaugeMetricFamily(
            "tributary_queue_depth",
            "Task messages waiting in this queue's broker list (-1: unreachable).",
            labels=["queue"],
        )
        for queue, messages in now.queue_depth.items():
            depth.add_metric([queue], messages)
        yield depth


def _by_status(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in counts.items():
        family.add_metric([status], count)
    return family


def _durations(seconds: list[float]) -> Metric:
    """A summary with quantiles (prometheus-client's SummaryMetricFamily has no quantile
    samples, so the samples are added to a plain summary family)."""
    family = Metric(
        "tributary_run_duration_seconds",
        "Duration of runs that finished in the last hour.",
        "summary",
    )
    for fraction in QUANTILES:
        family.add_sample(
            "tributary_run_duration_seconds",
            {"quantile": str(fraction)},
            quantile(seconds, fraction),
        )
    family.add_sample("tributary_run_duration_seconds_sum", {}, sum(seconds))
    family.add_sample("tributary_run_duration_seconds_count", {}, len(seconds))
    return family


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(RuntimeCollector())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Forbidden: send Authorization: Bearer <TRIBUTARY_METRICS_TOKEN>.\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=TEXT_FORMAT)


def _allowed(request: HttpRequest) -> bool:
    token = settings.TRIBUTARY_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    return request.META.get("REMOTE_ADDR") in LOCAL
