"""Small builders for graphs, users and flows, so tests read as sentences."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from designer.models import Flow, Membership, Role, Workspace
from designer.services import flow_create, workspace_create


def node(node_id: str, kind: str, name: str | None = None, **config: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": node_id, "type": kind, "config": config}
    if name is not None:
        data["name"] = name
    return data


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    data = {"source": source, "target": target}
    if handle is not None:
        data["sourceHandle"] = handle
    return data


def graph(*nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"nodes": list(nodes), "edges": edges or []}


def simple_graph(message: str = "hello") -> dict[str, Any]:
    """A manual trigger feeding a transform: the smallest useful flow."""
    return graph(
        node("start", "trigger.manual", "Start"),
        node("shape", "data.transform", "Shape", value={"message": message}),
        edges=[edge("start", "shape")],
    )


def user(username: str, *, superuser: bool = False) -> User:
    if superuser:
        return User.objects.create_superuser(username=username, password="pw-" + username)
    return User.objects.create_user(username=username, password="pw-" + username)


def member(workspace: Workspace, username: str, role: str) -> User:
    account = user(username)
    Membership.objects.create(workspace=workspace, user=account, role=role)
    return account


def workspace(name: str = "Shop", *, admin: User | None = None) -> Workspace:
    return workspace_create(name=name, admin=admin)


def flow(owner: User, space: Workspace, name: str = "Orders", graph_data: Any = None) -> Flow:
    return flow_create(
        user=owner,
        workspace=space,
        name=name,
        graph=graph_data if graph_data is not None else simple_graph(),
    )


__all__ = ["Role", "edge", "flow", "graph", "member", "node", "simple_graph", "user", "workspace"]
