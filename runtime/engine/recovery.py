"""Postgres is the truth; these functions make the broker agree with it again.

Run by the scheduler loop (several schedulers may run at once: rows are taken with
SKIP LOCKED where the database has it, and every change is a conditional UPDATE):

- wake steps whose delay or retry backoff is over;
- hand steps whose worker vanished (expired lease) to another worker;
- re-send queued steps whose message was lost (broker restarted or flushed);
- admit queued runs whose slot freed without admitting them (a crash between the two).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from runtime.engine import advance
from runtime.engine.dispatch import send_now
from runtime.engine.status import RUN_LIVE, RunStatus, StepStatus
from runtime.models import Run, StepRun

logger = logging.getLogger(__name__)
BATCH = 500


def wake_due_steps() -> int:
    """Queue waiting steps whose time has come. Returns how many were sent."""
    now = timezone.now()
    due = StepRun.objects.filter(
        status=StepStatus.WAITING, wake_at__lte=now, run__status__in=RUN_LIVE
    )
    return _requeue(due, now, "woke")


def requeue_expired_leases() -> int:
    """Queue again running steps whose worker stopped renewing its lease (it died). If it
    was merely slow, its claim is gone and its late result is discarded."""
    now = timezone.now()
    expired = StepRun.objects.filter(
        # A pending run too: a worker may die between claiming its first step and
        # marking the run started.
        status=StepStatus.RUNNING,
        lease_expires_at__lt=now,
        run__status__in=RUN_LIVE,
    )
    return _requeue(
        expired, now, "lease expired", claim=None, lease_expires_at=None, lost=F("lost") + 1
    )


def requeue_lost_messages() -> int:
    """Re-send queued steps nobody claimed for TRIBUTARY_REQUEUE_AFTER_SECONDS."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TRIBUTARY_REQUEUE_AFTER_SECONDS)
    lost = StepRun.objects.filter(
        status=StepStatus.QUEUED,
        queued_at__lt=stale,
        run__status__in=RUN_LIVE,
    )
    return _resend(lost, now, "message lost?")


def admit_queued_runs() -> int:
    """Admit queued runs that a free slot should have admitted already. Admission normally
    happens in the transaction that frees the slot; this sweep is the safety net, each
    (flow, key) in its own transaction under the key's lock."""
    groups = (
        Run.objects.filter(status=RunStatus.QUEUED)
        .order_by()
        .values_list("flow_id", "concurrency_key")
        .distinct()[:BATCH]
    )
    admitted = 0
    for flow_id, key in list(groups):
        with transaction.atomic():
            admitted += advance.admit_queued(flow_id, key)
    if admitted:
        logger.info("Admitted %d queued run(s) the sweep found", admitted)
    return admitted


def _requeue(steps: QuerySet[StepRun], now: datetime, why: str, **fields: Any) -> int:
    with transaction.atomic():
        rows = list(_lock(steps).values_list("pk", "timeout_seconds"))
        StepRun.objects.filter(pk__in=[pk for pk, _ in rows]).transition(
            StepStatus.QUEUED, queued_at=now, **fields
        )
    return _send(rows, why)


def _resend(steps: QuerySet[StepRun], now: datetime, why: str) -> int:
    """Send another message without changing the status: the claim decides who runs it."""
    with transaction.atomic():
        rows = list(_lock(steps).values_list("pk", "timeout_seconds"))
        StepRun.objects.filter(pk__in=[pk for pk, _ in rows]).update(queued_at=now)
    return _send(rows, why)


def _lock(steps: QuerySet[StepRun]) -> QuerySet[StepRun]:
    query = steps.order_by("pk")[:BATCH]
    if connection.features.has_select_for_update_skip_locked:
        # Another scheduler handling the same rows skips them instead of doubling them.
        return query.select_for_update(skip_locked=True, of=("self",))
    return query


def _send(rows: list[tuple[int, float]], why: str) -> int:
    if rows:
        logger.info("Sending %d step(s) again (%s)", len(rows), why)
        send_now(rows)
    return len(rows)
