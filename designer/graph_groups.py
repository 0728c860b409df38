"""Containers in the graph: a ``flow.foreach`` node and the body drawn inside it.

A body node names its container in ``"parent"``; a node without one is top level. The
container itself is one step of the level it sits in (edges to and from it stay outside);
its body is a small graph of its own, whose entry steps are those with no incoming edge.
Stored positions of body nodes are *relative to their container's top-left corner*, as
React Flow keeps them, so moving a container changes one position, not its whole body.

Like the trigger prefix, the container kind is known by name, so a stored graph knows its
bodies without asking the catalog. Everything here is pure: it judges and slices parsed
nodes and edges and never imports a kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # graph imports this module; the types are only for annotations
    from designer.graph import Edge, Node

# (message, node, field): designer.graph turns each into its Problem.
Found = tuple[str, str, str]

FOREACH_TYPE = "flow.foreach"
# How many for-each containers may enclose one another: a loop in a loop in a loop.
MAX_FOREACH_DEPTH = 3


def chain(node_id: str, parents: Mapping[str, str | None]) -> list[str] | None:
    """The containers enclosing ``node_id``, innermost first, or None when the ``parent``
    links loop (a node inside itself, or two containers inside each other)."""
    found: list[str] = []
    current = parents.get(node_id)
    while current is not None:
        if current == node_id or current in found:
            return None
        found.append(current)
        current = parents.get(current)
    return found


def group_problems(
    nodes: Mapping[str, Node],
    types: Mapping[str, str | None],
    edges: Sequence[Edge],
    edge_index: Mapping[Edge, int],
) -> list[Found]:
    """Every broken container rule as (message, node, field). ``types`` holds every
    declared node id with its type (None when unknown), so a body inside a container that
    has problems of its own is not blamed twice. Edges are judged only once every node
    sits in a valid container (a wrong parent would make every edge look like a crossing)."""
    problems: list[Found] = []
    parents = {node_id: node.parent for node_id, node in nodes.items()}
    for node in nodes.values():
        problems.extend(_parent_problems(node, types, parents))
    if not problems:
        problems.extend(_crossing_edges(nodes, edges, edge_index))
    problems.extend(_empty_bodies(nodes, parents))
    return problems


def _parent_problems(
    node: Node, types: Mapping[str, str | None], parents: Mapping[str, str | None]
) -> Iterator[Found]:
    if node.parent is None:
        return
    if node.parent not in types:
        yield (
            f"The parent {node.parent!r} is not a node of this graph.",
            node.id,
            "parent",
        )
        return
    if node.is_trigger:
        yield (
            "A trigger cannot sit inside a for-each: triggers start the whole flow.",
            node.id,
            "parent",
        )
    parent_type = types[node.parent]
    if parent_type is not None and parent_type != FOREACH_TYPE:
        yield (
            f"The parent {node.parent!r} is a {parent_type}; only a For each holds steps.",
            node.id,
            "parent",
        )
        return
    enclosing = chain(node.id, parents)
    if enclosing is None:
        yield (
            "The parent links loop: a for-each cannot sit inside itself.",
            node.id,
            "parent",
        )
    elif node.type == FOREACH_TYPE and len(enclosing) >= MAX_FOREACH_DEPTH:
        yield (
            f"For-each loops nest at most {MAX_FOREACH_DEPTH} deep; this one is "
            f"{len(enclosing) + 1} deep.",
            node.id,
            "parent",
        )


def _empty_bodies(nodes: Mapping[str, Node], parents: Mapping[str, str | None]) -> Iterator[Found]:
    filled = {parent for parent in parents.values() if parent is not None}
    for node in nodes.values():
        if node.type == FOREACH_TYPE and node.id not in filled:
            yield (
                "A for-each needs at least one step inside it: drop a step into its body.",
                node.id,
                "body",
            )


def _crossing_edges(
    nodes: Mapping[str, Node], edges: Sequence[Edge], edge_index: Mapping[Edge, int]
) -> Iterator[Found]:
    for edge in edges:
        if edge.source not in nodes or edge.target not in nodes:
            continue  # an end with problems of its own
        if nodes[edge.target].parent == nodes[edge.source].parent:
            continue
        yield (
            f"The edge {edge.source} → {edge.target} crosses the edge of a for-each body; "
            "connect to the for-each itself, and inside the body only between its steps.",
            edge.target,
            f"edges[{edge_index.get(edge, 0)}]",
        )


def level(
    nodes: Mapping[str, Node], edges: Sequence[Edge], scope: str | None
) -> tuple[dict[str, Node], tuple[Edge, ...]]:
    """The nodes directly in ``scope`` (None: the top level) and the edges among them. A
    nested for-each is one node of its level; its body is another level."""
    kept = {node_id: node for node_id, node in nodes.items() if node.parent == scope}
    return kept, tuple(e for e in edges if e.source in kept and e.target in kept)
