"""/metrics in Prometheus text format: runs and steps by status, run durations, queue
depth. Protected by TRIBUTARY_METRICS_TOKEN (Bearer), or limited to local addresses when
no token is set.

A scrape every few seconds must stay cheap with millions of runs, so every figure is read
through an index, never a COUNT over all runs or steps: the last hour by created_at or
finished_at (runtime migration 0006 indexes finished_at), open steps one status at a time
(each has a partial index), and the run total from the highest id.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from runtime.models import Run, StepRun
from runtime.status import RUN_FINISHED, STEP_FINISHED, STEP_OPEN, RunStatus

LOCAL = {"127.0.0.1", "::1"}
WINDOW = timedelta(hours=1)
QUANTILES = (0.5, 0.9, 0.99)
DURATION_SAMPLE = 20000

Sample = tuple[str, int]  # (labels such as '{status="failed"}' or "", a count)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Forbidden: send Authorization: Bearer <TRIBUTARY_METRICS_TOKEN>.\n",
            status=403,
            content_type="text/plain",
        )
    since = timezone.now() - WINDOW
    lines: list[str] = []
    _runs(lines, since)
    _steps(lines, since)
    _durations(lines, since)
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


def _family(
    lines: list[str], name: str, kind: str, help_text: str, samples: Iterable[Sample]
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {value}" for labels, value in samples]


def _by_status(queryset: QuerySet, statuses: Iterable[str]) -> list[Sample]:
    """One sample per status (0 when absent), from a GROUP BY over ``queryset``."""
    counts = dict(queryset.values_list("status").annotate(n=Count("id")).order_by())
    return [(f'{{status="{status}"}}', counts.get(status, 0)) for status in sorted(statuses)]


def _runs(lines: list[str], since: datetime) -> None:
    created = Run.objects.filter(created_at__gte=since)
    _family(
        lines,
        "tributary_runs_last_hour",
        "gauge",
        "Runs created in the last hour, by their status now.",
        _by_status(created, RunStatus.values),
    )
    finished = Run.objects.filter(finished_at__gte=since, status__in=RUN_FINISHED)
    _family(
        lines,
        "tributary_runs_finished_last_hour",
        "gauge",
        "Runs that finished in the last hour, by status.",
        _by_status(finished, RUN_FINISHED),
    )
    active = Run.objects.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).count()
    _family(lines, "tributary_runs_active", "gauge", "Runs pending or running now.", [("", active)])
    # Ids are never reused, so the highest one counts every run ever created (a start that
    # was rolled back leaves a gap); retention deletes old runs, never the newest.
    highest = Run.objects.aggregate(n=Max("id"))["n"] or 0
    _family(
        lines,
        "tributary_runs_created_total",
        "counter",
        "Runs created since the database was set up.",
        [("", highest)],
    )


def _steps(lines: list[str], since: datetime) -> None:
    # One query per status: each open status has a partial index (steprun_queued...), which
    # a single "status IN (...)" could not use.
    open_counts = [
        (f'{{status="{status}"}}', StepRun.objects.filter(status=status).count())
        for status in sorted(STEP_OPEN)
    ]
    _family(
        lines,
        "tributary_steps_open",
        "gauge",
        "Steps not finished, by status (queued: waiting for a worker).",
        open_counts,
    )
    finished = StepRun.objects.filter(finished_at__gte=since, status__in=STEP_FINISHED)
    _family(
        lines,
        "tributary_steps_finished_last_hour",
        "gauge",
        "Steps that finished in the last hour, by status.",
        _by_status(finished, STEP_FINISHED),
    )


def _durations(lines: list[str], since: datetime) -> None:
    # Unordered: ORDER BY id could lead the planner to walk the primary key backwards.
    finished = Run.objects.filter(finished_at__gte=since, started_at__isnull=False).order_by()
    pairs = finished.values_list("started_at", "finished_at")[:DURATION_SAMPLE]
    seconds = sorted((end - start).total_seconds() for start, end in pairs if start and end)
    quantiles = [
        (quantile, seconds[min(len(seconds) - 1, int(quantile * len(seconds)))] if seconds else 0)
        for quantile in QUANTILES
    ]
    lines += [
        "# HELP tributary_run_duration_seconds Duration of runs that finished in the last hour.",
        "# TYPE tributary_run_duration_seconds summary",
        *(
            f'tributary_run_duration_seconds{{quantile="{quantile}"}} {value:.6f}'
            for quantile, value in quantiles
        ),
        f"tributary_run_duration_seconds_sum {sum(seconds):.6f}",
        f"tributary_run_duration_seconds_count {len(seconds)}",
    ]


def _queue(lines: list[str]) -> None:
    """Messages waiting in the broker (Redis only; the embedded broker is in memory)."""
    if not settings.REDIS_URL:
        return
    try:
        depth = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).llen("celery")
    except redis.RedisError:
        depth = -1  # the broker is unreachable: say so rather than fail the scrape
    _family(
        lines,
        "tributary_queue_depth",
        "gauge",
        "Task messages waiting in the broker (-1: unreachable).",
        [("", depth)],
    )
