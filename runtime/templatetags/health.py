"""Per-day health of one flow for the runs list's charts: success rate and p50/p95 run
duration per day, in two grouped queries.

This is a read that belongs beside ``runtime.selectors.flow_health`` (which gives the
totals and runs per day); it lives here until that selector returns these series too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django import template
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Mod, TruncDate
from django.utils import timezone

from runtime.models import Run

register = template.Library()

DURATION = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
TIMED = Q(started_at__isnull=False, finished_at__isnull=False)
# Durations are sorted per day: past this many runs in the window they come from an even
# sample (every n-th id), which keeps the sort small at a million runs and the days even.
SAMPLE = 20_000


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


@register.simple_tag
def daily_health(
    flow_id: int, since: date, days: int, total: int = 0
) -> dict[str, list[float | None]]:
    """Per day from ``since`` (``days`` of them, oldest first): ``success_rate`` (0-1, of
    the finished runs), ``p50`` and ``p95`` (seconds); None for a day without such runs.
    ``total`` is the window's run count, if known (it decides the duration sample)."""
    start = timezone.make_aware(datetime.combine(since, time.min))  # the index, not a cast
    runs = Run.objects.filter(flow_id=flow_id, created_at__gte=start).annotate(
        day=TruncDate("created_at")
    )
    rates = runs.values("day").annotate(
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
    timed = runs.filter(TIMED)
    stride = math.ceil(total / SAMPLE)
    if stride > 1:
        timed = timed.alias(slot=Mod("id", stride)).filter(slot=0)
    for day, p50, p95 in _durations(timed):
        index = (day - since).days
        if 0 <= index < days:
            out["p50"][index], out["p95"][index] = p50, p95
    return out


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
