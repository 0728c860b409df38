"""Moving a run forward after a step settles: queue what became ready, skip what cannot
run, and finish the run when nothing is left. Callers hold the run's row lock
(``sql.lock_run``), which serializes every advance of one run, so two parents finishing
at once cannot both miss (or both queue) their join.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from designer.graph import Graph
from runtime.engine import children, concurrency, failures, graphs, inline, planner, sql
from runtime.engine.dispatch import enqueue_steps
from runtime.engine.inline import Ready
from runtime.engine.status import RUN_FINISHED, STEP_OPEN, RunStatus, StepStatus
from runtime.live import publish
from runtime.models import Run, StepRun

Rows = dict[str, Ready]  # node id -> (step run id, timeout in seconds, queue)


def advance_run(
    run: Run, graph: Graph, new: tuple[Rows, dict[str, planner.State]] | None = None
) -> None:
    """Apply the engine's plan to the run's steps; finish the run when all are done.

    ``new`` is the step rows and states of a run just created in this transaction: they
    need no reading back, and their first moves need no announcing (nobody can be
    watching a run that did not exist; a page that opens it later reads its state).
    """
    if run.status in RUN_FINISHED:
        return
    rows: Rows = {}
    states: dict[str, planner.State] = {}
    if new is not None:
        rows, states = dict(new[0]), dict(new[1])
    else:
        for step_id, node_id, status, handle, timeout, queue in sql.step_states(run.pk):
            rows[node_id] = (step_id, timeout, queue)
            states[node_id] = planner.State(status, handle)
    plan = planner.plan(graph, states)
    now = timezone.now()
    if plan.skipped:
        _move(run, plan.skipped, StepStatus.SKIPPED, finished_at=now)
        states.update({n: planner.State(StepStatus.SKIPPED) for n in plan.skipped})
    if plan.ready:
        _move(run, plan.ready, StepStatus.QUEUED, queued_at=now)
        states.update({n: planner.State(StepStatus.QUEUED) for n in plan.ready})
        enqueue_steps(
            (rows[node_id] for node_id in plan.ready),
            # Only a step's own finishing hands its child over; a run just created (its
            # trigger "finished" in the creating transaction) queues as always.
            inline=set()
            if new is not None
            else {
                rows[node_id][0]
                for node_id in plan.ready
                if inline.eligible(graph, node_id, rows[node_id][2])
            },
        )
    for node_id in [] if new else plan.skipped + plan.ready:
        publish.publish_step_state(
            run_id=run.pk, step_id=rows[node_id][0], node_id=node_id, status=states[node_id].status
        )
    if planner.is_finished(states):
        _succeed(run, graph)


def _move(run: Run, node_ids: list[str], to: StepStatus, **fields: Any) -> None:
    sql.step_transition(
        to,
        fields,
        f"run_id = %s AND node_id IN ({sql.placeholders(node_ids)})",
        [run.pk, *node_ids],
    )


def _succeed(run: Run, graph: Graph) -> None:
    outputs = sql.step_outputs(run.pk, statuses=[StepStatus.SUCCEEDED])
    output, now = planner.run_output(graph, outputs), timezone.now()
    if sql.run_transition(run.pk, RunStatus.SUCCEEDED, {"output": output, "finished_at": now}):
        run.status, run.output, run.finished_at = RunStatus.SUCCEEDED, output, now
        publish.publish_run(run)
        # Before _release: a parent step's row lock is always taken before a concurrency
        # key's lock (runtime.engine.children), never the other way round.
        children.child_finished(run)
        _release(run)


def fail_run(run: Run, error: str) -> None:
    """End the run as failed: its unfinished steps are cancelled (a running one notices at
    its next heartbeat and stops)."""
    end_run(run, RunStatus.FAILED, error)


def end_run(run: Run, status: RunStatus, error: str) -> None:
    now = timezone.now()
    started = run.started_at or now
    if not sql.run_transition(
        run.pk, status, {"error": error, "finished_at": now, "started_at": started}
    ):
        return  # already finished: nothing to cancel or announce
    run.status, run.error, run.finished_at, run.started_at = status, error, now, started
    open_steps = StepRun.objects.filter(run=run, status__in=STEP_OPEN).order_by()
    cancelled = list(open_steps.values_list("pk", flat=True))
    if cancelled:
        sql.step_transition(
            StepStatus.CANCELLED,
            {"finished_at": now, "claim": None, "lease_expires_at": None},
            f"id IN ({sql.placeholders(cancelled)})",
            cancelled,
        )
    for step in StepRun.objects.filter(pk__in=cancelled):
        publish.publish_step(step, flow_id=run.flow_id)
    publish.publish_run(run)
    # Run-wide, not only the steps cancelled here: a step that failed and ended the run
    # may have children open too (runtime.engine.children).
    children.cancel_after_commit(run.pk)
    children.child_finished(run)
    _release(run)
    if status == RunStatus.FAILED:
        failures.after_commit(run)  # its error flow and alert, once this commits


def mark_started(run: Run) -> None:
    """The first claimed step moves a pending run to running (once: a conditional update)."""
    now = timezone.now()
    if sql.run_transition(run.pk, RunStatus.RUNNING, {"started_at": now}):
        run.status, run.started_at = RunStatus.RUNNING, now
        publish.publish_run(run)


# ---------------------------------------------------------------------------------------
# Concurrency limits (runtime.engine.concurrency): admitting queued runs.


def start_run(run: Run, graph: Graph, new: tuple[Rows, dict[str, planner.State]]) -> None:
    """Start a run just created in this transaction: at once without a concurrency limit,
    else when admitted (it was created queued and may wait for a slot). Announces it."""
    if run.concurrency_limit is None:
        publish.publish_run(run, new=True)
        advance_run(run, graph, new)
        return
    admitted = concurrency.admit(run.flow_id, run.concurrency_key)
    if run.pk in admitted:
        run.status = RunStatus.PENDING
    publish.publish_run(run, new=True)
    if run.pk in admitted:
        advance_run(run, graph, new)
    _start_admitted([run_id for run_id in admitted if run_id != run.pk])


def admit_queued(flow_id: int, key: str) -> int:
    """Admit and start what the free slots of ``(flow, key)`` allow (the scheduler's sweep).
    Call inside a transaction. Returns how many runs were admitted."""
    admitted = concurrency.admit(flow_id, key)
    _start_admitted(admitted)
    return len(admitted)


def _release(run: Run) -> None:
    """A run left the live statuses: its slot may admit the next queued run."""
    if run.concurrency_limit is not None:
        _start_admitted(concurrency.admit(run.flow_id, run.concurrency_key))


def _start_admitted(run_ids: list[int]) -> None:
    """Queue the first steps of runs ``concurrency.admit`` just moved to pending (their row
    locks are held by that update, as advance_run requires)."""
    admitted = Run.objects.filter(pk__in=run_ids).select_related("flow", "version")
    for run in admitted.order_by("pk"):  # oldest first, as they were admitted
        publish.publish_run(run)
        advance_run(run, graphs.scoped(run.version, run.scope))
