"""What a failed run sets off: its flow's error flow and failure alert
(``settings.on_failure`` of the run's version, designer.flow_settings).

``after_commit`` is the engine's one hook (advance.end_run): it sends the ``run_failed``
task once the failure commits; the task reads the failure back with ``failure_get`` and
hands it to runtime.triggers.error (the error flow) and runtime.engine.alerts (the email).

Which failures count:

- runs that end *failed*: a cancelled run was stopped on purpose;
- not test runs (designer tests, and the children of one, which are test runs too);
- not the item runs of a for-each: an item that fails fails its loop step and so its
  loop's run, which counts once (a loop of 10,000 items must not send 10,000 alerts);
- a flow.call child run is a run of its own flow: the callee's settings apply to it, and
  the caller's run, if it fails too, counts for the caller.

Loop guard: a run started by an error flow's trigger, or called from one however deep,
starts no error flow when it fails (an error flow that fails would otherwise start itself
again, or two error flows each other). Its alert is still sent.

If the broker loses the task message there is no sweep: the alert and error flow of that
one failure are lost, and the warning is logged (runs are never affected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from designer.flow_settings import OnFailure
from designer.graph import ERROR_HANDLE
from runtime.disclosure import HIDDEN
from runtime.engine import graphs
from runtime.engine.dispatch import send_task_after_commit
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run, StepRun

RUN_FAILED = "runtime.tasks.run_failed"
ERROR_TRIGGER_KIND = "error"  # Run.trigger_kind of runs started by trigger.error
GUARD_DEPTH = 64  # callers followed by the loop guard; TRIBUTARY_MAX_CALL_DEPTH is lower


@dataclass(frozen=True)
class Failure:
    """A failed run to act on: its settings, the event an error flow receives, and
    whether the loop guard lets it start one."""

    run: Run
    on_failure: OnFailure
    event: dict[str, Any]
    starts_error_flow: bool


def after_commit(run: Run) -> None:
    """Called by the engine as ``run`` ends failed, inside that transaction: when its
    version's settings say to act on failures, send the task once this commits. Reads
    nothing for a run that cannot count (the graph is cached per process)."""
    if run.is_test or run.scope:
        return
    if graphs.graph_of(run.version).settings.on_failure is None:
        return
    send_task_after_commit(
        RUN_FAILED, run.pk, otherwise=f"run #{run.pk}'s error flow and alert are skipped"
    )


def failure_get(run_id: int) -> Failure | None:
    """The failure of run ``run_id`` to act on, or None (not failed, or nothing to do)."""
    run = Run.objects.select_related("flow", "version").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.FAILED or run.is_test or run.scope:
        return None
    on_failure = graphs.graph_of(run.version).settings.on_failure
    if on_failure is None:
        return None
    return Failure(
        run=run,
        on_failure=on_failure,
        event=failure_event(run),
        starts_error_flow=on_failure.flow is not None and not _from_error_flow(run),
    )


def failure_event(run: Run) -> dict[str, Any]:
    """What an error flow receives as ``event.trigger`` (runtime.triggers.error). The
    error of a run that used secrets is not passed on: the error flow's viewers, and the
    alert's readers, may not see secrets; the run's page shows it to editors."""
    # The failure that ended the run: the last one, and not one an error path handled
    # (nor, before it, one that continued on failure).
    step = (
        StepRun.objects.filter(run=run, status=StepStatus.FAILED)
        .exclude(handle=ERROR_HANDLE)
        .order_by("-finished_at", "-pk")
        .first()
    )
    node = graphs.graph_of(run.version).nodes.get(step.node_id) if step else None
    return {
        "flow": {"id": run.flow_id, "name": run.flow.name},
        "version": run.version.number,
        "run": {"id": run.pk, "url": run_url(run.pk)},
        "failed_step": {
            "id": step.node_id,
            "name": node.name if node else step.node_id,
            "kind": step.kind,
        }
        if step
        else None,
        "error": HIDDEN if run.uses_secrets else run.error,
        "failed_at": (run.finished_at or run.created_at).isoformat(),
    }


def run_url(run_id: int) -> str:
    """The run page's address: absolute with TRIBUTARY_PUBLIC_URL (a worker has no request
    to take the host from), else the path alone."""
    return f"{settings.PUBLIC_URL}{reverse('runtime:run-detail', args=[run_id])}"


def _from_error_flow(run: Run) -> bool:
    """Whether ``run``, or a run that called it, was started by an error flow's trigger."""
    current: Run | None = run
    for _ in range(GUARD_DEPTH):
        if current is None:
            return False
        if current.trigger_kind == ERROR_TRIGGER_KIND:
            return True
        if current.parent_step_id is None:
            return False
        current = Run.objects.filter(steps__pk=current.parent_step_id).first()
    return True  # deeper than any legal call chain: assume the worst
