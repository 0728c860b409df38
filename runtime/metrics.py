"""/metrics in Prometheus text format: runs and steps by status, run durations, queue
depth. Protected by TRIBUTARY_METRICS_TOKEN (Bearer), or limited to local addresses when
no token is set. Every figure comes from indexed queries, never a COUNT over all runs."""

from __future__ import annotations

import hmac
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from runtime.models import Run, StepRun
from runtime.status import STEP_OPEN, RunStatus

LOCAL = {"127.0.0.1", "::1"}
WINDOW = timedelta(hours=1)
QUANTILES = (0.5, 0.9, 0.99)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Forbidden: send Authorization: Bearer <TRIBUTARY_METRICS_TOKEN>.\n",
            status=403,
            content_type="text/plain",
        )
    lines: list[str] = []
    _runs(lines)
    _steps(lines)
    _durations(lines)
    _queue(lines)
    return HttpResponse(
        "\n".join(lines) + "\n", content_type="text/plain; version=0.0.4; charset=utf-8"
    )


def _allowed(request: HttpRequest) -> bool:
    token = settings.TRIBUTARY_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    return request.META.get("REMOTE_ADDR") in LOCAL


def _metric(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _runs(lines: list[str]) -> None:
    since = timezone.now() - WINDOW
    recent = dict(
        Run.objects.filter(created_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    _metric(lines, "tributary_runs_last_hour", "gauge", "Runs created in the last hour.")
    for status in RunStatus.values:
        lines.append(f'tributary_runs_last_hour{{status="{status}"}} {recent.get(status, 0)}')
    active = Run.objects.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).count()
    _metric(lines, "tributary_runs_active", "gauge", "Runs pending or running now.")
    lines.append(f"tributary_runs_active {active}")


def _steps(lines: list[str]) -> None:
    counts = dict(
        StepRun.objects.filter(status__in=STEP_OPEN)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    _metric(
        lines,
        "tributary_steps_open",
        "gauge",
        "Steps not finished, by status (queued: waiting for a worker).",
    )
    for status in sorted(STEP_OPEN):
        lines.append(f'tributary_steps_open{{status="{status}"}} {counts.get(status, 0)}')


def _durations(lines: list[str]) -> None:
    since = timezone.now() - WINDOW
    pairs = Run.objects.filter(finished_at__gte=since, started_at__isnull=False).values_list(
        "started_at", "finished_at"
    )[:20000]
    seconds = sorted((end - start).total_seconds() for start, end in pairs if start and end)
    _metric(
        lines,
        "tributary_run_duration_seconds",
        "summary",
        "Duration of runs that finished in the last hour.",
    )
    for quantile in QUANTILES:
        value = seconds[min(len(seconds) - 1, int(quantile * len(seconds)))] if seconds else 0
        lines.append(f'tributary_run_duration_seconds{{quantile="{quantile}"}} {value:.6f}')
    lines.append(f"tributary_run_duration_seconds_sum {sum(seconds):.6f}")
    lines.append(f"tributary_run_duration_seconds_count {len(seconds)}")


def _queue(lines: list[str]) -> None:
    """Messages waiting in the broker (Redis only; the embedded broker is in memory)."""
    if not settings.REDIS_URL:
        return
    try:
        depth = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).llen("celery")
    except redis.RedisError:
        depth = -1  # the broker is unreachable: say so rather than fail the scrape
    _metric(lines, "tributary_queue_depth", "gauge", "Task messages waiting in the broker.")
    lines.append(f"tributary_queue_depth {depth}")
