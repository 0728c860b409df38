"""What changed between two versions of a graph: nodes added, removed, changed (with the
fields that changed), moved, edges added or removed, and the flow settings that changed."""

from __future__ import annotations

from typing import Any

# Positions change on every drag; they are reported apart so a diff reads as meaning.
_COMPARED = ("type", "name", "settings", "parent")


def graph_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    old_nodes = {node["id"]: node for node in old.get("nodes", [])}
    new_nodes = {node["id"]: node for node in new.get("nodes", [])}
    changed, moved = [], []
    for node_id in sorted(old_nodes.keys() & new_nodes.keys()):
        before, after = old_nodes[node_id], new_nodes[node_id]
        fields = [key for key in _COMPARED if before.get(key) != after.get(key)]
        fields += _changed_paths(before.get("config", {}), after.get("config", {}), "config")
        if fields:
            changed.append({"id": node_id, "fields": fields})
        if before.get("position") != after.get("position"):
            moved.append(node_id)
    old_edges = {_edge_key(edge) for edge in old.get("edges", [])}
    new_edges = {_edge_key(edge) for edge in new.get("edges", [])}
    return {
        "nodes": {
            "added": sorted(new_nodes.keys() - old_nodes.keys()),
            "removed": sorted(old_nodes.keys() - new_nodes.keys()),
            "changed": changed,
            "moved": moved,
        },
        "edges": {
            "added": [_edge_json(key) for key in sorted(new_edges - old_edges, key=_sort)],
            "removed": [_edge_json(key) for key in sorted(old_edges - new_edges, key=_sort)],
        },
        "settings": _leaf_paths(old.get("settings") or {}, new.get("settings") or {}, "settings"),
    }


def _leaf_paths(before: Any, after: Any, path: str) -> list[str]:
    """Dotted paths of the flow settings that differ, down to the values that changed
    (settings.on_failure.alert.emails): the settings are few and small."""
    if isinstance(before, dict | None) and isinstance(after, dict | None) and before != after:
        before, after = before or {}, after or {}  # a setting added or removed as a whole
        return [
            found
            for key in sorted(before.keys() | after.keys())
            for found in _leaf_paths(before.get(key), after.get(key), f"{path}.{key}")
        ]
    return [path] if before != after else []


def _changed_paths(before: Any, after: Any, path: str) -> list[str]:
    """Dotted paths of the config fields that differ, one level into nested objects."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(before.keys() | after.keys())
        return [f"{path}.{key}" for key in keys if before.get(key) != after.get(key)]
    return [path] if before != after else []


EdgeKey = tuple[str, str, str | None]


def _edge_key(edge: dict[str, Any]) -> EdgeKey:
    return (edge["source"], edge["target"], edge.get("sourceHandle"))


def _sort(key: EdgeKey) -> tuple[str, str, str]:
    return (key[0], key[1], key[2] or "")


def _edge_json(key: EdgeKey) -> dict[str, Any]:
    data: dict[str, Any] = {"source": key[0], "target": key[1]}
    if key[2] is not None:
        data["sourceHandle"] = key[2]
    return data
