"""Executing one step: claim it, run its kind, and hand what happened to the recorder.

Celery delivers at least once, so the claim is a conditional UPDATE on the step's status,
and everything after it is keyed by the claim token: a duplicate message, or a worker whose
lease expired and was taken over, finds "0 rows" and walks away without writing anything.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from designer.graph import Graph, Node, json_problem
from runtime.engine import advance, children, graphs, inline, scopes, sql, waits
from runtime.engine.leases import Heartbeat, lease_deadline
from runtime.engine.reconnect import reconnecting
from runtime.engine.record import AttemptResult, cap, record
from runtime.engine.status import RunStatus, StepStatus
from runtime.kinds.catalog import step_kind
from runtime.kinds.contract import (
    StepContext,
    StepError,
    StepKind,
    Suspend,
    Wait,
    WaitForChildren,
)
from runtime.kinds.idempotency import idempotency_key
from runtime.kinds.taint import ReadSteps
from runtime.kinds.templating import TemplateProblem
from runtime.live import publish
from runtime.models import Run, StepRun
from runtime.replay import simulate
from runtime.resources.secrets import SecretBox, redact
from runtime.tracing import spans

logger = logging.getLogger(__name__)


def step_execute(step_id: int) -> None:
    """Run step ``step_id`` if it is still due, then the pure steps it made ready that may
    run in this task (runtime.engine.inline); safe to call any number of times."""
    inline.run_with_inline(step_id, _step_execute)


def _step_execute(step_id: int) -> None:
    claim = uuid.uuid4()
    now = timezone.now()
    claimed = reconnecting(
        lambda: sql.claim_step(step_id, claim, now, lease_deadline()), doing="claiming a step"
    )
    if not claimed:
        return
    step, run, graph, node = reconnecting(lambda: _load(step_id), doing="loading a step")
    if step.lost > settings.TRIBUTARY_MAX_LOST_WORKERS:
        result = AttemptResult(
            StepStatus.FAILED,
            retryable=False,
            error_type="worker_lost",
            error=(
                f"The worker running this step was lost {step.lost} times (killed, out of memory "
                "or shut down); giving up."
            ),
        )
        with spans.step_span(run=run, step=step, node=node) as span:
            span.ended(result.status, result.error)
            record(step, run, claim, graph, node, result, ctx=None)
        return
    ctx, live = reconnecting(lambda: _context(step, run, graph, node), doing="reading inputs")
    with (
        spans.step_span(
            run=run, step=step, node=node, redact=live.redact, hide_errors=ctx.uses_secrets
        ) as span,
        Heartbeat(step_id, claim, ctx.cancelled, logs=live.text),
    ):
        result = _invoke(step_kind(node.type), ctx, run.replay)
        span.ended(result.status, result.error)
        # Still under the heartbeat: if the database is away for a while, the lease must
        # outlive the wait, or another worker would run the effect again. Under the span:
        # the child runs the recorder starts continue this trace from this step.
        record(step, run, claim, graph, node, result, ctx)


def _load(step_id: int) -> tuple[StepRun, Run, Graph, Node]:
    """The claimed step, its run and node; marks the run started (once)."""
    step, run = sql.load_step(step_id)
    graph = graphs.scoped(run.version, run.scope)  # an item run plans its loop's body
    if run.status == RunStatus.PENDING:
        advance.mark_started(run)
    publish.publish_step(step, flow_id=run.flow_id)
    return step, run, graph, graph.nodes[step.node_id]


class _LiveLog:
    """The lines a code step prints, as it prints them: each is sent to the run's live
    page at once (redacted, and marked when the step uses secrets, so that a viewer's
    socket drops it) and kept, so the heartbeat can store the lines so far for a page that
    connects later."""

    def __init__(self, run_id: int, node_id: str) -> None:
        self.run_id, self.node_id = run_id, node_id
        self.lines: list[str] = []
        self.ctx: StepContext | None = None

    def __call__(self, line: str) -> None:
        ctx = self.ctx
        shown = self.redact(line)
        self.lines.append(shown)
        publish.publish_log(
            run_id=self.run_id,
            node_id=self.node_id,
            line=shown,
            index=len(self.lines) - 1,
            uses_secrets=ctx is None or ctx.uses_secrets(),
        )

    def text(self) -> str:
        return cap("\n".join(self.lines))

    def redact(self, text: str) -> str:
        """``text`` without the secrets the step read so far (its trace spans use it too)."""
        ctx = self.ctx
        if ctx and isinstance(ctx.secrets, SecretBox):
            return str(redact(text, ctx.secrets.used))
        return text


def _upstream(
    run: Run, graph: Graph, node: Node
) -> tuple[Any, dict[str, Any], frozenset[str], bool]:
    """The trigger payload, the upstream outputs templates see, those of them derived
    from secrets, and whether the loop's item is: of steps that succeeded, or failed but
    continue on failure ({"error": ...}); in a loop's body also those upstream of the
    loop, and its item (runtime.engine.scopes)."""
    outputs, tainted = sql.step_outputs_tainted(
        run.pk, statuses=scopes.UPSTREAM_STATUSES, nodes=sorted(graph.upstream(node.id))
    )
    if not run.scope:
        return run.input, outputs, tainted, False
    outer = scopes.outer_of(run, graphs.graph_of(run.version))
    return outer.trigger, outer.outputs | outputs, outer.tainted | tainted, outer.tainted_item


def _context(step: StepRun, run: Run, graph: Graph, node: Node) -> tuple[StepContext, _LiveLog]:
    trigger, outputs, tainted, tainted_item = _upstream(run, graph, node)
    loop = {"item": run.input["item"], "index": run.input["index"]} if run.scope else {}
    info = {
        "run_id": run.pk,
        "flow_id": run.flow_id,
        "flow": run.flow.name,
        "version": run.version.number,
        "node_id": node.id,
        "attempt": step.attempt,
        "trigger_kind": run.trigger_kind,
        "is_test": run.is_test,
        "idempotency_key": idempotency_key(
            run_id=run.pk, created_at=run.created_at, node_id=node.id
        ),
    }
    secrets = SecretBox(run.flow.workspace_id)
    live = _LiveLog(run.pk, node.id)
    ctx = StepContext(
        node=node,
        # Templates read event.steps through ReadSteps, so the step knows which upstream
        # outputs it read: reading one that used secrets makes it use secrets too.
        event={"trigger": trigger, "steps": ReadSteps(outputs)},
        info=info,
        secrets=secrets,
        deadline=time.monotonic() + node.settings.timeout_seconds,
        wake_at=step.wake_at,
        on_log=live,
        tainted_upstream=tainted,
        loop=loop,
        tainted_item=tainted_item,  # an item derived from secrets (the loop used them)
    )
    kind = step_kind(node.type)
    if kind.starts_children:
        ctx.children, ctx.tainted_children = children.outcomes(step)
    if kind.suspends:
        ctx.resumed = waits.resolution(step)
    live.ctx = ctx
    return ctx, live


def _invoke(kind: StepKind, ctx: StepContext, replay: dict[str, Any] | None) -> AttemptResult:
    """Run the kind; in a replay, a kind that acts on the world is rehearsed instead and its
    original output stands in (runtime.replay.simulate)."""
    try:
        if replay is not None and simulate.rehearsed(kind, ctx, replay):
            return simulate.stand_in(ctx, replay)
        outcome = kind.run(ctx)
    except Wait as wait:
        return AttemptResult(StepStatus.WAITING, wake_at=wait.until)
    except Suspend as suspended:
        return AttemptResult(
            StepStatus.WAITING, wake_at=suspended.spec.until, suspend=suspended.spec
        )
    except WaitForChildren as asked:
        return AttemptResult(
            StepStatus.WAITING, children=asked.children, wait=asked.wait, total=asked.total
        )
    except StepError as exc:
        return AttemptResult(
            StepStatus.FAILED,
            error=str(exc),
            detail=exc.detail,
            retryable=exc.retryable,
            error_type=exc.error_type,
        )
    except TemplateProblem as exc:
        return AttemptResult(
            StepStatus.FAILED,
            error=f"Template error: {exc}",
            retryable=False,
            error_type="template",
        )
    except SoftTimeLimitExceeded:
        return AttemptResult(
            StepStatus.FAILED,
            error=(f"Timed out after {ctx.node.settings.timeout_seconds:g} s."),
            error_type="timeout",
        )
    except Exception as exc:  # a bug in a kind must fail the step, not the worker
        logger.exception("Step kind %s crashed", kind.type)
        return AttemptResult(
            StepStatus.FAILED,
            error=f"Internal error in {kind.type}: {exc.__class__.__name__}: {exc}",
            error_type="internal",
        )
    problem = _output_problem(outcome.output)
    if problem:
        return AttemptResult(StepStatus.FAILED, error=problem, retryable=False, error_type="output")
    return AttemptResult(StepStatus.SUCCEEDED, output=outcome.output, handle=outcome.handle)


def _output_problem(output: Any) -> str | None:
    problem = json_problem(output, what="The step's output", max_depth=200)
    if problem:
        return problem
    size = len(json.dumps(output, separators=(",", ":")))
    limit = settings.TRIBUTARY_MAX_OUTPUT_BYTES
    if size > limit:
        return f"The step's output is {size:,} bytes; the limit is {limit:,}."
    return None
