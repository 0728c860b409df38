"""Creating the child runs a step asked for (runtime.engine.children explains the whole).

Called by the recorder inside the transaction that records the attempt, holding the
parent run's lock and the step's row lock, after it checked the attempt still owns the
step: so children are created exactly once per round, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from designer.models import Flow, FlowVersion
from runtime.engine import graphs, items
from runtime.kinds.contract import ChildSpec
from runtime.models import Run, StepRun
from runtime.runs import ChildOf, RunRefused, run_start
from runtime.triggers import called

MAX_CHAIN_SHOWN = 12


class ChildRefused(Exception):
    """A child cannot be started; the message is the calling step's error."""


def start_children(step: StepRun, run: Run, specs: Sequence[ChildSpec]) -> str | None:
    """Start every child of ``specs`` for ``step`` of ``run``; all or none. Returns why
    none was started (the step then fails, naming it), or None."""
    if specs and specs[0].scope:  # a for-each's first items
        problem = _too_deep(run, f"the items of {step.node_id}")
        if problem is None:
            items.start_window(step, run, specs)
        return problem
    try:
        with transaction.atomic():  # a savepoint: a refused child undoes its siblings
            for spec in specs:
                _start_one(step, run, spec)
    except (ChildRefused, RunRefused) as exc:
        return str(exc)
    return None


def _start_one(step: StepRun, run: Run, spec: ChildSpec) -> Run:
    flow, version = _callee(run, spec)
    graph = graphs.graph_of(version)
    trigger = called.called_node(graph)
    if trigger is None:
        raise ChildRefused(
            f"Version {version.number} of {flow.name} cannot be called: it has no "
            f"'{called.KIND.label}' trigger."
        )
    problem = called.input_problem(called.fields_of(trigger), spec.input)
    if problem:
        raise ChildRefused(f"{flow.name} refused the input: {problem}")
    problem = _too_deep(run, flow.name)
    if problem:
        raise ChildRefused(problem)
    return run_start(
        flow=flow,
        version=version,
        payload=spec.input,
        trigger_node=trigger.id,
        trigger_kind="called",
        origin=f"called by {run.flow.name} run #{run.pk}",
        is_test=run.is_test,
        child=ChildOf(
            parent_step_id=step.pk,
            parent_round=step.failures,
            depth=run.depth + 1,
            item_index=spec.item_index,
            scope=spec.scope,
        ),
    )


def _callee(run: Run, spec: ChildSpec) -> tuple[Flow, FlowVersion]:
    """The flow and version ``spec`` names, in the calling run's workspace only."""
    flow = (
        Flow.objects.filter(pk=spec.flow_id, workspace_id=run.flow.workspace_id)
        .select_related("live_version")
        .first()
    )
    if flow is None:
        raise ChildRefused(f"There is no flow #{spec.flow_id} in this workspace to call.")
    if flow.archived_at is not None:
        raise ChildRefused(f"{flow.name} is archived; restore it to call it.")
    if spec.version is None:
        if flow.live_version is None:
            raise ChildRefused(f"{flow.name} has no live version to call; publish one.")
        return flow, flow.live_version
    version = FlowVersion.objects.filter(flow=flow, number=spec.version).first()
    if version is None:
        raise ChildRefused(f"{flow.name} has no version {spec.version}.")
    return flow, version


def _too_deep(run: Run, child: str) -> str | None:
    """Why a child of ``run`` (named ``child`` in the message) may not start: it would
    nest runs deeper than TRIBUTARY_MAX_CALL_DEPTH; or None."""
    depth = run.depth + 1
    if depth <= settings.TRIBUTARY_MAX_CALL_DEPTH:
        return None
    return (
        f"Starting {child} would nest runs {depth} deep; the limit is "
        f"{settings.TRIBUTARY_MAX_CALL_DEPTH} (TRIBUTARY_MAX_CALL_DEPTH). "
        f"Call chain: {call_chain(run)} → {child}."
    )


def call_chain(run: Run) -> str:
    """'Orders #12 → Customers #13 → ...': the runs that called ``run``, outermost first
    (one query per level; only an error message pays for it)."""
    names: list[str] = []
    current: Run | None = run
    while current is not None and len(names) < MAX_CHAIN_SHOWN:
        names.append(f"{current.flow.name} #{current.pk}")
        parent_step_id = current.parent_step_id
        current = (
            Run.objects.select_related("flow").filter(steps__pk=parent_step_id).first()
            if parent_step_id
            else None
        )
    return " → ".join(reversed(names))
