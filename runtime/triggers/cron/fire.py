"""Firing cron schedules: the scheduler's pass over the schedules that are due.

A fire is recorded as a unique CronFire (schedule, time), so two schedulers running at
once cannot both fire 02:00, and one bad row never stops the loop.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from runtime.models import CronFire, CronSchedule
from runtime.runs import run_start
from runtime.triggers.cron.kind import firing, next_fire_times, zone
from runtime.triggers.cron.times import fire_times_until

logger = logging.getLogger(__name__)
# A fire later than this after its time counts as missed (the scheduler was down), and the
# schedule's catch-up policy decides.
MISSED_AFTER = timedelta(seconds=60)


def fire_due_schedules() -> int:
    """Fire every schedule whose time has come; returns how many runs were started."""
    started = 0
    now = timezone.now()
    due = CronSchedule.objects.filter(next_fire_at__lte=now).order_by("next_fire_at")
    for schedule_id in list(due.values_list("pk", flat=True)[:100]):
        try:
            started += _fire(schedule_id, now)
        except Exception as exc:  # one bad row must not stop the others, or the loop
            logger.exception("Cron schedule %s failed", schedule_id)
            CronSchedule.objects.filter(pk=schedule_id).update(
                last_error=str(exc)[:500], next_fire_at=now + timedelta(minutes=1)
            )
    return started


def _fire(schedule_id: int, now: datetime) -> int:
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
        return _start(schedule, fire_at, now)


def _time_to_fire(schedule: CronSchedule, due_at: datetime, now: datetime) -> datetime | None:
    """The scheduled time to fire for, or None to skip: on time, fire; missed (the
    scheduler was down), follow the policy — skip, or run once for the latest missed."""
    if now - due_at <= MISSED_AFTER:
        return due_at
    if schedule.catch_up != "once":
        return None
    return next(fire_times_until(schedule.expression, zone(schedule.timezone), now))


def _start(schedule: CronSchedule, scheduled_for: datetime, now: datetime) -> int:
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
    run = run_start(
        flow=flow,
        version=flow.live_version,
        trigger_node=schedule.node_id,
        trigger_kind="cron",
        origin=f"schedule {schedule.expression}",
        payload=firing(
            expression=schedule.expression,
            timezone_name=schedule.timezone,
            scheduled_for=scheduled_for.isoformat(),
            fired_at=now.isoformat(),
        ),
    )
    CronFire.objects.filter(pk=fire.pk).update(run=run)
    return 1
