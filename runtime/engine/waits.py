"""Steps that wait for something from outside: a person's decision, a call to the run's
resume URL, a platform event. The step is parked ``waiting`` in Postgres like a delay (no
worker held; ``wake_at`` is its timeout, so the scheduler's wake-up is the time-out), with
a ``Suspension`` row saying what it waits for. What arrives resolves that row once and
queues the step again; its kind then reads the resolution as ``ctx.resumed``.

Ordering: every resolution holds the run's row lock, as every step transition does, so a
resolution and a time-out (or a cancel) cannot both win. Something may also arrive before
the step reached its wait: a call to its resume URL (runtime.kinds.resume) resolves a
Suspension made on the spot for the run's step (the step finds it resolved when it
pauses), and a platform
event is kept for TRIBUTARY_EVENT_WINDOW_SECONDS, where a pausing step looks for it.
Emitting and pausing on one event type serialize on an advisory lock, so neither can miss
the other.
"""

from __future__ import annotations

import json
import zlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from runtime.engine import graphs, sql
from runtime.engine.dispatch import enqueue_steps, send_task_after_commit
from runtime.engine.status import STEP_FINISHED, StepStatus
from runtime.kinds.contract import WaitSpec
from runtime.kinds.resume import token_matches
from runtime.live import publish
from runtime.models import PlatformEvent, Run, StepRun, Suspension


class WaitEnded(Exception):
    """The wait cannot take what arrived: it was resolved already, timed out, or its run
    ended. The message is safe to show to whoever sent it."""


def suspend(step: StepRun, run: Run, spec: WaitSpec) -> Any:
    """Record what ``step`` waits for (once: a redelivered attempt finds its row). Call
    under the run's lock with the step owned. Returns the resolution when something
    arrived already (a resume call, a kept event): the step then runs again at once."""
    suspension, created = Suspension.objects.get_or_create(
        step=step,
        defaults=_fields(run, spec),
    )
    if created and spec.kind == Suspension.Kind.APPROVAL and spec.details.get("emails"):
        # Once per pause: a redelivered attempt finds the row and mails nobody again.
        send_task_after_commit(
            "runtime.tasks.approval_mail",
            suspension.pk,
            otherwise="the approval's emails are not sent (decide on the Approvals page)",
        )
    if suspension.resolved_at is not None:
        return suspension.resolution
    if spec.event_type:
        _lock_event_type(spec.event_type)
        kept = _kept_event(suspension)
        if kept is not None:
            return _resolve(suspension, event_resolution(kept.payload))
    return None


def resolution(step: StepRun) -> Any:
    """What resumed ``step``, or None while nothing has (ctx.resumed)."""
    return (
        Suspension.objects.filter(step=step, resolved_at__isnull=False)
        .values_list("resolution", flat=True)
        .first()
    )


def _fields(run: Run, spec: WaitSpec) -> dict[str, Any]:
    return {
        "run": run,
        "workspace_id": run.flow.workspace_id,
        "kind": spec.kind,
        "event_type": spec.event_type,
        "match_path": spec.match_path,
        "match_value": spec.match_value,
        "details": spec.details,
        "expires_at": spec.until,
    }


def resume(*, step: StepRun, resolution: Any) -> None:
    """Resolve the wait of ``step`` with ``resolution`` and queue the step, or raise
    WaitEnded. A step that has not paused yet (no Suspension row) keeps the resolution for
    when it does; one that paused and is no longer waiting timed out, or is ending."""
    with transaction.atomic():
        run = Run.objects.select_related("flow").get(pk=step.run_id)
        sql.lock_run(run)
        status = StepRun.objects.filter(pk=step.pk).values_list("status", flat=True).first()
        if status is None or status in STEP_FINISHED or run.finished_at is not None:
            raise WaitEnded("This wait has ended: its run finished or the step timed out.")
        suspension, created = Suspension.objects.select_for_update().get_or_create(
            step_id=step.pk,
            defaults={"run": run, "workspace_id": run.flow.workspace_id, "kind": "event"},
        )
        if suspension.resolved_at is not None:
            raise WaitEnded("This wait has already been resumed; its link works once.")
        if not created and status != StepStatus.WAITING:  # woken by its timeout
            raise WaitEnded("This wait has ended: its run finished or the step timed out.")
        _resolve(suspension, resolution)
        if status == StepStatus.WAITING:  # else not paused yet: it finds this when it pauses
            _queue(step.pk, run)


def _resolve(suspension: Suspension, resolution: Any) -> Any:
    suspension.resolved_at = timezone.now()
    suspension.resolution = resolution
    Suspension.objects.filter(pk=suspension.pk).update(
        resolved_at=suspension.resolved_at, resolution=resolution
    )
    return resolution


def _queue(step_id: int, run: Run) -> None:
    moved = sql.step_transition(
        StepStatus.QUEUED,
        {"queued_at": timezone.now(), "wake_at": None},
        "id = %s AND status = %s",
        [step_id, StepStatus.WAITING],
    )
    if not moved:
        raise WaitEnded("This wait has ended: its run finished or the step timed out.")
    step = StepRun.objects.get(pk=step_id)
    enqueue_steps([(step.pk, step.timeout_seconds, step.queue)])
    publish.publish_step_state(
        run_id=run.pk, step_id=step.pk, node_id=step.node_id, status=StepStatus.QUEUED
    )


# ---------------------------------------------------------------------------------------
# Platform events


def event_resolution(payload: Any) -> dict[str, Any]:
    return {"via": "event", "event": payload, "received_at": timezone.now().isoformat()}


def event_arrived(event_type: str, payload: dict[str, Any], workspace_ids: list[int] | None) -> int:
    """Keep the event for the window and resume every open wait it matches (in the
    emitting workspaces; all when ``workspace_ids`` is None). Returns how many resumed."""
    resumed = 0
    with transaction.atomic():
        _lock_event_type(event_type)
        if settings.TRIBUTARY_EVENT_WINDOW_SECONDS > 0:
            workspaces: list[int | None] = [None] if workspace_ids is None else [*workspace_ids]
            PlatformEvent.objects.bulk_create(
                PlatformEvent(workspace_id=ws, event_type=event_type, payload=payload)
                for ws in workspaces
            )
        # Waits that timed out or whose run ended stay unresolved: only paused steps count.
        waiting = Suspension.objects.filter(
            kind=Suspension.Kind.EVENT,
            event_type=event_type,
            resolved_at__isnull=True,
            step__status=StepStatus.WAITING,
        ).select_related("step")
        if workspace_ids is not None:
            waiting = waiting.filter(workspace_id__in=workspace_ids)
        matching = [s for s in waiting.order_by("pk") if matches(s, payload)]
    for suspension in matching:  # each in its own transaction, under its run's lock
        try:
            resume(step=suspension.step, resolution=event_resolution(payload))
            resumed += 1
        except WaitEnded:
            pass  # resumed by something else meanwhile, or its run ended
    return resumed


def matches(suspension: Suspension, payload: dict[str, Any]) -> bool:
    """Whether the event's ``payload`` field at the wait's path equals its rendered value
    (compared as text, so 42 matches "42"); a wait with no path takes any event."""
    if not suspension.match_path:
        return True
    value: Any = payload.get("payload")
    for part in suspension.match_path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False
    text = value if isinstance(value, str) else _json_text(value)
    return text == suspension.match_value


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _kept_event(suspension: Suspension) -> PlatformEvent | None:
    since = timezone.now() - timedelta(seconds=settings.TRIBUTARY_EVENT_WINDOW_SECONDS)
    kept = PlatformEvent.objects.filter(
        event_type=suspension.event_type, emitted_at__gte=since
    ).filter(_in_workspace(suspension.workspace_id))
    for event in kept.order_by("emitted_at", "pk"):
        if matches(suspension, event.payload):
            return event
    return None


def _in_workspace(workspace_id: int) -> Q:
    return Q(workspace_id=workspace_id) | Q(workspace__isnull=True)


def _lock_event_type(event_type: str) -> None:
    """Serialize emitting and pausing on one event type (until the transaction ends)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = zlib.crc32(f"tributary.event:{event_type}".encode())
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    # SQLite (the embedded default) has one writer at a time: writes serialize anyway.


def prune_events() -> int:
    """Forget events older than the window (the scheduler's retention pass)."""
    since = timezone.now() - timedelta(seconds=settings.TRIBUTARY_EVENT_WINDOW_SECONDS)
    deleted, _ = PlatformEvent.objects.filter(emitted_at__lt=since).delete()
    return deleted


# ---------------------------------------------------------------------------------------
# Resume URLs (runtime.kinds.resume)


def step_for_token(run_id: int, node_id: str, token: str) -> StepRun | None:
    """The step a resume URL names, if its token is right (compared in constant time)."""
    if not token_matches(run_id, node_id, token):
        return None
    steps = StepRun.objects.select_related("run__flow", "run__version")
    return steps.filter(run_id=run_id, node_id=node_id).first()


def step_config(step: StepRun) -> dict[str, Any]:
    """The config of ``step``'s node in the version its run is pinned to."""
    run = step.run
    return dict(graphs.scoped(run.version, run.scope).nodes[step.node_id].config)
