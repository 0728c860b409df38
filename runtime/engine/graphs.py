"""The graphs of stored versions, as the engine reads them: parsed once per process.

A version is immutable, so its parsed graph can be kept for the life of the process. It
is read with ``load_stored_graph``, never re-validated: a version that was valid when it
was saved stays runnable after a kind's schema or a limit changes.
"""

from __future__ import annotations

from designer.graph import Graph, load_stored_graph
from designer.models import FlowVersion

_graphs: dict[tuple[int, float], Graph] = {}
_KEEP = 256


def graph_of(version: FlowVersion) -> Graph:
    """The parsed graph of ``version`` (keyed by id and creation time, which a test
    database reset cannot repeat)."""
    key = (version.pk, version.created_at.timestamp())
    graph = _graphs.get(key)
    if graph is None:
        if len(_graphs) > _KEEP:
            _graphs.clear()
        graph = load_stored_graph(version.graph)
        _graphs[key] = graph
    return graph


def scoped(version: FlowVersion, scope: str) -> Graph:
    """What a run of ``version`` with ``scope`` plans: the flow's top level ("" scope), or
    the body of the for-each ``scope`` (an item run), kept with the parsed graph."""
    graph = graph_of(version)
    return graph.body(scope) if scope else graph
