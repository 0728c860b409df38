"""For-each items as child runs (runtime.engine.children explains children in general).

Each item runs the loop's body as a child run of the loop's step: the same flow version,
``scope`` = the loop's node id, ``item_index`` = its position, its input
``{"item": ..., "index": ...}``. The loop's kind asks for the first window (its
concurrency); from then on the engine keeps the window full here, in the transaction that
finishes an item, under the loop step's row lock: it counts the item on the step row and
starts the next one in order, read from the item list stored as the step's input. The
step is woken when every item finished, or, with ``on_item_failure: fail``, at the first
failed one (its open siblings are then cancelled after commit, and no more start).

Item runs never take a concurrency slot of the flow (they belong to a run that has one)
and are not announced as new runs: nobody can be watching a run that did not exist.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from designer.models import FlowVersion
from runtime.engine import graphs, queues, sql
from runtime.engine.dispatch import enqueue_steps, send_task_after_commit
from runtime.engine.status import RunStatus, StepStatus
from runtime.kinds.contract import ChildSpec
from runtime.live import publish
from runtime.models import Run, StepRun
from runtime.replay.loops import loop_replay, replay_items
from runtime.tracing import spans

logger = logging.getLogger(__name__)
CANCEL_ITEMS = "runtime.tasks.cancel_items"
# At most one progress frame per loop step this often (seconds); the final one always.
PROGRESS_EVERY = 0.25
_last_progress: dict[int, float] = {}


@dataclass(frozen=True)
class Loop:
    """A loop step's round, and what its item runs share."""

    step_id: int
    round: int
    run_id: int  # the run holding the loop step
    flow_id: int
    version: FlowVersion
    is_test: bool
    depth: int  # of the item runs
    scope: str  # the loop's node id
    # The loop step's span (runtime.tracing): each item's steps are traced under it.
    trace_parent: str = ""
    # The loop's run is a replay (runtime.replay): so is each item, standing in for the
    # replayed run's item of the same index.
    replay: dict[str, Any] | None = None


def start_window(step: StepRun, run: Run, specs: Sequence[ChildSpec]) -> None:
    """Start the first items the loop asked for. Caller: the recorder, holding the run's
    and the step's locks, after spawn checked the depth."""
    loop = Loop(
        step_id=step.pk,
        round=step.failures,
        run_id=run.pk,
        flow_id=run.flow_id,
        version=run.version,
        is_test=run.is_test,
        depth=run.depth + 1,
        scope=specs[0].scope,
        trace_parent=spans.current_parent(),  # the recorder runs under the step's span
        replay=loop_replay(run.replay, started_by_loop_run=True),
    )
    start_items(loop, [(spec.item_index or 0, spec.input) for spec in specs])


def counters(total: int, started: int) -> dict[str, Any]:
    """The step row's counters of a round that just started ``started`` of ``total``."""
    return {"items_total": total, "items_started": started, "items_done": 0, "items_failed": 0}


def start_items(loop: Loop, items: Sequence[tuple[int, Any]]) -> None:
    """Create the item runs of ``items`` ((index, item) pairs) with their body's step
    rows in two statements, the entry steps queued after commit."""
    body = graphs.scoped(loop.version, loop.scope)
    ready = set(body.roots())  # a body's entry steps: ready as the item starts
    origin = f"item of run #{loop.run_id}"
    now = timezone.now()
    replays = replay_items(loop.replay, loop.scope, [index for index, _ in items])
    runs = Run.objects.bulk_create(
        [
            Run(
                flow_id=loop.flow_id,
                version=loop.version,
                # Running from the start: the loop started it, and its first claim need
                # not move it (one statement and one frame less per item).
                status=RunStatus.RUNNING,
                started_at=now,
                trigger_kind="foreach",
                trigger_node=loop.scope,
                input={"item": item, "index": index},
                origin=origin,
                is_test=loop.is_test,
                parent_step_id=loop.step_id,
                parent_round=loop.round,
                item_index=index,
                scope=loop.scope,
                depth=loop.depth,
                trace_parent=loop.trace_parent,
                replay=replays.get(index),
            )
            for index, item in items
        ]
    )
    steps = StepRun.objects.bulk_create(
        [
            StepRun(
                run=run,
                node_id=node_id,
                kind=node.type,
                status=StepStatus.QUEUED if node_id in ready else StepStatus.PENDING,
                queued_at=now if node_id in ready else None,
                timeout_seconds=node.settings.timeout_seconds,
                queue=queues.for_node(node, body),
            )
            for run in runs
            for node_id, node in body.nodes.items()
        ]
    )
    enqueue_steps(
        (s.pk, s.timeout_seconds, s.queue) for s in steps if s.status == StepStatus.QUEUED
    )


def item_finished(run: Run, step_id: int, parent_run_id: int, counts: Sequence[int]) -> bool:
    """Item run ``run`` of the waiting loop step ``step_id`` just finished (the caller
    holds both rows' locks and checked the round): count it, start the next item if the
    loop goes on, publish progress. Returns whether the step must wake now."""
    total, started, done, failed = counts
    item_failed = run.status != RunStatus.SUCCEEDED
    done, failed = done + 1, failed + item_failed
    node = graphs.graph_of(run.version).nodes[run.scope]
    stop = item_failed and node.config.get("on_item_failure", "fail") == "fail"
    following = started if not stop and started < total else None
    if following is not None:
        started += 1
    item = sql.step_counts(step_id, started=started, done=done, failed=failed, item=following)
    if following is not None:
        _start_next(run, step_id, parent_run_id, following, item)
    wake = stop or done == total
    progress = publish.progress(total, started, done, failed)
    publish_progress(run, parent_run_id, step_id, progress, final=wake)
    if stop and started > done:
        # The loop step fails once woken; the scheduler then cancels its open items.
        send_task_after_commit(
            CANCEL_ITEMS, step_id, otherwise=f"loop step #{step_id}'s items wait for the sweep"
        )
    return wake


def _start_next(run: Run, step_id: int, parent_run_id: int, index: int, item: Any) -> None:
    """Start item ``index`` (``item``) of the loop that ``run`` (a sibling) belongs to."""
    loop = Loop(
        step_id=step_id,
        round=run.parent_round,
        run_id=parent_run_id,
        flow_id=run.flow_id,
        version=run.version,
        is_test=run.is_test,
        depth=run.depth,
        scope=run.scope,
        trace_parent=run.trace_parent,  # the loop step's, as every item has
        replay=loop_replay(run.replay, started_by_loop_run=False),
    )
    start_items(loop, [(index, item)])


def publish_progress(
    run: Run, parent_run_id: int, step_id: int, progress: dict[str, int], *, final: bool
) -> None:
    """A frame for the loop's live views, at most every PROGRESS_EVERY seconds per step
    in this process (10,000 items would be 10,000 frames), and always the final one."""
    now = time.monotonic()
    if not final and now - _last_progress.get(step_id, 0.0) < PROGRESS_EVERY:
        return
    if final:
        _last_progress.pop(step_id, None)
    else:
        if len(_last_progress) > 1000:
            _last_progress.clear()
        _last_progress[step_id] = now
    publish.publish_step_progress(
        run_id=parent_run_id,
        flow_id=run.flow_id,
        step_id=step_id,
        node_id=run.scope,
        progress=progress,
    )
