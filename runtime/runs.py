"""Starting, cancelling, re-running and retrying runs: below every trigger kind, which
import it to start their runs. Callers have checked the user's permission."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from designer.graph import Graph, json_problem, text_problem
from designer.models import Flow, FlowVersion
from runtime.engine import advance, concurrency, graphs, planner, queues, sql
from runtime.engine.status import RUN_FINISHED, RunStatus, StepStatus
from runtime.kinds import templating
from runtime.models import Run, StepRun
from runtime.tracing import spans


class AlreadyStarted(Exception):
    """A delivery with an idempotency key that already started ``run``."""

    def __init__(self, run: Run):
        self.run = run
        super().__init__(f"Already started as run #{run.pk}")


@dataclass(frozen=True)
class ChildOf:
    """Where a child run hangs (runtime.engine.children): the step that asked for it, that
    step's round, the item it runs, and how deep it is nested."""

    parent_step_id: int
    parent_round: int
    depth: int
    item_index: int | None = None
    scope: str = ""


class RunRefused(Exception):
    """A run cannot be started or changed as asked; the message says why, ``field`` where."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


def run_start(
    *,
    flow: Flow,
    version: FlowVersion,
    payload: Any,
    trigger_node: str | None = None,
    trigger_kind: str | None = None,
    started_by: User | None = None,
    origin: str = "",
    is_test: bool = False,
    reuse: Mapping[str, StepRun] | None = None,
    rerun_of: Run | None = None,
    idempotency_key: str = "",
    child: ChildOf | None = None,
    traceparent: str = "",
    replay: dict[str, Any] | None = None,
    replay_batch: Any = None,
) -> Run:
    """Record a run and its steps, then queue the first steps once that is committed.

    ``payload`` is the fired trigger's output (``event["trigger"]``). ``reuse`` carries
    succeeded steps of an earlier run whose outputs this run keeps (retry from failed).
    With an ``idempotency_key`` this trigger already saw, raises AlreadyStarted with the
    original run instead (safe under concurrent duplicates: the unique index makes all
    but the first wait, then fail). ``child`` makes it a child run of a step.
    ``traceparent``: the W3C header of the request that started it, continued by the
    run's trace when tracing is on (runtime.tracing.spans). ``replay`` and
    ``replay_batch`` make it a replay (runtime.replay).
    """
    graph = graphs.graph_of(version)
    trigger_node = trigger_node or first_trigger(flow, version)
    if trigger_node not in graph.nodes or not graph.nodes[trigger_node].is_trigger:
        raise RunRefused(
            f"{trigger_node!r} is not a trigger of version {version.number}.", field="trigger"
        )
    check_payload(payload)
    kind = trigger_kind or graph.nodes[trigger_node].type.removeprefix("trigger.")
    limit, key = _concurrency(graph, payload)
    with (
        spans.run_span(
            caller=traceparent,
            flow_id=flow.pk,
            flow_name=flow.name,
            version=version.number,
            trigger=kind,
        ) as span,
        transaction.atomic(),
    ):
        run = _create_run(
            flow=flow,
            version=version,
            trigger_kind=kind,
            trigger_node=trigger_node,
            input=payload,
            started_by=started_by,
            origin=origin,
            is_test=is_test,
            rerun_of=rerun_of,
            idempotency_key=idempotency_key,
            # Kept outputs of steps that used secrets still do (runtime.disclosure).
            uses_secrets=any(step.uses_secrets for step in (reuse or {}).values()),
            # Limited runs start queued; advance.start_run admits them if a slot is free.
            status=RunStatus.PENDING if limit is None else RunStatus.QUEUED,
            concurrency_limit=limit,
            concurrency_key=key,
            trace_parent=span.traceparent,
            replay=replay,
            replay_batch=replay_batch,
            **(asdict(child) if child else {}),
        )
        span.set("tributary.run.id", run.pk)
        steps = _create_steps(run, graph, trigger_node, payload, reuse or {})
        advance.start_run(run, graph, steps)
    return run


def _concurrency(graph: Graph, payload: Any) -> tuple[int | None, str]:
    """The run's concurrency limit (None: none) and its rendered key; refuses the run if
    the key template fails on this input, rather than guess which runs it competes with."""
    setting = graph.settings.concurrency
    if setting is None or not setting.key:
        return (None if setting is None else setting.limit), ""
    try:
        key = templating.render(setting.key, {"event": {"trigger": payload}}).strip()
    except templating.TemplateProblem as exc:
        raise RunRefused(
            f"The concurrency key could not be computed: {exc}", field="settings.concurrency.key"
        ) from None
    problem = text_problem(key)
    if problem:
        raise RunRefused(
            f"The concurrency key contains {problem}.", field="settings.concurrency.key"
        )
    if len(key) > concurrency.MAX_KEY_LENGTH:
        raise RunRefused(
            f"The concurrency key is {len(key):,} characters; the limit is "
            f"{concurrency.MAX_KEY_LENGTH}.",
            field="settings.concurrency.key",
        )
    return setting.limit, key


def _create_run(**fields: Any) -> Run:
    """Insert the run; with an idempotency key this trigger already saw, raise
    AlreadyStarted with the original run. Only then is a savepoint needed (the unique
    index's violation must not abort the outer transaction): two statements saved on
    every other start."""
    run = Run(**fields)
    if not fields["idempotency_key"]:
        sql.insert([run])
        return run
    try:
        with transaction.atomic():
            sql.insert([run])
            return run
    except IntegrityError:
        raise AlreadyStarted(
            Run.objects.get(
                flow=fields["flow"],
                trigger_node=fields["trigger_node"],
                idempotency_key=fields["idempotency_key"],
            )
        ) from None


def first_trigger(flow: Flow, version: FlowVersion) -> str:
    for node in graphs.graph_of(version).nodes.values():
        if node.is_trigger:
            return node.id
    raise RunRefused(f"Version {version.number} of {flow.name} has no trigger.")


def check_payload(payload: Any, *, what: str = "The input", field: str = "input") -> None:
    """Refuse an input that cannot be stored (NUL, NaN, absurd nesting) or is too large;
    the RunRefused names ``field``, the request's name for it."""
    problem = json_problem(payload, what=what, max_depth=200)
    if problem:
        raise RunRefused(problem, field=field)
    size = len(json.dumps(payload, separators=(",", ":")))
    if size > settings.TRIBUTARY_MAX_OUTPUT_BYTES:
        raise RunRefused(
            f"{what} is {size:,} bytes; the limit is {settings.TRIBUTARY_MAX_OUTPUT_BYTES:,}.",
            field=field,
        )


def _create_steps(
    run: Run, graph: Graph, trigger_node: str, payload: Any, reuse: Mapping[str, StepRun]
) -> tuple[advance.Rows, dict[str, planner.State]]:
    """Insert the run's step rows; returns their ids and states for advance_run (both
    PostgreSQL and SQLite hand back the new ids from bulk_create)."""
    now = timezone.now()
    # One row per step of the run's top level: a for-each's body steps run in child runs.
    states = planner.initial_states(graph, trigger_node)
    rows = []
    for node_id in states:
        node = graph.nodes[node_id]
        row = StepRun(
            run=run,
            node_id=node_id,
            kind=node.type,
            status=states[node_id].status,
            timeout_seconds=node.settings.timeout_seconds,
            queue=queues.for_node(node, graph),
        )
        if node_id == trigger_node:
            row.output, row.started_at, row.finished_at = payload, now, now
        elif row.status == StepStatus.SKIPPED:
            row.finished_at = now
        elif node_id in reuse:
            earlier = reuse[node_id]
            row.status, row.reused = StepStatus.SUCCEEDED, True
            row.output, row.handle, row.input = earlier.output, earlier.handle, earlier.input
            row.logs, row.attempt = earlier.logs, earlier.attempt
            row.uses_secrets = earlier.uses_secrets
            row.started_at, row.finished_at = earlier.started_at, earlier.finished_at
            states[node_id] = planner.State(StepStatus.SUCCEEDED, earlier.handle)
        rows.append(row)
    sql.insert(rows)
    return {row.node_id: (row.pk, row.timeout_seconds, row.queue) for row in rows}, states


def run_cancel(*, run: Run, user: User) -> Run:
    """Cancel an unfinished run: open steps are cancelled; a running step notices at its
    next heartbeat and stops (a code step's sandbox is killed)."""
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if locked.status in RUN_FINISHED:
            raise RunRefused(f"Run #{run.pk} already finished ({locked.status}).")
        advance.end_run(locked, RunStatus.CANCELLED, f"Cancelled by {user.get_username()}.")
    return locked


def run_rerun(*, run: Run, user: User, on_live: bool = False, payload: Any = None) -> Run:
    """Start the run again from its trigger with the same (or an edited) input, on its own
    version or the flow's live one."""
    _refuse_item(run)
    version = _target_version(run, on_live)
    return run_start(
        flow=run.flow,
        version=version,
        payload=run.input if payload is None else payload,
        trigger_node=run.trigger_node
        if run.trigger_node in graphs.graph_of(version).nodes
        else None,
        trigger_kind=run.trigger_kind,
        started_by=user,
        origin=f"re-run of #{run.pk}",
        is_test=run.is_test,
        rerun_of=run,
    )


def run_retry(*, run: Run, user: User, on_live: bool = False) -> Run:
    """Retry a failed run from its failed step(s): a new run that keeps the outputs of the
    steps that succeeded (matched by node id) and runs the rest, on the run's version or on
    the live one (e.g. after fixing the code)."""
    _refuse_item(run)
    if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        raise RunRefused(
            f"Only failed or cancelled runs can be retried; #{run.pk} is {run.status}."
        )
    version = _target_version(run, on_live)
    graph = graphs.graph_of(version)
    if run.trigger_node not in graph.nodes:
        raise RunRefused(
            f"Version {version.number} no longer has the trigger "
            f"{run.trigger_node!r}; re-run it instead."
        )
    succeeded = run.steps.filter(status=StepStatus.SUCCEEDED).exclude(node_id=run.trigger_node)
    reuse = {step.node_id: step for step in succeeded if step.node_id in graph.nodes}
    return run_start(
        flow=run.flow,
        version=version,
        payload=run.input,
        trigger_node=run.trigger_node,
        trigger_kind=run.trigger_kind,
        started_by=user,
        origin=f"retry of #{run.pk}",
        is_test=run.is_test,
        reuse=reuse,
        rerun_of=run,
    )


def _target_version(run: Run, on_live: bool) -> FlowVersion:
    if not on_live:
        return run.version
    if run.flow.live_version is None:
        raise RunRefused(
            f"{run.flow.name} has no live version; publish one first.", field="version"
        )
    return run.flow.live_version


def _refuse_item(run: Run) -> None:
    """An item run of a for-each cannot start on its own: it is the loop's to start."""
    if run.scope:
        raise RunRefused(
            f"Run #{run.pk} is one item of the for-each {run.scope!r}; re-run or retry the "
            "run that holds the loop instead."
        )
