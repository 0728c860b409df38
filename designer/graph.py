"""The flow graph: the one contract between the designer and the runtime.

A graph is JSON (it is also the import/export format)::

    {"nodes": [{"id": "order", "type": "trigger.webhook", "name": "New order",
                "config": {}, "position": {"x": 0, "y": 0}},
               {"id": "notify", "type": "code.python", "name": "Build email",
                "config": {"source": "def handler(event, context): ..."},
                "settings": {"timeout_seconds": 30, "retries": 2}}],
     "edges": [{"source": "order", "target": "notify"}],
     "settings": {"concurrency": {"limit": 3}}}

(``settings`` is optional: flow-level settings, see ``designer.flow_settings``.)

A node may carry ``"parent": "<id of a flow.foreach>"``: it is then a step of that
for-each's body, not of the run, and its ``position`` is relative to the container's
top-left corner (``designer.graph_groups`` holds the rules and the slicing). Graphs without
``parent`` read exactly as before.

``parse_graph`` checks every rule and returns an immutable ``Graph`` or raises
``GraphInvalid`` listing every problem, each naming its node and field. It is pure: the
node kinds (their config schemas and extra checks) are passed in as a catalog, so this
module knows nothing about what any kind does.

``load_stored_graph`` reads a graph that ``parse_graph`` accepted when it was saved (a
stored, immutable version) without judging it again: schemas may tighten later, and an
old version must stay runnable forever.

Trigger kinds are named ``trigger.<kind>`` (the catalog's tests hold every kind to it), so
a stored graph knows its triggers without asking the catalog.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from jsonschema import Draft202012Validator

from designer.flow_settings import (
    QUEUE_PATTERN,
    FlowSettings,
    TemplateCheck,
    load_flow_settings,
    parse_flow_settings,
)
from designer.graph_groups import FOREACH_TYPE, chain, group_problems, level

# Re-exported: callers check run inputs and outputs with the graph's own JSON rules.
from designer.json_values import json_problem as json_problem
from designer.json_values import text_problem as text_problem
from designer.schema_errors import schema_errors

NODE_ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
TRIGGER_PREFIX = "trigger."
MAX_NAME_LENGTH = 200
# The output every step has besides its kind's own: taken when the step fails for good
# (after its retries), instead of ending the run. Triggers have none.
ERROR_HANDLE = "error"

# Engine settings every step node may carry; the defaults apply when a key is absent.
SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeout_seconds": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 3600,
            "default": 60,
            "title": "Timeout (seconds)",
        },
        "retries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 20,
            "default": 0,
            "title": "Retries",
        },
        "retry_backoff_seconds": {
            "type": "number",
            "minimum": 0,
            "maximum": 3600,
            "default": 2,
            "title": "First retry after (seconds)",
            "description": "Doubles on every attempt, with jitter.",
        },
        "continue_on_failure": {
            "type": "boolean",
            "default": False,
            "title": "Continue on failure",
            "description": (
                'Treat a failure as an output ({"error": ...}) and go on. A step with an '
                "error path follows that instead."
            ),
        },
        "queue": {
            "type": "string",
            "pattern": QUEUE_PATTERN,
            "title": "Queue",
            "description": (
                "The worker queue this step runs on, instead of its kind's (light, io, "
                "compute) or the flow's; the operator declares other queues."
            ),
        },
        "sample_output": {
            "title": "Sample output for replays",
            "x-widget": "json",
            "description": (
                "What a replay uses for this step's output when the run it replays never "
                "reached it (its effects are not performed in a replay)."
            ),
        },
    },
}


@dataclass(frozen=True)
class Problem:
    """One reason a graph is refused, aimed at a node (and a field) when it concerns one."""

    message: str
    node: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"node": self.node, "field": self.field, "message": self.message}


class GraphInvalid(Exception):
    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"The graph has {count} problem{'s' if count != 1 else ''}.")


@dataclass(frozen=True)
class StepSettings:
    timeout_seconds: float = 60
    retries: int = 0
    retry_backoff_seconds: float = 2
    continue_on_failure: bool = False
    sample_output: Any = None
    queue: str = ""  # "": the flow's queue, else the kind's (runtime.engine.queues)


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    name: str
    config: Mapping[str, Any]
    position: tuple[float, float] = (0, 0)
    settings: StepSettings = field(default_factory=StepSettings)
    raw_settings: Mapping[str, Any] = field(default_factory=dict)
    parent: str | None = None  # the flow.foreach whose body holds this node

    @property
    def is_trigger(self) -> bool:
        return self.type.startswith(TRIGGER_PREFIX)

    @property
    def is_foreach(self) -> bool:
        return self.type == FOREACH_TYPE

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "config": dict(self.config),
            "position": {"x": self.position[0], "y": self.position[1]},
        }
        if self.raw_settings:
            data["settings"] = dict(self.raw_settings)
        if self.parent is not None:
            data["parent"] = self.parent
        return data


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    source_handle: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source, "target": self.target}
        if self.source_handle is not None:
            data["sourceHandle"] = self.source_handle
        return data


class NodeKind(Protocol):
    """What the catalog knows about a node type; implemented by the runtime's kinds."""

    type: ClassVar[str]
    category: ClassVar[Literal["trigger", "step"]]
    config_schema: ClassVar[dict[str, Any]]
    # Named outputs (a branch has "true" and "false"); empty means one unnamed output.
    handles: ClassVar[tuple[str, ...]]

    def check(self, nodes: Sequence[Node], graph: Graph) -> Iterable[Problem]:
        """Checks beyond the JSON schema (code parses, cron is valid...), for all nodes of
        this kind in one call so a kind can batch expensive work."""
        ...


@dataclass(frozen=True)
class Graph:
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]
    settings: FlowSettings = field(default_factory=FlowSettings)
    # None: the whole flow. A for-each's id: the body graph that ``body()`` returned.
    scope: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nodes": [node.as_json() for node in self.nodes.values()],
            "edges": [edge.as_json() for edge in self.edges],
        }
        settings = self.settings.as_json()
        if settings:
            data["settings"] = settings
        return data

    def incoming(self, node_id: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.target == node_id]

    def outgoing(self, node_id: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.source == node_id]

    def handles_errors(self, node_id: str) -> bool:
        """Whether ``node_id`` has an error path (an edge from its ``error`` output)."""
        return any(edge.source_handle == ERROR_HANDLE for edge in self.outgoing(node_id))

    def upstream(self, node_id: str) -> set[str]:
        """Every node with a path to ``node_id`` (its ancestors)."""
        seen: set[str] = set()
        stack = [edge.source for edge in self.incoming(node_id)]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(edge.source for edge in self.incoming(current))
        return seen

    def top_level(self) -> Graph:
        """The steps of the run itself: nodes in no body (in a body graph: all of them).
        A for-each is one step here. Graphs without bodies return themselves."""
        # A frozen dataclass still has a __dict__: versions are parsed once per process
        # (runtime.engine.graphs) and the planner asks for this on every advance.
        cached = self.__dict__.get("_top_level")
        if cached is None:
            cached = self
            if any(node.parent != self.scope for node in self.nodes.values()):
                nodes, edges = level(self.nodes, self.edges, self.scope)
                cached = Graph(nodes=nodes, edges=edges, settings=self.settings, scope=self.scope)
            self.__dict__["_top_level"] = cached
        return cached

    def body(self, foreach_id: str) -> Graph:
        """The body of ``foreach_id``: its steps and the edges among them, as one child run
        of the loop plans it. Its roots (steps with no incoming edge) are the body's entry
        steps; a nested for-each is one step of it (ask this graph for its body). Raises
        KeyError when ``foreach_id`` is not a for-each of this graph."""
        if foreach_id not in self.nodes or not self.nodes[foreach_id].is_foreach:
            raise KeyError(foreach_id)
        bodies = self.__dict__.setdefault("_bodies", {})  # every item's claim asks for it
        if foreach_id not in bodies:
            nodes, edges = level(self.nodes, self.edges, foreach_id)
            bodies[foreach_id] = Graph(
                nodes=nodes, edges=edges, settings=self.settings, scope=foreach_id
            )
        return bodies[foreach_id]

    def roots(self) -> list[str]:
        """Nodes with no incoming edge: the triggers of a flow, the entry steps of a body."""
        targets = {edge.target for edge in self.edges}
        return [node_id for node_id in self.nodes if node_id not in targets]

    def enclosing(self, node_id: str) -> list[str]:
        """The for-each containers around ``node_id``, innermost first (empty at top level)."""
        parents = {other.id: other.parent for other in self.nodes.values()}
        return chain(node_id, parents) or []

    def visible_steps(self, node_id: str) -> set[str]:
        """The nodes whose outputs templates of ``node_id`` may read: those upstream of it,
        and for a body step also those upstream of each enclosing for-each. A body step's
        templates also see ``item`` and ``index`` (see ``sees_item``)."""
        seen = self.upstream(node_id)
        for container in self.enclosing(node_id):
            seen |= self.upstream(container)
        return seen

    def sees_item(self, node_id: str) -> bool:
        """Whether templates of ``node_id`` see ``item`` and ``index`` (it is in a body)."""
        return self.nodes[node_id].parent is not None


def parse_graph(
    data: Any,
    *,
    catalog: Mapping[str, NodeKind],
    max_nodes: int = 500,
    max_bytes: int = 1024 * 1024,
    check_kinds: bool = True,
    template_check: TemplateCheck | None = None,
) -> Graph:
    """Validate ``data`` against the contract and return the parsed graph.

    Raises GraphInvalid with every problem found (not just the first), so the designer can
    mark all offending nodes at once. Never raises anything else for bad input.
    ``check_kinds=False`` skips the kinds' own checks (compiling code, templates): for
    re-reading a graph that was validated when it was saved. ``template_check`` judges the
    flow settings' templates (the concurrency key).
    """
    problems = list(_check_envelope(data, max_nodes=max_nodes, max_bytes=max_bytes))
    if problems:
        raise GraphInvalid(problems)
    nodes, declared, node_problems = _parse_nodes(data["nodes"], catalog)
    edges, edge_index, edge_problems = _parse_edges(data.get("edges", []), declared)
    settings, settings_problems = parse_flow_settings(data.get("settings"), template_check)
    problems = node_problems + edge_problems
    types = {node_id: kind.type if kind else None for node_id, kind in declared.items()}
    problems.extend(
        Problem(message, node=node_id, field=where)
        for message, node_id, where in group_problems(nodes, types, edges, edge_index)
    )
    problems.extend(Problem(message, field=where) for where, message in settings_problems)
    if not any(kind is not None and kind.category == "trigger" for kind in declared.values()):
        problems.append(Problem("A flow needs at least one trigger node to start it."))
    if not edge_problems:
        problems.extend(_check_cycles(nodes, edges))
    problems.extend(_check_error_paths(nodes, edges))
    graph = Graph(nodes=nodes, edges=tuple(edges), settings=settings)
    # Kind-specific checks run last and only on nodes whose config matched the schema.
    broken = {p.node for p in node_problems}
    by_kind: dict[str, list[Node]] = {}
    for node in nodes.values():
        if node.id not in broken:
            by_kind.setdefault(node.type, []).append(node)
    for kind_type, kind_nodes in by_kind.items():
        if check_kinds:
            problems.extend(catalog[kind_type].check(kind_nodes, graph))
    if problems:
        raise GraphInvalid(problems)
    return graph


def load_stored_graph(data: Mapping[str, Any]) -> Graph:
    """The graph of a stored version, read for execution. Its structure and configs were
    validated when it was saved; nothing here re-judges them against today's schemas or
    limits. Settings keys this code no longer knows are ignored, the rest take their
    defaults when absent."""
    known = set(StepSettings.__dataclass_fields__)
    nodes: dict[str, Node] = {}
    for raw in data["nodes"]:
        raw_settings = raw.get("settings") or {}
        position = raw.get("position") or {}
        nodes[raw["id"]] = Node(
            id=raw["id"],
            type=raw["type"],
            name=raw.get("name", raw["id"]).strip() or raw["id"],
            config=raw.get("config", {}),
            position=(position.get("x", 0), position.get("y", 0)),
            settings=StepSettings(**{k: v for k, v in raw_settings.items() if k in known}),
            raw_settings=raw_settings,
            parent=raw.get("parent"),
        )
    edges = tuple(
        Edge(source=raw["source"], target=raw["target"], source_handle=raw.get("sourceHandle"))
        for raw in data.get("edges", [])
    )
    return Graph(nodes=nodes, edges=edges, settings=load_flow_settings(data.get("settings")))


def _check_envelope(data: Any, *, max_nodes: int, max_bytes: int) -> Iterator[Problem]:
    if not isinstance(data, dict):
        yield Problem('A graph is an object: {"nodes": [...], "edges": [...]}.', field="graph")
        return
    # First, so that no message below can quote text that cannot be shown (a lone
    # surrogate in an unknown key would crash the JSON response).
    problem = json_problem(data)
    if problem:
        yield Problem(problem, field="graph")
        return
    unknown = sorted(set(data) - {"nodes", "edges", "settings"})
    if unknown:
        yield Problem(
            f"Unknown key(s) {', '.join(unknown)}; a graph has nodes, edges and settings.",
            field="graph",
        )
    if not isinstance(data.get("nodes"), list):
        yield Problem("nodes must be a list.", field="nodes")
    if not isinstance(data.get("edges", []), list):
        yield Problem("edges must be a list.", field="edges")
    size = len(json.dumps(data, separators=(",", ":")).encode())
    if size > max_bytes:
        yield Problem(f"The graph is {size:,} bytes; the limit is {max_bytes:,}.", field="graph")
    if isinstance(data.get("nodes"), list) and len(data["nodes"]) > max_nodes:
        yield Problem(
            f"The graph has {len(data['nodes'])} nodes; the limit is {max_nodes}.", field="nodes"
        )


Declared = dict[str, "NodeKind | None"]


def _parse_nodes(
    raw_nodes: list[Any], catalog: Mapping[str, NodeKind]
) -> tuple[dict[str, Node], Declared, list[Problem]]:
    """The valid nodes, every well-named node id with its kind (None when unknown), and the
    problems. Edges are checked against the declared ids so that one broken node does not
    also make every edge touching it an error."""
    nodes: dict[str, Node] = {}
    declared: Declared = {}
    problems: list[Problem] = []
    for index, raw in enumerate(raw_nodes):
        node, node_problems = _parse_node(index, raw, catalog, taken=declared)
        problems.extend(node_problems)
        if node is not None:
            nodes[node.id] = node
    return nodes, declared, problems


_NODE_KEYS = {"id", "type", "name", "config", "position", "settings", "parent"}


def _parse_node(
    index: int, raw: Any, catalog: Mapping[str, NodeKind], *, taken: Declared
) -> tuple[Node | None, list[Problem]]:
    where = f"nodes[{index}]"
    if not isinstance(raw, dict):
        return None, [Problem("Each node is an object with id, type and config.", field=where)]
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not NODE_ID_PATTERN.match(node_id):
        return None, [
            Problem(
                "A node id is 1-64 letters, digits, _ or -, starting with a letter or _.",
                node=node_id if isinstance(node_id, str) else None,
                field=f"{where}.id",
            )
        ]
    if node_id in taken:
        return None, [Problem(f"Two nodes share the id {node_id!r}.", node=node_id, field="id")]
    problems: list[Problem] = []
    unknown = sorted(set(raw) - _NODE_KEYS)
    if unknown:
        problems.append(Problem(f"Unknown node key(s): {', '.join(unknown)}.", node=node_id))
    type_name = raw.get("type")
    kind = catalog.get(type_name) if isinstance(type_name, str) else None
    taken[node_id] = kind
    if kind is None:
        problems.append(
            Problem(
                f"Unknown node type {raw.get('type')!r}; see /api/step-types/ for the catalog.",
                node=node_id,
                field="type",
            )
        )
    name = raw.get("name", node_id)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        problems.append(
            Problem(f"The name must be 1-{MAX_NAME_LENGTH} characters.", node=node_id, field="name")
        )
    config = raw.get("config", {})
    if not isinstance(config, dict):
        problems.append(Problem("config must be an object.", node=node_id, field="config"))
    elif kind is not None:
        problems.extend(_schema_problems(kind, config, node_id, "config"))
    position = _parse_position(raw.get("position"))
    if position is None:
        problems.append(
            Problem('position must be {"x": number, "y": number}.', node=node_id, field="position")
        )
    raw_settings = raw.get("settings", {})
    settings, settings_problems = _parse_settings(raw_settings, node_id, kind)
    problems.extend(settings_problems)
    parent = raw.get("parent")
    if parent is not None and (not isinstance(parent, str) or not NODE_ID_PATTERN.match(parent)):
        problems.append(
            Problem("parent must be the id of a For each node.", node=node_id, field="parent")
        )
    if problems or kind is None:
        return None, problems
    return Node(
        id=node_id,
        type=kind.type,
        name=name.strip(),
        config=config,
        position=position or (0, 0),
        settings=settings,
        raw_settings=raw_settings,
        parent=parent,
    ), []


def _parse_position(raw: Any) -> tuple[float, float] | None:
    if raw is None:
        return (0, 0)
    if not isinstance(raw, dict) or set(raw) - {"x", "y"}:
        return None
    x, y = raw.get("x", 0), raw.get("y", 0)
    if isinstance(x, bool) or isinstance(y, bool):
        return None
    if not isinstance(x, int | float) or not isinstance(y, int | float):
        return None
    return (x, y)


def _parse_settings(
    raw: Any, node_id: str, kind: NodeKind | None
) -> tuple[StepSettings, list[Problem]]:
    if raw in (None, {}):
        return StepSettings(), []
    if kind is not None and kind.category == "trigger":
        return StepSettings(), [
            Problem(
                "Triggers have no step settings (timeout, retries...).",
                node=node_id,
                field="settings",
            )
        ]
    problems = [
        Problem(message, node=node_id, field=where)
        for where, message in schema_errors(_SETTINGS_VALIDATOR, raw, "settings")
    ]
    if problems:
        return StepSettings(), problems
    return StepSettings(**raw), []


def _schema_problems(
    kind: NodeKind, config: dict[str, Any], node_id: str, prefix: str
) -> list[Problem]:
    return [
        Problem(message, node=node_id, field=where)
        for where, message in schema_errors(_validator_for(kind), config, prefix)
    ]


_SETTINGS_VALIDATOR = Draft202012Validator(SETTINGS_SCHEMA)
_kind_validators: dict[str, Draft202012Validator] = {}


def _validator_for(kind: NodeKind) -> Draft202012Validator:
    validator = _kind_validators.get(kind.type)
    if validator is None or validator.schema is not kind.config_schema:
        validator = Draft202012Validator(kind.config_schema)
        _kind_validators[kind.type] = validator
    return validator


def _parse_edges(
    raw_edges: list[Any], declared: Declared
) -> tuple[list[Edge], dict[Edge, int], list[Problem]]:
    """The valid edges, where each stood in the list (for problems naming it), and the
    problems."""
    edges: list[Edge] = []
    where: dict[Edge, int] = {}
    problems: list[Problem] = []
    seen: set[tuple[str, str, str | None]] = set()
    for index, raw in enumerate(raw_edges):
        edge, problem = _parse_edge(index, raw, declared)
        if problem is not None:
            problems.append(problem)
            continue
        if edge is None:  # touches a node that has problems of its own
            continue
        key = (edge.source, edge.target, edge.source_handle)
        if key in seen:
            problems.append(
                Problem(
                    f"The edge {edge.source} → {edge.target} appears twice.",
                    node=edge.source,
                    field=f"edges[{index}]",
                )
            )
            continue
        seen.add(key)
        edges.append(edge)
        where[edge] = index
    return edges, where, problems


def _parse_edge(index: int, raw: Any, declared: Declared) -> tuple[Edge | None, Problem | None]:
    where = f"edges[{index}]"
    if not isinstance(raw, dict) or set(raw) - {"source", "target", "sourceHandle", "id"}:
        return None, Problem(
            'An edge is {"source": id, "target": id} with an optional "sourceHandle".',
            field=where,
        )
    source, target, handle = raw.get("source"), raw.get("target"), raw.get("sourceHandle")
    for end, value, other in (("source", source, target), ("target", target, source)):
        if not isinstance(value, str) or value not in declared:
            # Blame the end that exists, so the designer can show where the edge dangles.
            return None, Problem(
                f"The edge's {end} {value!r} is not a node of this graph.",
                node=other if isinstance(other, str) and other in declared else None,
                field=f"{where}.{end}",
            )
    assert isinstance(source, str) and isinstance(target, str)
    if source == target:
        return None, Problem("A node cannot connect to itself.", node=source, field=where)
    source_kind, target_kind = declared[source], declared[target]
    if source_kind is None or target_kind is None:
        return None, None
    if target_kind.category == "trigger":
        return None, Problem(
            f"Nothing can lead into the trigger {target!r}; triggers start a flow.",
            node=target,
            field=f"{where}.target",
        )
    if handle == ERROR_HANDLE:
        return _error_edge(source, target, source_kind, where)
    handles = source_kind.handles
    if handles and handle not in handles:
        return None, Problem(
            f"Edges leaving {source!r} must use the {' or '.join(handles)} output.",
            node=source,
            field=f"{where}.sourceHandle",
        )
    if not handles and handle is not None:
        return None, Problem(
            f"{source!r} has a single output; remove sourceHandle {handle!r}.",
            node=source,
            field=f"{where}.sourceHandle",
        )
    return Edge(source=source, target=target, source_handle=handle), None


def _error_edge(
    source: str, target: str, source_kind: NodeKind, where: str
) -> tuple[Edge | None, Problem | None]:
    """Every step may lead somewhere on failure; a trigger cannot fail after it fired."""
    if source_kind.category == "trigger":
        return None, Problem(
            f"The trigger {source!r} has no error output: only steps can fail into an error path.",
            node=source,
            field=f"{where}.sourceHandle",
        )
    return Edge(source=source, target=target, source_handle=ERROR_HANDLE), None


def _check_error_paths(nodes: Mapping[str, Node], edges: Sequence[Edge]) -> Iterator[Problem]:
    """An error path and "continue on failure" both say what a failure does, differently
    (follow the error edges, or go on along the normal ones): a step picks one."""
    handling = {edge.source for edge in edges if edge.source_handle == ERROR_HANDLE}
    for node_id in sorted(handling):
        node = nodes.get(node_id)
        if node is not None and node.settings.continue_on_failure:
            yield Problem(
                f"{node.name!r} has an error path and continues on failure: choose one "
                "(remove the error connection, or turn off continue on failure).",
                node=node_id,
                field="settings.continue_on_failure",
            )


def _check_cycles(nodes: Mapping[str, Node], edges: Sequence[Edge]) -> list[Problem]:
    """Kahn's algorithm; whatever cannot be ordered lies on or behind a cycle."""
    indegree = dict.fromkeys(nodes, 0)
    children: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for edge in edges:
        if edge.source in nodes and edge.target in nodes:
            indegree[edge.target] += 1
            children[edge.source].append(edge.target)
    ready = [node_id for node_id, degree in indegree.items() if degree == 0]
    while ready:
        current = ready.pop()
        for child in children[current]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    stuck = {node_id for node_id, degree in indegree.items() if degree > 0}
    if not stuck:
        return []
    cycle = _find_cycle(stuck, edges)
    path = " → ".join([*cycle, cycle[0]])
    return [
        Problem(f"This node is part of a cycle ({path}); flows must not loop.", node=node_id)
        for node_id in cycle
    ]


def _find_cycle(stuck: set[str], edges: Sequence[Edge]) -> list[str]:
    """Return one cycle among the stuck nodes, in edge direction.

    Every stuck node has a stuck parent (else Kahn's algorithm would have freed it), so
    walking stuck parents from any stuck node must come back to a node already seen.
    """
    parents: dict[str, list[str]] = {}
    for edge in edges:
        if edge.source in stuck and edge.target in stuck:
            parents.setdefault(edge.target, []).append(edge.source)
    order: list[str] = []
    position: dict[str, int] = {}
    current = min(stuck)
    while current not in position:
        position[current] = len(order)
        order.append(current)
        current = min(parents[current])
    cycle = list(reversed(order[position[current] :]))
    first = cycle.index(min(cycle))  # start at the smallest id so the message is stable
    return cycle[first:] + cycle[:first]
