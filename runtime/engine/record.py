"""Recording how a step attempt ended, and moving its run on.

What an attempt produced becomes the step's new state in one transaction that holds the
run's row lock: success, a retry after a backoff (waiting), a wait (a delay), or a failure
that either ends the run or lets it go on: with "continue on failure" along the step's
edges, with an error path along its ``error`` edges (failed-and-handled: handle "error",
output ``{"error": {"message", "type", "attempt"}}``). The update is
conditional on the attempt's claim token, so a worker whose lease was taken over, or a
step cancelled meanwhile, records nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from designer.graph import ERROR_HANDLE, Graph, Node
from runtime.engine import advance, children, items, planner, spawn, sql, waits
from runtime.engine.dispatch import enqueue_steps
from runtime.engine.reconnect import reconnecting
from runtime.engine.status import StepStatus
from runtime.kinds.contract import ChildSpec, StepContext, WaitSpec
from runtime.live import publish
from runtime.models import Run, StepRun
from runtime.resources.secrets import SecretBox, redact

MAX_BACKOFF_SECONDS = 3600
_CLAIM = sql.column(StepRun, "claim")


@dataclass
class AttemptResult:
    """How one attempt of a step ended, before the retry policy decides what it means."""

    status: StepStatus
    output: Any = None
    handle: str | None = None
    error: str = ""
    detail: str = ""
    retryable: bool = True
    # What kind of failure, as an error path reads it (event.steps.<id>.error.type):
    # "timeout", "http_status", "template", "step_error"...
    error_type: str = "step_error"
    wake_at: datetime | None = None
    # Child runs the step asked for (runtime.engine.children), and whether it waits for
    # them (parked until they finish) or not (queued again at once).
    children: list[ChildSpec] | None = None
    wait: bool = True
    total: int | None = None  # a for-each: how many items the children are the first of
    suspend: WaitSpec | None = None  # what a paused step waits for (runtime.engine.waits)


def record(
    step: StepRun,
    run: Run,
    claim: uuid.UUID,
    graph: Graph,
    node: Node,
    result: AttemptResult,
    ctx: StepContext | None,
) -> None:
    """Store ``result`` as the step's new state and advance or end the run, if the step
    still belongs to ``claim``. Takes the run's row lock; publishes after commit. A lost
    database connection is survived (runtime.engine.reconnect): the step is recorded once,
    not left to its lease and run again."""
    used = ctx.secrets.used if ctx is not None and isinstance(ctx.secrets, SecretBox) else {}
    target, fields = _outcome_fields(step, node, result, used, graph.handles_errors(node.id))
    if ctx is not None:
        fields["input"] = redact(ctx.input, used)
        fields["logs"] = cap(redact("\n".join(ctx.logs), used))
        # Sticky: what an earlier attempt stored (an error, a log) may stay shown.
        fields["uses_secrets"] = step.uses_secrets or ctx.uses_secrets()
    asked = result.children  # the step then waits for them (or fired and forgot them)
    if asked is not None and result.total is not None:
        fields |= items.counters(result.total, len(asked))
    reconnecting(
        lambda: _store(step, run, claim, graph, node, target, fields, asked, result.suspend),
        doing="recording a step",
    )


def _store(
    step: StepRun,
    run: Run,
    claim: uuid.UUID,
    graph: Graph,
    node: Node,
    target: StepStatus,
    fields: dict[str, Any],
    asked: list[ChildSpec] | None = None,
    suspend: WaitSpec | None = None,
) -> None:
    """The transaction of ``record``; may run again after a lost connection, so it sets
    the same values each time and reads anything else from the locked run."""
    with transaction.atomic():
        sql.lock_run(run)
        if asked is not None:
            spawned, fields = _spawn(step, run, claim, graph, node, target, fields, asked)
            if spawned is None:
                return  # not ours any more: someone else records this step
            target = spawned
        if suspend is not None:
            paused = _suspend(step, run, claim, target, fields, suspend)
            if paused is None:
                return  # not ours any more: someone else records this step
            target, fields = paused
        mine = [step.pk, sql.prep(_CLAIM, claim)]
        if not sql.step_transition(target, fields, "id = %s AND claim = %s", mine):
            return  # cancelled meanwhile, taken over after our lease expired, or recorded
        for name, value in fields.items():  # what the row now holds, without re-reading it
            setattr(step, name, value)
        step.status = target
        if step.uses_secrets and not run.uses_secrets:
            sql.run_update(run.pk, {"uses_secrets": True})
            run.uses_secrets = True
        publish.publish_step(step, flow_id=run.flow_id)
        if target == StepStatus.QUEUED:  # fired and forgot its children, or what it waits
            # for came before it paused: runs again now
            enqueue_steps([(step.pk, node.settings.timeout_seconds, step.queue)])
        if target == StepStatus.FAILED and planner.is_fatal(graph, node.id, target):
            advance.fail_run(run, f"{node.name} failed: {step.error}")  # cancels its children
        elif target in (StepStatus.SUCCEEDED, StepStatus.FAILED):
            # Continues on failure or takes its error path: its open children do not go on.
            if target == StepStatus.FAILED:
                children.cancel_after_commit(run.pk, step.pk)
            advance.advance_run(run, graph)


def _suspend(
    step: StepRun,
    run: Run,
    claim: uuid.UUID,
    target: StepStatus,
    fields: dict[str, Any],
    spec: WaitSpec,
) -> tuple[StepStatus, dict[str, Any]] | None:
    """Record what the paused step waits for, while the attempt owns it (None when it does
    not). What it waits for may be there already (a resume call, a kept event): then the
    step is queued to run again at once instead of parked."""
    if not sql.step_owned(step.pk, claim):
        return None
    if waits.suspend(step, run, spec) is None:
        return target, fields
    return StepStatus.QUEUED, fields | {"queued_at": timezone.now(), "wake_at": None}


def _spawn(
    step: StepRun,
    run: Run,
    claim: uuid.UUID,
    graph: Graph,
    node: Node,
    target: StepStatus,
    fields: dict[str, Any],
    asked: list[ChildSpec],
) -> tuple[StepStatus | None, dict[str, Any]]:
    """Create the children the attempt asked for, once: only while the attempt owns the
    step (its row stays locked, so no takeover can slip in). ``(None, fields)`` when it
    does not; the step's failure when a child is refused (not retried: a missing flow or
    the depth limit does not heal by waiting)."""
    if not sql.step_owned(step.pk, claim):
        return None, fields
    problem = spawn.start_children(step, run, asked)
    if problem is None:
        return target, fields
    failed = AttemptResult(StepStatus.FAILED, error=problem, retryable=False)
    status, failure = _outcome_fields(step, node, failed, {}, graph.handles_errors(node.id))
    return status, fields | failure


def _outcome_fields(
    step: StepRun, node: Node, result: AttemptResult, used: dict[str, str], handled: bool
) -> tuple[StepStatus, dict[str, Any]]:
    """The step's new status and row fields; ``handled``: it has an error path to take
    when this attempt fails for good."""
    now = timezone.now()
    done = {"claim": None, "lease_expires_at": None}
    if result.status == StepStatus.SUCCEEDED:
        return StepStatus.SUCCEEDED, done | {
            "output": redact(result.output, used),
            "handle": result.handle or "",
            "error": "",
            "error_detail": "",
            "finished_at": now,
            "wake_at": None,
        }
    if result.children is not None and not result.wait:
        return StepStatus.QUEUED, done | {"queued_at": now, "wake_at": None}
    if result.status == StepStatus.WAITING:
        # Waiting for children has no wake_at: only their end wakes it.
        return StepStatus.WAITING, done | {"wake_at": result.wake_at}
    error, detail = redact(result.error, used), redact(result.detail, used)
    failures = step.failures + 1
    if result.retryable and failures <= node.settings.retries:
        return StepStatus.WAITING, done | {
            "failures": failures,
            "error": error,
            "error_detail": detail,
            "wake_at": now + timedelta(seconds=backoff(node, failures)),
        }
    output: Any = {"error": error} if node.settings.continue_on_failure else None
    if handled:
        output = {"error": {"message": error, "type": result.error_type, "attempt": failures}}
    return StepStatus.FAILED, done | {
        "failures": failures,
        "error": error,
        "error_detail": detail,
        "output": output,
        "handle": ERROR_HANDLE if handled else "",
        "finished_at": now,
    }


def backoff(node: Node, failures: int) -> float:
    """Seconds before retry number ``failures``: doubling from the node's first delay,
    with ±25% jitter so that many runs failing together do not retry in lockstep."""
    base = node.settings.retry_backoff_seconds * 2 ** (failures - 1)
    return min(MAX_BACKOFF_SECONDS, base * random.uniform(0.75, 1.25))  # noqa: S311 - jitter


def cap(text: str) -> str:
    """``text`` cut to TRIBUTARY_MAX_LOG_BYTES, saying how much was left out."""
    limit = settings.TRIBUTARY_MAX_LOG_BYTES
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit:,} more characters not kept]"
