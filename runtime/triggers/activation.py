"""Swap a flow's active triggers to those of its live version, atomically with publishing,
rolling back, archiving or restoring (the caller's transaction)."""

from __future__ import annotations

from designer.models import Flow
from runtime.engine import graphs
from runtime.kinds.catalog import CATALOG
from runtime.kinds.contract import TriggerKind


def triggers_sync(flow: Flow) -> None:
    live = flow.live_version if flow.archived_at is None else None
    graph = graphs.graph_of(live) if live is not None else None
    for kind in CATALOG.values():
        if isinstance(kind, TriggerKind):
            nodes = [n for n in graph.nodes.values() if n.type == kind.type] if graph else []
            kind.activate(flow, nodes)
