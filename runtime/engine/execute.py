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
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from designer.graph import Graph, Node, json_problem
from designer.models import Flow, FlowVersion
from runtime import advance, engine, realtime, sql
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
    ctx, live = _context(step, run, graph, node)
    with Heartbeat(step_id, claim, ctx.cancelled, logs=live.text):
        result = _invoke(step_kind(node.type), ctx)
    _record(step, run, claim, graph, node, result, ctx)


# What a claimed step needs of itself, its run, flow and version, read in one query. The
# version's graph is not among them: graph_of() keeps each parsed version per process.
_LOADED: sql.Columns = [
    (StepRun, "s", ("id", "run", "node_id", "status", "attempt", "failures", "lost", "wake_at")),
    (StepRun, "s", ("started_at", "finished_at", "error")),
    (Run, "r", ("id", "flow", "version", "status", "input", "trigger_kind", "is_test", "error")),
    (Run, "r", ("created_at", "started_at", "finished_at")),
    (Flow, "f", ("id", "name", "workspace")),
    (FlowVersion, "v", ("id", "flow", "number", "created_at")),
]
_LOAD_COLUMNS, _LOAD_FIELDS = sql.select_list(_LOADED)
_LOAD_SQL = (
    f"SELECT {_LOAD_COLUMNS} FROM {StepRun._meta.db_table} s"
    f" JOIN {Run._meta.db_table} r ON r.id = s.run_id"
    f" JOIN {Flow._meta.db_table} f ON f.id = r.flow_id"
    f" JOIN {FlowVersion._meta.db_table} v ON v.id = r.version_id"
    " WHERE s.id = %s"
)


def _load(step_id: int) -> tuple[StepRun, Run]:
    """The step and its run as model instances holding only what execution uses; any
    other field is deferred (read on access), never silently empty."""
    (row,) = sql.fetch(_LOAD_SQL, [step_id], _LOAD_FIELDS)
    values = sql.by_model(_LOAD_FIELDS, row)
    step, run = sql.partial(StepRun, values[StepRun]), sql.partial(Run, values[Run])
    run.flow = sql.partial(Flow, values[Flow])
    run.version = sql.partial(FlowVersion, values[FlowVersion])
    step.run = run
    return step, run


_CLAIM_SQL = f"""
UPDATE {StepRun._meta.db_table}
SET status = %s, claim = %s, lease_expires_at = %s, started_at = %s, finished_at = NULL,
    attempt = attempt + 1,
    lost = lost + CASE WHEN status = %s THEN 1 ELSE 0 END
WHERE id = %s
  AND run_id IN (SELECT id FROM {Run._meta.db_table} WHERE status IN (%s, %s))
  AND (status = %s
       OR (status = %s AND wake_at <= %s)
       OR (status = %s AND lease_expires_at < %s))
"""


_STARTED_AT, _LEASE = sql.column(StepRun, "started_at"), sql.column(StepRun, "lease_expires_at")
_CLAIM = sql.column(StepRun, "claim")


def _claim(step_id: int, claim: uuid.UUID) -> bool:
    """Take the step: queued, or waiting and due, or running on an expired lease (its
    worker stopped renewing it: it is gone, and ``lost`` counts that).

    The step's own conditions sit on the updated table itself, so when two deliveries
    race, PostgreSQL re-checks them on the row the winner left behind and the loser
    updates nothing.
    """
    at = sql.prep(_STARTED_AT, timezone.now())
    return bool(
        sql.execute(
            _CLAIM_SQL,
            [
                StepStatus.RUNNING,
                sql.prep(_CLAIM, claim),
                sql.prep(_LEASE, lease_deadline()),
                at,
                StepStatus.RUNNING,
                step_id,
                *sorted(RUN_LIVE),
                StepStatus.QUEUED,
                StepStatus.WAITING,
                at,
                StepStatus.RUNNING,
                at,
            ],
        )
    )


class _LiveLog:
    """The lines a code step prints, as it prints them: each is sent to the run's live
    page at once (redacted: a viewer must not see a secret the code printed) and kept, so
    the heartbeat can store the lines so far for a page that connects later."""

    def __init__(self, run_id: int, node_id: str, secrets: SecretBox) -> None:
        self.run_id, self.node_id, self.secrets = run_id, node_id, secrets
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        shown = redact(line, self.secrets.used)
        self.lines.append(shown)
        realtime.publish_log(
            run_id=self.run_id, node_id=self.node_id, line=shown, index=len(self.lines) - 1
        )

    def text(self) -> str:
        return _cap("\n".join(self.lines))


def _context(step: StepRun, run: Run, graph: Graph, node: Node) -> tuple[StepContext, _LiveLog]:
    outputs = _upstream_outputs(run.pk, graph.upstream(node.id))
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
    live = _LiveLog(run.pk, node.id, secrets)
    ctx = StepContext(
        node=node,
        event={"trigger": run.input, "steps": outputs},
        info=info,
        secrets=secrets,
        deadline=time.monotonic() + node.settings.timeout_seconds,
        wake_at=step.wake_at,
        on_log=live,
    )
    return ctx, live


_OUTPUT_FIELDS = [sql.column(StepRun, "node_id"), sql.column(StepRun, "output")]


def _upstream_outputs(run_id: int, nodes: set[str]) -> dict[str, Any]:
    if not nodes:
        return {}
    upstream = sorted(nodes)
    rows = sql.fetch(
        f"SELECT node_id, output FROM {StepRun._meta.db_table} WHERE run_id = %s"
        f" AND node_id IN ({sql.placeholders(upstream)})"
        " AND output IS NOT NULL AND status <> %s",
        [run_id, *upstream, StepStatus.CANCELLED],
        _OUTPUT_FIELDS,
    )
    return dict(rows)


_LOCK_FIELDS = [sql.column(Run, name) for name in ("status", "error", "finished_at")]


def _lock_run(run: Run) -> None:
    """Take the run's row lock, which serializes every advance of this run (see
    runtime.advance), and refresh what may have changed meanwhile (a cancel)."""
    (row,) = sql.fetch(
        f"SELECT status, error, finished_at FROM {Run._meta.db_table} WHERE id = %s"
        + sql.for_update(),
        [run.pk],
        _LOCK_FIELDS,
    )
    run.status, run.error, run.finished_at = row


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
        _lock_run(run)
        mine = [step.pk, sql.prep(_CLAIM, claim)]
        if not sql.step_transition(target, fields, "id = %s AND claim = %s", mine):
            return  # cancelled meanwhile, or taken over after our lease expired
        for name, value in fields.items():  # what the row now holds, without re-reading it
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
