"""What the engine is doing, for /metrics (runtime.http.metrics formats it): runs and steps
by status, run durations, and per queue (runtime.engine.queues) the steps waiting for a
worker, how long the oldest has waited and the broker's depth: what an autoscaler reads.

A scrape every few seconds must stay cheap with millions of runs, so every figure is read
through an index, never a COUNT over all runs or steps: the last hour by created_at or
finished_at (runtime migration 0006 indexes finished_at), open steps one status at a time
(each has a partial index; queued and running ones as the sums of the per-queue counts,
one GROUP BY over each status's partial index), and the run total from the highest id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from runtime.engine import queues
from runtime.engine.status import RUN_FINISHED, STEP_FINISHED, STEP_OPEN, RunStatus, StepStatus
from runtime.models import Run, StepRun

WINDOW = timedelta(hours=1)
QUANTILES = (0.5, 0.9, 0.99)
DURATION_SAMPLE = 20000


@dataclass(frozen=True)
class Waiting:
    """The steps of one queue QUEUED and RUNNING in PostgreSQL: the truth, whatever the
    broker holds (a message a worker took but whose step it has not claimed yet still counts
    as queued here)."""

    steps: int
    oldest_age_seconds: float  # now - the oldest one's queued_at; 0 when none waits
    running: int  # steps of the queue running now (a pool with these must not go to zero)


@dataclass(frozen=True)
class Vitals:
    runs_last_hour: dict[str, int]  # runs created in the window, by their status now
    runs_finished_last_hour: dict[str, int]
    runs_active: int
    runs_queued: int  # waiting for a concurrency slot
    runs_created_total: int
    steps_open: dict[str, int]
    steps_finished_last_hour: dict[str, int]
    durations: list[float]  # seconds of the runs that finished in the window (a sample)
    queues: dict[str, Waiting]  # by queue: every declared one, and any a queued step names
    # Task messages in each queue's broker list; None: no broker to ask (embedded), and -1
    # for every queue when it is unreachable.
    queue_depth: dict[str, int] | None


def vitals() -> Vitals:
    now = timezone.now()
    since = now - WINDOW
    # Runs as users count them: a for-each's items are child runs with a scope, thousands
    # per loop, and would drown the flows' own runs (their steps still count as steps).
    runs = Run.objects.filter(scope="")
    waiting = _waiting(now)
    # Queued and running steps are counted per queue already: their totals are the sums.
    in_queues = {
        StepStatus.QUEUED: sum(w.steps for w in waiting.values()),
        StepStatus.RUNNING: sum(w.running for w in waiting.values()),
    }
    return Vitals(
        runs_last_hour=_by_status(runs.filter(created_at__gte=since), RunStatus.values),
        runs_finished_last_hour=_by_status(
            runs.filter(finished_at__gte=since, status__in=RUN_FINISHED), RUN_FINISHED
        ),
        runs_active=runs.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).count(),
        runs_queued=runs.filter(status=RunStatus.QUEUED).count(),
        # Ids are never reused, so the highest one counts every run ever created, item runs
        # included (a start that was rolled back leaves a gap); retention deletes old runs,
        # never the newest.
        runs_created_total=Run.objects.aggregate(n=Max("id"))["n"] or 0,
        # One query per other open status: each has a partial index (steprun_waiting...),
        # which a single "status IN (...)" could not use.
        steps_open={
            status: in_queues[status]
            if status in in_queues
            else StepRun.objects.filter(status=status).count()
            for status in sorted(STEP_OPEN)
        },
        steps_finished_last_hour=_by_status(
            StepRun.objects.filter(finished_at__gte=since, status__in=STEP_FINISHED),
            STEP_FINISHED,
        ),
        durations=_durations(since),
        queues=waiting,
        queue_depth=_queue_depth(list(waiting)),
    )


def _by_status(queryset: QuerySet, statuses: Iterable[str]) -> dict[str, int]:
    """A count per status (0 when absent), from a GROUP BY over ``queryset``."""
    counts = dict(queryset.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in sorted(statuses)}


def _durations(since: datetime) -> list[float]:
    # Unordered: ORDER BY id could lead the planner to walk the primary key backwards.
    finished = Run.objects.filter(
        finished_at__gte=since, started_at__isnull=False, scope=""
    ).order_by()
    pairs = finished.values_list("started_at", "finished_at")[:DURATION_SAMPLE]
    return sorted((end - start).total_seconds() for start, end in pairs if start and end)


def quantile(seconds: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of sorted ``seconds`` (0 when empty)."""
    if not seconds:
        return 0.0
    return seconds[min(len(seconds) - 1, int(fraction * len(seconds)))]


def _waiting(now: datetime) -> dict[str, Waiting]:
    """Queued and running steps by queue, 0 for a declared queue with none. A query per
    status, each over its partial index (steprun_queued, steprun_running), which holds
    exactly those rows however many steps have finished."""
    rows = (
        StepRun.objects.filter(status=StepStatus.QUEUED)
        .order_by()
        .values_list("queue")
        .annotate(n=Count("id"), oldest=Min("queued_at"))
    )
    found = {queue: (n, oldest) for queue, n, oldest in rows}
    running = dict(
        StepRun.objects.filter(status=StepStatus.RUNNING)
        .order_by()
        .values_list("queue")
        .annotate(n=Count("id"))
    )
    # A queue the operator no longer declares may still hold steps queued before: shown, as
    # work no worker may be listening for.
    names = list(dict.fromkeys([*queues.declared(), *sorted(found), *sorted(running)]))
    return {
        name: _waited(*found.get(name, (0, None)), running.get(name, 0), now=now) for name in names
    }


def _waited(steps: int, oldest: datetime | None, running: int, *, now: datetime) -> Waiting:
    # At least 0: the step was queued by another machine, whose clock may run ahead.
    age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return Waiting(steps=steps, oldest_age_seconds=age, running=running)


def _queue_depth(names: list[str]) -> dict[str, int] | None:
    """Messages waiting in each queue's broker list (runtime.engine.queues.broker_depths);
    None without a broker to ask (embedded), -1 for every queue when it does not answer,
    rather than fail the scrape."""
    if not settings.REDIS_URL:
        return None
    depths = queues.broker_depths(names)
    return dict.fromkeys(names, -1) if depths is None else depths
