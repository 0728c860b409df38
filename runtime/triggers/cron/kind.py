"""trigger.cron: fire on a cron schedule in a time zone (croniter; DST by Vixie cron's
rules, see crontimes: a 02:30 job runs once on both change days).

Each active schedule is a CronSchedule row holding its next fire time; the scheduler
fires due rows in order (runtime.triggers.cron.fire).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from django.conf import settings
from django.utils import timezone

from designer.graph import Graph, Node, Problem
from designer.models import Flow
from runtime.kinds.contract import TriggerKind
from runtime.kinds.samples import sample_fields, sample_time
from runtime.models import CronSchedule
from runtime.triggers.cron.times import fire_times_after


class CronTrigger(TriggerKind):
    type = "trigger.cron"
    label = "Schedule"
    description = "Start the flow on a schedule, e.g. every night at 02:00."
    output_example = {
        "scheduled_for": "2026-01-01T09:00:00+00:00",
        "fired_at": "2026-01-01T09:00:01+00:00",
        "expression": "0 9 * * *",
        "timezone": "UTC",
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["expression"],
        "properties": {
            "expression": {
                "type": "string",
                "title": "Cron expression",
                "minLength": 1,
                "maxLength": 200,
                "x-widget": "cron",
                "description": "minute hour day month weekday, e.g. 0 2 * * *",
            },
            "timezone": {
                "type": "string",
                "title": "Time zone",
                "maxLength": 64,
                "description": "e.g. Europe/Paris; the server's time zone when empty.",
            },
            "catch_up": {
                "enum": ["skip", "once"],
                "title": "After downtime",
                "default": "skip",
                "description": "skip: wait for the next time; once: run once for what was missed.",
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        problem = schedule_problem(node.config["expression"], node.config.get("timezone", ""))
        if problem:
            field, message = problem
            yield Problem(message, node=node.id, field=f"config.{field}")

    def activate(self, flow: Flow, nodes: Sequence[Node]) -> None:
        now = timezone.now()
        existing = {row.node_id: row for row in CronSchedule.objects.filter(flow=flow)}
        for node in nodes:
            expression, zone_name = node.config["expression"], node.config.get("timezone", "")
            row = existing.pop(node.id, None) or CronSchedule(flow=flow, node_id=node.id)
            if (
                row.pk is None
                or row.expression != expression
                or row.timezone != zone_name
                or row.next_fire_at is None
            ):
                row.next_fire_at = next_fire_times(expression, zone_name, after=now, count=1)[0]
            row.expression, row.timezone = expression, zone_name
            row.catch_up, row.last_error = node.config.get("catch_up", "skip"), ""
            row.save()
        CronSchedule.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """The times the sample gives (now by default); the expression and time zone are
        always the node's, as in a live fire."""
        given = sample_fields(sample, FIRING_KEYS, FIRING_SHAPE)
        return firing(
            expression=node.config["expression"],
            timezone_name=node.config.get("timezone", ""),
            scheduled_for=sample_time(given.get("scheduled_for"), "scheduled_for"),
            fired_at=sample_time(given.get("fired_at"), "fired_at"),
        )


KIND = CronTrigger()
FIRING_KEYS = ("scheduled_for", "fired_at", "expression", "timezone")
FIRING_SHAPE = "A schedule delivers {scheduled_for, fired_at, expression, timezone}."


def firing(*, expression: str, timezone_name: str, scheduled_for: str, fired_at: str) -> dict:
    """What a fire of the schedule delivers as event.trigger (times in ISO 8601)."""
    return {
        "scheduled_for": scheduled_for,
        "fired_at": fired_at,
        "expression": expression,
        "timezone": timezone_name or settings.TIME_ZONE,
    }


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name or settings.TIME_ZONE)


def schedule_problem(expression: str, timezone_name: str) -> tuple[str, str] | None:
    """(field, message) saying what is wrong with a schedule, or None."""
    if not croniter.is_valid(expression) or len(expression.split()) != 5:
        return "expression", (
            f"{expression!r} is not a cron expression; use five fields: "
            "minute hour day-of-month month day-of-week (e.g. 0 2 * * *)."
        )
    try:
        zone(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return "timezone", f"Unknown time zone {timezone_name!r}; use a name like Europe/Paris."
    try:
        next_fire_times(expression, timezone_name, after=timezone.now(), count=1)
    except CroniterBadDateError:  # valid syntax for a date that never comes (Feb 30)
        return "expression", f"{expression!r} never fires; check the day and month fields."
    return None


def next_fire_times(
    expression: str, timezone_name: str, *, after: datetime, count: int = 5
) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, each later than the one
    before, also across daylight-saving changes. In UTC: Python compares and subtracts two
    times of one zone by their wall clocks, so the two 02:30s of an autumn night would be
    equal (show them with ``.astimezone(zone(...))``)."""
    return list(itertools.islice(fire_times_after(expression, zone(timezone_name), after), count))
