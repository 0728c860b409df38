"""trigger.cron: fire on a cron schedule in a time zone (croniter; DST by Vixie cron's
rules, see crontimes: a 02:30 job runs once on both change days).

Each active schedule is a CronSchedule row holding its next fire time; the scheduler
fires due rows in order. A fire is recorded as a unique CronFire (schedule, time), so two
schedulers running at once cannot both fire 02:00, and one bad row never stops the loop.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from designer.graph import Graph, Node, Problem
from designer.models import Flow
from runtime.kinds import StartRun, TriggerKind
from runtime.models import CronFire, CronSchedule
from runtime.triggers.crontimes import fire_times_after, fire_times_until

logger = logging.getLogger(__name__)
# A fire later than this after its time counts as missed (the scheduler was down), and the
# schedule's catch-up policy decides.
MISSED_AFTER = timedelta(seconds=60)


class CronTrigger(TriggerKind):
    type = "trigger.cron"
    label = "Schedule"
    description = "Start the flow on a schedule, e.g. every night at 02:00."
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


KIND = CronTrigger()


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


def fire_due_schedules(start: StartRun) -> int:
    """Fire every schedule whose time has come with ``start`` (runtime.services.run_start,
    passed in because the engine imports this module through the catalog); returns how
    many runs were started."""
    started = 0
    now = timezone.now()
    due = CronSchedule.objects.filter(next_fire_at__lte=now).order_by("next_fire_at")
    for schedule_id in list(due.values_list("pk", flat=True)[:100]):
        try:
            started += _fire(schedule_id, now, start)
        except Exception as exc:  # one bad row must not stop the others, or the loop
            logger.exception("Cron schedule %s failed", schedule_id)
            CronSchedule.objects.filter(pk=schedule_id).update(
                last_error=str(exc)[:500], next_fire_at=now + timedelta(minutes=1)
            )
    return started


def _fire(schedule_id: int, now: datetime, start: StartRun) -> int:
    with transaction.atomic():
        rows = CronSchedule.objects.filter(pk=schedule_id, next_fire_at__lte=now)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        schedule = rows.select_related("flow__live_version").first()
        if schedule is None:
            return 0  # another scheduler has it, or it was just re-published
        due_at = schedule.next_fire_at
        assert due_at is not None
        upcoming = next_fire_times(schedule.expression, schedule.timezone, after=now, count=1)[0]
        fire_at = _time_to_fire(schedule, due_at, now)
        schedule.next_fire_at = upcoming
        schedule.save(update_fields=["next_fire_at"])
        if fire_at is None:
            logger.info("Skipping missed fire of %s at %s", schedule, due_at)
            return 0
        return _start(schedule, fire_at, now, start)


def _time_to_fire(schedule: CronSchedule, due_at: datetime, now: datetime) -> datetime | None:
    """The scheduled time to fire for, or None to skip: on time, fire; missed (the
    scheduler was down), follow the policy — skip, or run once for the latest missed."""
    if now - due_at <= MISSED_AFTER:
        return due_at
    if schedule.catch_up != "once":
        return None
    return next(fire_times_until(schedule.expression, zone(schedule.timezone), now))


def _start(schedule: CronSchedule, scheduled_for: datetime, now: datetime, start: StartRun) -> int:
    flow = schedule.flow
    if flow.live_version is None or flow.archived_at is not None:
        return 0
    try:
        with transaction.atomic():
            fire = CronFire.objects.create(
                flow=flow, node_id=schedule.node_id, scheduled_for=scheduled_for, fired_at=now
            )
    except IntegrityError:
        return 0  # fired already: exactly once, whoever got there first
    run = start(
        flow=flow,
        version=flow.live_version,
        trigger_node=schedule.node_id,
        trigger_kind="cron",
        origin=f"schedule {schedule.expression}",
        payload={
            "scheduled_for": scheduled_for.isoformat(),
            "fired_at": now.isoformat(),
            "expression": schedule.expression,
            "timezone": schedule.timezone or settings.TIME_ZONE,
        },
    )
    CronFire.objects.filter(pk=fire.pk).update(run=run)
    return 1
