"""A flow's health over a period, for the runs page's charts and its step table: totals,
success rate, run durations by day and per-step duration percentiles and failures. Callers
pass a flow they fetched through designer.access (runtime.selectors reads runs for users)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Mod, TruncDate
from django.utils import timezone

from designer.models import Flow
from runtime.engine import graphs
from runtime.engine.status import StepStatus
from runtime.models import Run, StepRun
from runtime.selectors import LISTED, start_of


def flow_health(*, flow: Flow, days: int = 30) -> dict[str, Any]:
    """The health of ``flow`` (fetched through designer.access) over ``days`` days, for
    the charts: totals by status, success rate, p50/p95 run duration, runs and failures
    per day, per day the success rate and p50/p95 duration (``daily``), and per step its
    figures (``steps``, see step_health) with the ``slowest`` and ``flakiest`` node ids.

    Durations are sorted per day: past SAMPLE runs in the window they come from an even
    sample (every n-th id), which keeps the sort small at a million runs and the days even.
    """
    since = timezone.localdate() - timedelta(days=days - 1)
    runs = Run.objects.filter(LISTED, flow=flow, created_at__gte=start_of(since))
    by_status = dict(runs.values_list("status").annotate(n=Count("id")).order_by())
    finished = by_status.get("succeeded", 0) + by_status.get("failed", 0)
    timed = runs.filter(TIMED).order_by("-id")
    durations = sorted(
        (end - start).total_seconds()
        for start, end in timed.values_list("started_at", "finished_at")[:DURATION_SAMPLE]
        if start is not None and end is not None
    )
    total = sum(by_status.values())
    per_day, failed_per_day = _runs_per_day(runs, since, days)
    steps = step_health(flow=flow, start=start_of(since), stride=math.ceil(total / SAMPLE))
    return {
        "days": days,
        "since": since,
        "total": total,
        "by_status": by_status,
        "success_rate": by_status.get("succeeded", 0) / finished if finished else None,
        "p50": _percentile(durations, 0.5),
        "p95": _percentile(durations, 0.95),
        "per_day": per_day,
        "failed_per_day": failed_per_day,
        "daily": _daily_health(runs, since, days, total),
        "steps": steps,
        **_standouts(steps),
    }


def _standouts(steps: list[dict[str, Any]]) -> dict[str, str | None]:
    """The node ids of the slowest step (p95) and the flakiest (failures, then failed
    attempts); None when no step has a duration, or none failed."""
    timed = [row for row in steps if row["p95"] is not None]
    failing = [row for row in steps if row["failed_attempts"]]
    slowest = max(timed, key=lambda row: row["p95"], default=None)
    flakiest = max(failing, key=lambda row: (row["failed"], row["failed_attempts"]), default=None)
    return {
        "slowest": slowest["node_id"] if slowest else None,
        "flakiest": flakiest["node_id"] if flakiest else None,
    }


DURATION_SAMPLE = 5000
SAMPLE = 20_000
DURATION = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
TIMED = Q(started_at__isnull=False, finished_at__isnull=False)


def _runs_per_day(runs: QuerySet[Run], since: date, days: int) -> tuple[list[int], list[int]]:
    per_day, failed_per_day = [0] * days, [0] * days
    daily = (
        runs.annotate(day=TruncDate("created_at"))
        .values_list("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, status, n in daily:
        per_day[(day - since).days] += n
        if status == "failed":
            failed_per_day[(day - since).days] += n
    return per_day, failed_per_day


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(fraction * (len(values) - 1))))
    return values[index]


def _daily_health(
    runs: QuerySet[Run], since: date, days: int, total: int
) -> dict[str, list[float | None]]:
    """Per day from ``since`` (oldest first): ``success_rate`` (0-1, of the finished
    runs), ``p50`` and ``p95`` (seconds); None for a day without such runs."""
    by_day = runs.annotate(day=TruncDate("created_at"))
    rates = by_day.values("day").annotate(
        ok=Count("id", filter=Q(status="succeeded")),
        finished=Count("id", filter=Q(status__in=["succeeded", "failed"])),
    )
    out: dict[str, list[float | None]] = {
        name: [None] * days for name in ("success_rate", "p50", "p95")
    }
    for row in rates.order_by():
        index = (row["day"] - since).days
        if 0 <= index < days and row["finished"]:
            out["success_rate"][index] = row["ok"] / row["finished"]
    timed = by_day.filter(TIMED)
    stride = math.ceil(total / SAMPLE)
    if stride > 1:
        timed = timed.alias(slot=Mod("id", stride)).filter(slot=0)
    for day, p50, p95 in _durations(timed):
        index = (day - since).days
        if 0 <= index < days:
            out["p50"][index], out["p95"][index] = p50, p95
    return out


class PercentileDisc(Aggregate):
    """PostgreSQL's percentile_disc: the smallest value with at least ``fraction`` of the
    values at or below it (the same definition as ``nearest_rank`` below)."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def nearest_rank(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _durations(timed: Any) -> list[tuple[date, float | None, float | None]]:
    if connection.vendor == "postgresql":
        rows = timed.values("day").annotate(
            p50=PercentileDisc(DURATION, 0.5, output_field=DurationField()),
            p95=PercentileDisc(DURATION, 0.95, output_field=DurationField()),
        )
        return [(r["day"], _seconds(r["p50"]), _seconds(r["p95"])) for r in rows.order_by()]
    by_day: dict[date, list[float]] = defaultdict(list)
    for day, start, end in timed.values_list("day", "started_at", "finished_at"):
        by_day[day].append((end - start).total_seconds())
    return [(d, nearest_rank(v, 0.5), nearest_rank(v, 0.95)) for d, v in by_day.items()]


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


STEP_TIMED = TIMED & Q(status__in=[StepStatus.SUCCEEDED, StepStatus.FAILED])


def step_health(*, flow: Flow, start: datetime, stride: int = 1) -> list[dict[str, Any]]:
    """Per step of ``flow`` (body steps of a for-each too), over runs created since
    ``start``: ``runs`` (times it ran), ``failed`` (times it ended failed),
    ``failed_attempts`` (failed attempts, retried ones included: the flaky ones), and
    ``p50``/``p95`` duration in seconds; slowest p95 first. Counts are exact; durations
    come from every ``stride``-th step row. One query on PostgreSQL, two elsewhere.
    Triggers and outputs a retry carried over are left out."""
    steps = (
        StepRun.objects.filter(
            run__flow=flow,
            run__created_at__gte=start,
            run__replay__isnull=True,  # replays' steps (items too) are not its health
            reused=False,
        )
        .exclude(kind__startswith="trigger.")
        .alias(slot=Mod("id", max(stride, 1)))
        .values("node_id")
        .order_by()
    )
    counted = steps.annotate(
        kind=Max("kind"),
        runs=Count("id"),
        failed=Count("id", filter=Q(status=StepStatus.FAILED)),
        failed_attempts=Sum("failures"),
    )
    sampled = STEP_TIMED & Q(slot=0)
    if connection.vendor == "postgresql":
        rows = list(
            counted.annotate(
                p50=PercentileDisc(DURATION, 0.5, filter=sampled, output_field=DurationField()),
                p95=PercentileDisc(DURATION, 0.95, filter=sampled, output_field=DurationField()),
            )
        )
        for row in rows:
            row["p50"], row["p95"] = _seconds(row["p50"]), _seconds(row["p95"])
    else:
        rows = list(counted)
        durations: dict[str, list[float]] = defaultdict(list)
        for node_id, begun, ended in steps.filter(sampled).values_list(
            "node_id", "started_at", "finished_at"
        ):
            if begun is not None and ended is not None:  # STEP_TIMED: always, says the query
                durations[node_id].append((ended - begun).total_seconds())
        for row in rows:
            found = durations.get(row["node_id"], [])
            row["p50"], row["p95"] = nearest_rank(found, 0.5), nearest_rank(found, 0.95)
    names = _node_names(flow)
    for row in rows:
        row["name"] = names.get(row["node_id"], row["node_id"])
    return sorted(rows, key=lambda row: (-(row["p95"] or 0), row["node_id"]))


def _node_names(flow: Flow) -> dict[str, str]:
    """The step names of the flow's live (else latest) version: rows only carry node ids."""
    version = flow.live_version or flow.versions.order_by("-number").first()
    if version is None:
        return {}
    return {node.id: node.name for node in graphs.graph_of(version).nodes.values()}
