"""Save-time checks of flow.call nodes against the workspace: the callee exists here, the
version that will be called starts 'When called by another flow', the input names its
declared fields (all required ones, no unknown one), and no call cycle is visible.

A cycle is visible when following calls from the version being saved — each callee's live
version, or the pinned one — leads back to the flow being saved, called live (the version
being saved is the one expected to go live; a pinned older version is followed as
stored). Calls the designer cannot see (a version published later) are cut at run time by
TRIBUTARY_MAX_CALL_DEPTH.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from designer.graph import Graph, Node, Problem
from designer.models import Flow, FlowVersion
from runtime.engine import graphs
from runtime.triggers import called

MAX_VISITS = 1000  # flows followed while looking for a cycle; a sane workspace needs few
Target = tuple[int, int | None]  # (flow id, pinned version number or None for live)


def problems(
    nodes: Sequence[Node], graph: Graph, *, workspace_id: int, flow_id: int | None
) -> Iterator[Problem]:
    for node in nodes:
        found = list(_callee_problems(node, workspace_id))
        yield from found
        if not found and flow_id is not None:
            yield from _cycle_problems(node, graph, workspace_id, flow_id)


def _callee_problems(node: Node, workspace_id: int) -> Iterator[Problem]:
    callee_id, pinned = node.config["flow"], node.config.get("version")
    flow = Flow.objects.filter(pk=callee_id, workspace_id=workspace_id).first()
    if flow is None:
        yield Problem(
            f"There is no flow #{callee_id} in this workspace.", node=node.id, field="config.flow"
        )
        return
    version = _version(flow, pinned)
    if version is None:
        missing = f"no version {pinned}" if pinned else "no live version (publish it, or pin one)"
        field = "config.version" if pinned else "config.flow"
        yield Problem(f"{flow.name} has {missing}.", node=node.id, field=field)
        return
    trigger = called.called_node(graphs.graph_of(version))
    if trigger is None:
        yield Problem(
            f"Version {version.number} of {flow.name} cannot be called: give it a "
            f"'{called.KIND.label}' trigger.",
            node=node.id,
            field="config.flow",
        )
        return
    yield from _input_problems(node, flow.name, called.fields_of(trigger))


def _input_problems(
    node: Node, callee: str, fields: Sequence[Mapping[str, Any]]
) -> Iterator[Problem]:
    given = node.config.get("input", {})
    declared = {spec["name"]: spec for spec in fields}
    for name, spec in declared.items():
        if spec.get("required") and name not in given:
            yield Problem(
                f"{callee} requires the input field {name!r}.",
                node=node.id,
                field=f"config.input.{name}",
            )
    if not declared:
        return  # a callee that declares nothing takes any object
    for name in given:
        if name not in declared:
            yield Problem(
                f"{callee} has no input field {name!r}; it takes {sorted(declared)}.",
                node=node.id,
                field=f"config.input.{name}",
            )


def _cycle_problems(node: Node, graph: Graph, workspace_id: int, flow_id: int) -> Iterator[Problem]:
    start: Target = (node.config["flow"], node.config.get("version"))
    path = _path_back(start, graph, workspace_id, flow_id)
    if path is not None:
        names = _names([flow_id, *path])
        yield Problem(
            f"This call makes a cycle: {' → '.join(names)}. A flow may not call itself, "
            "directly or through other flows.",
            node=node.id,
            field="config.flow",
        )


def _path_back(start: Target, graph: Graph, workspace_id: int, flow_id: int) -> list[int] | None:
    """The flows from ``start`` back to ``flow_id`` called live, depth first, or None."""
    stack: list[tuple[Target, list[int]]] = [(start, [start[0]])]
    seen: set[Target] = set()
    while stack and len(seen) < MAX_VISITS:
        target, path = stack.pop()
        if target == (flow_id, None):
            return path
        if target in seen:
            continue
        seen.add(target)
        for callee in _calls(target, graph, workspace_id, flow_id):
            stack.append((callee, [*path, callee[0]]))
    return None


def _calls(target: Target, saved: Graph, workspace_id: int, flow_id: int) -> list[Target]:
    """What the version ``target`` names calls (the graph being saved for its own flow)."""
    if target[0] == flow_id and target[1] is None:
        graph: Graph | None = saved
    else:
        flow = Flow.objects.filter(pk=target[0], workspace_id=workspace_id).first()
        version = _version(flow, target[1]) if flow else None
        graph = graphs.graph_of(version) if version else None
    if graph is None:
        return []
    return [
        (n.config["flow"], n.config.get("version"))
        for n in graph.nodes.values()
        if n.type == "flow.call" and isinstance(n.config.get("flow"), int)
    ]


def _version(flow: Flow, pinned: int | None) -> FlowVersion | None:
    if pinned is None:
        return flow.live_version
    return FlowVersion.objects.filter(flow=flow, number=pinned).first()


def _names(flow_ids: list[int]) -> list[str]:
    names = dict(Flow.objects.filter(pk__in=flow_ids).values_list("pk", "name"))
    return [names.get(flow_id, f"flow #{flow_id}") for flow_id in flow_ids]
