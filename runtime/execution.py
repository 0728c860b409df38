"""Executing one step: claim it, run its kind, record what happened, advance the run.

Celery delivers at least once, so every write is a conditional UPDATE on the step's status
and claim token. A duplicate message, or a worker whose lease expired and was taken over,
finds "0 rows" and walks away without writing anything.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import DEFERRED, F, Model, Q
from django.utils import timezone

from designer.graph import Graph, Node, json_problem
from designer.models import Flow, FlowVersion
from runtime import advance, engine, realtime
from runtime.catalog import step_kind
from runtime.heartbeat import Heartbeat, lease_deadline
from runtime.kinds import StepContext, StepError, StepKind, Wait
from runtime.models import Run, StepRun
from runtime.secrets import SecretBox, redact
from runtime.status import RUN_LIVE, RunStatus, StepStatus
from runtime.templating import TemplateProblem

logger = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 3600


@dataclass
class Result:
    status: StepStatus
    output: Any = None
    handle: str | None = None
    error: str = ""
    detail: str = ""
    retryable: bool = True
    wake_at: datetime | None = None


def step_execute(step_id: int) -> None:
    """Run step ``step_id`` if it is still due; safe to call any number of times."""
    claim = uuid.uuid4()
    if not _claim(step_id, claim):
        return
    step, run = _load(step_id)
    graph = engine.graph_of(run.version)
    node = graph.nodes[step.node_id]
    if run.status == RunStatus.PENDING:
        advance.mark_started(run)
    realtime.publish_step(step, flow_id=run.flow_id)
    if step.lost > settings.TRIBUTARY_MAX_LOST_WORKERS:
        result = Result(
            StepStatus.FAILED,
            retryable=False,
            error=(
                f"The worker running this step was lost {step.lost} times (killed, out of memory "
                "or shut down); giving up."
            ),
        )
        _record(step, run, claim, graph, node, result, ctx=None)
        return
    ctx = _context(step, run, graph, node)
    with Heartbeat(step_id, claim, ctx.cancelled):
        result = _invoke(step_kind(node.type), ctx)
    _record(step, run, claim, graph, node, result, ctx)


# What a claimed step needs of itself, its run, flow and version, read in one query. The
# version's graph is not among them: graph_of() keeps each parsed version per process.
M = TypeVar("M", bound=Model)
_STEP = ("id", "run_id", "node_id", "status", "attempt", "failures", "lost", "wake_at")
_STEP += ("started_at", "finished_at", "error")
_RUN = ("id", "flow_id", "version_id", "status", "input", "trigger_kind", "is_test")
_RUN += ("error", "created_at", "started_at", "finished_at")
_FLOW = ("id", "name", "workspace_id")
_VERSION = ("id", "flow_id", "number", "created_at")
_LOAD = (
    [*_STEP]
    + [f"run__{name}" for name in _RUN]
    + [f"run__flow__{name}" for name in _FLOW]
    + [f"run__version__{name}" for name in _VERSION]
)


def _load(step_id: int) -> tuple[StepRun, Run]:
    """The step and its run as model instances holding only what execution uses; any
    other field is deferred (read on access), never silently empty."""
    row = StepRun.objects.filter(pk=step_id).order_by().values_list(*_LOAD).get()
    values = iter(row)
    step, run, flow, version = (
        _partial(model, {name: next(values) for name in names})
        for model, names in (
            (StepRun, _STEP),
            (Run, _RUN),
            (Flow, _FLOW),
            (FlowVersion, _VERSION),
        )
    )
    run.flow, run.version, step.run = flow, version, run
    return step, run


def _partial(model: type[M], values: dict[str, Any]) -> M:
    fields = model._meta.concrete_fields
    row = [values.get(field.attname, DEFERRED) for field in fields]
    return model.from_db("default", [field.attname for field in fields], row)


def _claim(step_id: int, claim: uuid.UUID) -> bool:
    """Take the step: queued, or waiting and due, or running on an expired lease."""
    now = timezone.now()
    # The run condition is a subquery on Run alone: a join would make Django move every
    # condition, the step's status included, into a subquery that PostgreSQL does not
    # re-check after waiting for a concurrent claim's row lock, and both would win.
    live_runs = Run.objects.filter(status__in=RUN_LIVE)
    due = StepRun.objects.filter(pk=step_id, run_id__in=live_runs.values("pk"))
    fields = {
        "claim": claim,
        "lease_expires_at": lease_deadline(),
        "started_at": now,
        "finished_at": None,
        "attempt": F("attempt") + 1,
    }
    if due.filter(
        Q(status=StepStatus.QUEUED) | Q(status=StepStatus.WAITING, wake_at__lte=now)
    ).transition(StepStatus.RUNNING, **fields):
        return True
    # The worker that held it stopped renewing its lease: it is gone.
    return bool(
        due.filter(status=StepStatus.RUNNING, lease_expires_at__lt=now).transition(
            StepStatus.RUNNING, lost=F("lost") + 1, **fields
        )
    )


def _context(step: StepRun, run: Run, graph: Graph, node: Node) -> StepContext:
    upstream = graph.upstream(node.id)
    outputs = dict(
        StepRun.objects.filter(run=run, node_id__in=upstream, output__isnull=False)
        .exclude(status=StepStatus.CANCELLED)
        .order_by()  # the default ordering ("run") would join runtime_run for nothing
        .values_list("node_id", "output")
    )
    info = {
        "run_id": run.pk,
        "flow_id": run.flow_id,
        "flow": run.flow.name,
        "version": run.version.number,
        "node_id": node.id,
        "attempt": step.attempt,
        "trigger_kind": run.trigger_kind,
        "is_test": run.is_test,
    }

    secrets = SecretBox(run.flow.workspace_id)

    def on_log(line: str) -> None:
        # Streamed before the step ends, so redacted here: a viewer of the live page must
        # not see a secret the code printed (the stored logs are redacted in _record).
        realtime.publish_log(run_id=run.pk, node_id=node.id, line=redact(line, secrets.used))

    return StepContext(
        node=node,
        event={"trigger": run.input, "steps": outputs},
        info=info,
        secrets=secrets,
        deadline=time.monotonic() + node.settings.timeout_seconds,
        wake_at=step.wake_at,
        on_log=on_log,
    )


def _invoke(kind: StepKind, ctx: StepContext) -> Result:
    try:
        outcome = kind.run(ctx)
    except Wait as wait:
        return Result(StepStatus.WAITING, wake_at=wait.until)
    except StepError as exc:
        return Result(StepStatus.FAILED, error=str(exc), detail=exc.detail, retryable=exc.retryable)
    except TemplateProblem as exc:
        return Result(StepStatus.FAILED, error=f"Template error: {exc}", retryable=False)
    except SoftTimeLimitExceeded:
        return Result(
            StepStatus.FAILED, error=(f"Timed out after {ctx.node.settings.timeout_seconds:g} s.")
        )
    except Exception as exc:  # a bug in a kind must fail the step, not the worker
        logger.exception("Step kind %s crashed", kind.type)
        return Result(
            StepStatus.FAILED,
            error=f"Internal error in {kind.type}: {exc.__class__.__name__}: {exc}",
        )
    problem = _output_problem(outcome.output)
    if problem:
        return Result(StepStatus.FAILED, error=problem, retryable=False)
    return Result(StepStatus.SUCCEEDED, output=outcome.output, handle=outcome.handle)


def _output_problem(output: Any) -> str | None:
    problem = json_problem(output, what="The step's output", max_depth=200)
    if problem:
        return problem
    size = len(json.dumps(output, separators=(",", ":")))
    limit = settings.TRIBUTARY_MAX_OUTPUT_BYTES
    if size > limit:
        return f"The step's output is {size:,} bytes; the limit is {limit:,}."
    return None


def _record(
    step: StepRun,
    run: Run,
    claim: uuid.UUID,
    graph: Graph,
    node: Node,
    result: Result,
    ctx: StepContext | None,
) -> None:
    used = ctx.secrets.used if ctx is not None and isinstance(ctx.secrets, SecretBox) else {}
    target, fields = _outcome_fields(step, node, result, used)
    if ctx is not None:
        fields["input"] = redact(ctx.input, used)
        fields["logs"] = _cap(redact("\n".join(ctx.logs), used))
    with transaction.atomic():
        # The run's row lock serializes every advance of this run (see runtime.advance).
        locked = Run.objects.select_for_update().filter(pk=run.pk)
        run.status, run.error, run.finished_at = locked.values_list(
            "status", "error", "finished_at"
        ).get()
        moved = StepRun.objects.filter(pk=step.pk, claim=claim).transition(target, **fields)
        if not moved:
            return  # cancelled meanwhile, or taken over after our lease expired
        for name, value in fields.items():  # what the row now holds, without re-reading it
            if not hasattr(value, "resolve_expression"):
                setattr(step, name, value)
        step.status = target
        realtime.publish_step(step, flow_id=run.flow_id)
        if target == StepStatus.FAILED and engine.is_fatal(graph, node.id, target):
            advance.fail_run(run, f"{node.name} failed: {step.error}")
        elif target in (StepStatus.SUCCEEDED, StepStatus.FAILED):
            advance.advance_run(run, graph)


def _outcome_fields(
    step: StepRun, node: Node, result: Result, used: dict[str, str]
) -> tuple[StepStatus, dict[str, Any]]:
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
    if result.status == StepStatus.WAITING:
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
    output = {"error": error} if node.settings.continue_on_failure else None
    return StepStatus.FAILED, done | {
        "failures": failures,
        "error": error,
        "error_detail": detail,
        "output": output,
        "finished_at": now,
    }


def backoff(node: Node, failures: int) -> float:
    """Seconds before retry number ``failures``: doubling from the node's first delay,
    with ±25% jitter so that many runs failing together do not retry in lockstep."""
    base = node.settings.retry_backoff_seconds * 2 ** (failures - 1)
    return min(MAX_BACKOFF_SECONDS, base * random.uniform(0.75, 1.25))  # noqa: S311 - jitter


def _cap(text: str) -> str:
    limit = settings.TRIBUTARY_MAX_LOG_BYTES
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit:,} more characters not kept]"
