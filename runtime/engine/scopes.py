"""What a step inside a for-each body sees of the runs around its item run.

An item run stores only ``{"item", "index"}`` as its input; the rest of a body step's
event is read from the runs that enclose it: ``event.trigger`` is the top-level run's
trigger payload, and ``event.steps`` holds, besides the body's own steps, the outputs
visible upstream of the loop (and of any loop around it). Those outputs are finished
before the loop starts and never change while it runs, so each process keeps them per
loop step and round: 10,000 items read them once, not 10,000 times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from designer.graph import Graph
from designer.models import FlowVersion
from runtime.engine import sql
from runtime.engine.status import StepStatus
from runtime.models import Run, StepRun

UPSTREAM_STATUSES = [StepStatus.SUCCEEDED, StepStatus.FAILED]
_KEEP = 64


@dataclass(frozen=True)
class Outer:
    """The enclosing runs' part of a body step's event."""

    trigger: Any
    outputs: dict[str, Any]
    tainted: frozenset[str]
    tainted_item: bool  # the loop step that made the items used secrets


_outer: dict[tuple[int, float, int, int], Outer] = {}


def outer_of(run: Run, graph: Graph) -> Outer:
    """The event parts of item run ``run`` that come from its enclosing runs (``graph`` is
    the whole flow's). One query per enclosing level the first time, none after."""
    assert run.parent_step_id is not None
    return _cached(run.version, run.parent_step_id, run.parent_round, graph)


def _cached(version: FlowVersion, loop_step_id: int, round_: int, graph: Graph) -> Outer:
    # With the version's identity, as engine.graphs keys it: a recreated database that
    # numbers steps from 1 again cannot hand a worker another flow's outputs.
    key = (version.pk, version.created_at.timestamp(), loop_step_id, round_)
    found = _outer.get(key)
    if found is None:
        found = _read(version, loop_step_id, graph)
        if len(_outer) > _KEEP:
            _outer.clear()
        _outer[key] = found
    return found


def _read(version: FlowVersion, loop_step_id: int, graph: Graph) -> Outer:
    step = (
        StepRun.objects.filter(pk=loop_step_id)
        .select_related("run")
        .only(
            "node_id",
            "uses_secrets",
            "run__input",
            "run__scope",
            "run__parent_step",
            "run__parent_round",
        )
        .get()
    )
    outputs, tainted = sql.step_outputs_tainted(
        step.run_id, statuses=UPSTREAM_STATUSES, nodes=sorted(graph.visible_steps(step.node_id))
    )
    if not step.run.scope:
        return Outer(step.run.input, outputs, tainted, step.uses_secrets)
    assert step.run.parent_step_id is not None
    around = _cached(version, step.run.parent_step_id, step.run.parent_round, graph)
    return Outer(
        around.trigger,
        {**around.outputs, **outputs},
        around.tainted | tainted,
        step.uses_secrets,
    )
