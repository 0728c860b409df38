"""Postgres is the truth; these functions make the broker agree with it again.

Run by the scheduler loop (several schedulers may run at once: rows are taken with
SKIP LOCKED where the database has it, and every change is a conditional UPDATE):

- wake steps whose delay or retry backoff is over;
- hand steps whose worker vanished (expired lease) to another worker;
- re-send queued steps whose message was lost (broker restarted or flushed);
- admit queued runs whose slot freed without admitting them (a crash between the two);
- wake steps waiting for child runs that have all finished, and cancel the open children
  of steps that ended without them (runtime.engine.children).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from runtime.engine import advance, children, queues
from runtime.engine.dispatch import send_now
from runtime.engine.inline import Ready
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
    """Re-send queued steps nobody claimed for TRIBUTARY_REQUEUE_AFTER_SECONDS, except on a
    queue whose broker list still holds messages: its workers are behind, or it has none
    (a pool scaled to zero), and its steps' messages are there. Re-sending those would pile
    up a copy per step every sweep and inflate the depth autoscalers read. A queue whose
    list is empty while steps are still queued lost them (a broker restarted or flushed);
    a partial loss on a busy queue is re-sent once its list drains."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TRIBUTARY_REQUEUE_AFTER_SECONDS)
    lost = StepRun.objects.filter(
        status=StepStatus.QUEUED,
        queued_at__lt=stale,
        run__status__in=RUN_LIVE,
    )
    named = set(lost.order_by().values_list("queue", flat=True).distinct())
    if not named:
        return 0  # nothing stale: the broker need not be asked
    waiting = queues.broker_depths(sorted(named)) or {}
    busy = [name for name in named if waiting.get(name, 0) > 0]
    if busy:
        lost = lost.exclude(queue__in=busy)
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


def wake_stranded_parents() -> int:
    """Queue steps waiting for children (WAITING without wake_at) none of which is open
    any more: the child that finished last woke them in its own transaction, so only a
    crash between that and the rest of the engine can leave one here. A step with no
    children at all waits for something else (runtime.engine.waits) and is left alone."""
    now = timezone.now()
    any_children = Run.objects.filter(parent_step=OuterRef("pk"))
    open_children = any_children.filter(status__in=children.RUN_OPEN)
    stranded = (
        StepRun.objects.filter(
            status=StepStatus.WAITING, wake_at__isnull=True, run__status__in=RUN_LIVE
        )
        .filter(Exists(any_children))
        .exclude(Exists(open_children))
    )
    return _requeue(stranded, now, "its children finished")


def cancel_orphaned_children(*, parent_run_id: int | None = None) -> int:
    """Cancel open child runs whose parent step ended without success (its run was
    cancelled or failed), each in its own transaction; each cancelled child does the same
    to its own children through the task end_run sends. ``parent_run_id`` limits it to
    the children of one run (the task end_run sends)."""
    orphans = Run.objects.filter(
        status__in=children.RUN_OPEN, parent_step__status__in=children.STEP_ABANDONED
    )
    if parent_run_id is not None:
        orphans = orphans.filter(parent_step__run_id=parent_run_id)
    cancelled = 0
    for run_id in list(orphans.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            # The task (one run's children) waits for a child recording a step; the sweep
            # passes it by and comes back.
            cancelled += _cancel_orphan(run_id, wait=parent_run_id is not None)
    return cancelled


def cancel_open_items(step_id: int) -> int:
    """Cancel the open item runs of for-each step ``step_id``, which stopped at a failed
    item (on_item_failure: fail) and needs no more of them."""
    open_items = Run.objects.filter(parent_step_id=step_id, status__in=children.RUN_OPEN)
    cancelled = 0
    for run_id in list(open_items.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            cancelled += _cancel_orphan(
                run_id, why="Cancelled: an earlier item of the loop failed.", wait=True
            )
    return cancelled


def _cancel_orphan(run_id: int, why: str = "", *, wait: bool = False) -> int:
    """Cancel ``run_id`` if still open. ``wait``: for its row lock, held while one of its
    steps is recorded — skipping it would leave it running until the next sweep, and the
    tasks are the only cancel when no scheduler runs."""
    query = Run.objects.filter(pk=run_id, status__in=children.RUN_OPEN)
    if wait:
        query = query.select_for_update()
    elif connection.features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True)
    run = query.first()
    if run is None:
        return 0  # finished meanwhile, or being finished by someone else right now
    if why:
        advance.end_run(run, RunStatus.CANCELLED, why)
        return 1
    parents = StepRun.objects.select_related("run__flow")
    parent = parents.filter(pk=run.parent_step_id).first() if run.parent_step_id else None
    caller = (
        f"the step {parent.node_id!r} of {parent.run.flow.name} run #{parent.run_id} "
        f"that called it ended ({parent.status})"
        if parent
        else "the run that called it is gone"
    )
    advance.end_run(run, RunStatus.CANCELLED, f"Cancelled: {caller}.")
    return 1


def _requeue(steps: QuerySet[StepRun], now: datetime, why: str, **fields: Any) -> int:
    with transaction.atomic():
        rows = list(_lock(steps).values_list("pk", "timeout_seconds", "queue"))
        StepRun.objects.filter(pk__in=[row[0] for row in rows]).transition(
            StepStatus.QUEUED, queued_at=now, **fields
        )
    return _send(rows, why)


def _resend(steps: QuerySet[StepRun], now: datetime, why: str) -> int:
    """Send another message without changing the status: the claim decides who runs it."""
    with transaction.atomic():
        rows = list(_lock(steps).values_list("pk", "timeout_seconds", "queue"))
        StepRun.objects.filter(pk__in=[row[0] for row in rows]).update(queued_at=now)
    return _send(rows, why)


def _lock(steps: QuerySet[StepRun]) -> QuerySet[StepRun]:
    query = steps.order_by("pk")[:BATCH]
    if connection.features.has_select_for_update_skip_locked:
        # Another scheduler handling the same rows skips them instead of doubling them.
        return query.select_for_update(skip_locked=True, of=("self",))
    return query


def _send(rows: list[Ready], why: str) -> int:
    if rows:
        logger.info("Sending %d step(s) again (%s)", len(rows), why)
        send_now(rows)
    return len(rows)
