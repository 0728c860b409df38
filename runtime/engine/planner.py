"""The planner: pure functions over a graph and the state of its steps that say which
steps are ready, which are skipped, whether the run is over and what it produced.

Semantics: a step runs when every parent has finished and at least one incoming edge is
*active* — its parent succeeded (or failed with "continue on failure") and, for a branch,
took that edge's handle. A step whose parents have all finished with no active edge is
skipped, which cascades; so a join runs when any branch reached it and is skipped only
when none did.

Error paths: a step with edges from its ``error`` output that fails for good is recorded
failed with handle "error" (failed-and-handled, ``runtime.engine.record``): then only its
error edges are active and its other edges skip their side; a step that succeeded never
activates its error edges. Such a failure is not fatal: the run ends as its error path
does.

Only the nodes of one level are steps: a run plans the flow's top level, where a for-each
is one step and its body is not there at all; a child run of a loop plans that body
(``Graph.body``, through ``runtime.engine.graphs.scoped``), whose entry steps are
ready at once (the item is their input).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from designer.graph import ERROR_HANDLE, Graph
from runtime.engine.status import STEP_FINISHED, StepStatus


@dataclass(frozen=True)
class State:
    status: str
    handle: str = ""


@dataclass
class Plan:
    ready: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def topological_order(graph: Graph) -> list[str]:
    graph = graph.top_level()
    indegree = {node_id: len(graph.incoming(node_id)) for node_id in graph.nodes}
    ready = [node_id for node_id in graph.nodes if indegree[node_id] == 0]
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for edge in graph.outgoing(current):
            indegree[edge.target] -= 1
            if indegree[edge.target] == 0:
                ready.append(edge.target)
    return order


def initial_states(graph: Graph, trigger_node: str) -> dict[str, State]:
    """The fired trigger has succeeded (its output is the run's input); other triggers are
    skipped; every step of the top level is pending (body steps are not the run's)."""
    states = {}
    for node_id, node in graph.top_level().nodes.items():
        if node_id == trigger_node:
            states[node_id] = State(StepStatus.SUCCEEDED)
        elif node.is_trigger:
            states[node_id] = State(StepStatus.SKIPPED)
        else:
            states[node_id] = State(StepStatus.PENDING)
    return states


def plan(graph: Graph, states: Mapping[str, State]) -> Plan:
    """Pending steps that become ready or skipped given ``states``. Skips cascade, so the
    walk follows topological order and sees its own decisions. ``graph`` is a flow (its
    top level is planned) or a body from ``Graph.body``."""
    current = dict(states)
    result = Plan()
    for node_id in topological_order(graph):
        if current[node_id].status != StepStatus.PENDING:
            continue
        parents = graph.incoming(node_id)
        if not parents and graph.scope is not None:
            result.ready.append(node_id)  # a body's entry step: the item is its input
            current[node_id] = State(StepStatus.QUEUED)
            continue
        if not parents or any(current[e.source].status not in STEP_FINISHED for e in parents):
            continue
        if any(_active(graph, e.source, e.source_handle, current) for e in parents):
            result.ready.append(node_id)
            current[node_id] = State(StepStatus.QUEUED)
        else:
            result.skipped.append(node_id)
            current[node_id] = State(StepStatus.SKIPPED)
    return result


def _active(graph: Graph, source: str, handle: str | None, states: Mapping[str, State]) -> bool:
    state = states[source]
    if state.status == StepStatus.FAILED:
        if state.handle == ERROR_HANDLE:  # failed into its error path: only that side goes on
            return handle == ERROR_HANDLE
        return handle is None and graph.nodes[source].settings.continue_on_failure
    if state.status != StepStatus.SUCCEEDED or handle == ERROR_HANDLE:
        return False
    return handle is None or handle == state.handle


def is_fatal(graph: Graph, node_id: str, status: str) -> bool:
    """A failure that ends the run: the step neither continues on failure nor has an
    error path to take."""
    if status != StepStatus.FAILED:
        return False
    return not (graph.nodes[node_id].settings.continue_on_failure or graph.handles_errors(node_id))


def is_finished(states: Mapping[str, State]) -> bool:
    return all(state.status in STEP_FINISHED for state in states.values())


def run_output(graph: Graph, outputs: Mapping[str, Any]) -> Any:
    """What a finished run produced: the output of its one succeeded sink (a step with no
    outgoing edge but error edges: a step that succeeded did not take those), or
    ``{node_id: output}`` when several sinks succeeded."""
    graph = graph.top_level()
    sinks = [
        node_id
        for node_id in topological_order(graph)
        if node_id in outputs
        and all(edge.source_handle == ERROR_HANDLE for edge in graph.outgoing(node_id))
    ]
    if len(sinks) == 1:
        return outputs[sinks[0]]
    return {node_id: outputs[node_id] for node_id in sinks}
