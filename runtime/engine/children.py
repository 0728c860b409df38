"""Steps that wait for child runs, without holding a worker, durably.

The life of a step that waits for child runs (``flow.call``; a for-each, whose items are
child runs that runtime.engine.items starts a window at a time):

1. Its kind raises ``WaitForChildren([ChildSpec, ...])``. Kinds never touch the database:
   the recorder (runtime.engine.record) creates the child runs (runtime.engine.spawn) in
   the transaction that records the attempt, after locking the step row and checking the
   attempt's claim, so a redelivered message or a late worker can never create them twice.
   The step is parked as WAITING with ``wake_at`` NULL, which is what "waiting for
   children" means (a delay or a retry backoff always has a ``wake_at``; neither the
   claim nor the wake-up sweep ever takes a WAITING step without one).
2. Each child is an ordinary run (``Run.parent_step``, ``parent_round``, ``item_index``,
   ``depth``). When one finishes — succeeded, failed or cancelled — ``child_finished`` runs
   in the transaction that finished it: it locks the parent step's row (so two siblings
   finishing together serialize, and the second sees the first as finished), and if no
   child is still open it moves the step to QUEUED and sends it after commit.
3. The step runs again; the engine reads its children's outcomes into ``ctx.children``
   (``outcomes``), in item order, and the kind turns them into its output or an error.
   ``parent_round`` is the step's failure count when it asked: a retry after a failure
   asks anew and sees only its own round's children.

Recovery: a wake-up sent after commit but lost (worker SIGKILLed) is a QUEUED step that
``recovery.requeue_lost_messages`` re-sends; a step left WAITING although no child is open
is woken by ``recovery.wake_stranded_parents``. A parent step that ends without success
abandons its open children: when its run is cancelled or fails (the step is cancelled),
or when the step itself fails while children are open (a fire-and-forget call whose
worker was lost too often; a for-each that fails on one item while others run). Either
way a task sent after commit cancels them at once and, should that be lost,
``recovery.cancel_orphaned_children``: children whose parent step ended without success
are cancelled, and each cancelled child does the same to its own children. (A skipped
step never started, so it has no children to abandon.) It is done
after commit, not in the parent's transaction, because a finishing child locks its own
run and then the parent step, and the parent must never take those locks the other way
round.

Scale (for-each, up to 10,000 children with a concurrency window): a called flow's child
pays one indexed query here (open siblings are counted through a partial index holding
open children only). A for-each item (a child with a ``scope``) does not even count: the
loop's counters live on its step row, read with the row lock, so runtime.engine.items
counts it, starts the next item in order and says when the step wakes, without scanning
its siblings. The outcomes are read once, in one query, when the step wakes.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from runtime.engine import items, sql
from runtime.engine.dispatch import enqueue_steps, send_task_after_commit
from runtime.engine.status import RunStatus, StepStatus
from runtime.kinds.contract import ChildOutcome
from runtime.live import publish
from runtime.models import Run, StepRun

logger = logging.getLogger(__name__)
CANCEL_CHILDREN = "runtime.tasks.cancel_children"
# A child that may still change: it holds its parent step waiting.
RUN_OPEN = (RunStatus.QUEUED, RunStatus.PENDING, RunStatus.RUNNING)
# A parent step in one of these ended without its children: they are cancelled.
STEP_ABANDONED = (StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.SKIPPED)


def child_finished(run: Run) -> None:
    """``run`` just left the open statuses (the caller holds its row lock): wake its
    parent step if it was the last open child. Takes the parent step's row lock."""
    parent_id = run.parent_step_id
    if parent_id is None:
        return
    row = sql.lock_step(parent_id)
    if row is None:
        return  # the parent's run was pruned
    status, wake_at, timeout, queue, parent_run_id, node_id, failures, *counts = row
    if status != StepStatus.WAITING or wake_at is not None:
        return  # fired and forgotten, cancelled, or already woken
    if run.scope:
        if run.parent_round != failures or counts[0] is None:
            return  # an item of an earlier round (the step retried meanwhile)
        if not items.item_finished(run, parent_id, parent_run_id, counts):
            return
    elif Run.objects.filter(parent_step_id=parent_id, status__in=RUN_OPEN).exists():
        return
    moved = sql.step_transition(
        StepStatus.QUEUED,
        {"queued_at": timezone.now()},
        "id = %s AND wake_at IS NULL",
        [parent_id],
    )
    if moved:
        enqueue_steps([(parent_id, timeout, queue)])
        publish.publish_step_state(
            run_id=parent_run_id, step_id=parent_id, node_id=node_id, status=StepStatus.QUEUED
        )


def outcomes(step: StepRun) -> tuple[list[ChildOutcome], bool]:
    """The children of the step's current round in item order, and whether any of them
    used secrets (then so does whatever the step makes of them)."""
    rows = (
        Run.objects.filter(parent_step_id=step.pk, parent_round=step.failures)
        .order_by("item_index", "id")
        .values_list("id", "flow_id", "status", "output", "error", "item_index", "uses_secrets")
    )
    found = [
        ChildOutcome(
            run_id=run_id,
            flow_id=flow_id,
            status=status,
            output=output,
            error=error,
            item_index=item_index,
        )
        for run_id, flow_id, status, output, error, item_index, _ in rows
    ]
    return found, any(row[-1] for row in rows)


def cancel_after_commit(run_id: int, step_id: int | None = None) -> None:
    """Step ``step_id`` of run ``run_id`` ended without success (None: the run ended, look
    at all of its steps that did): if any of them still has open children, have a worker
    cancel them once this commits (see the module docstring for why not here). The
    scheduler's sweep does it should the message be lost. One indexed query: open children
    are few and held in a partial index."""
    open_children = Run.objects.filter(status__in=RUN_OPEN)
    if step_id is None:
        found = open_children.filter(
            parent_step__run_id=run_id, parent_step__status__in=STEP_ABANDONED
        )
    else:
        found = open_children.filter(parent_step_id=step_id)
    if found.exists():
        send_task_after_commit(
            CANCEL_CHILDREN, run_id, otherwise=f"the scheduler will cancel run #{run_id}'s children"
        )
