"""Reads of connections through the workspace roles: members (any role) see names and
kinds, admins also the settings (never the password), outsiders get 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from designer import access
from designer.access import User
from designer.models import Flow, Role, Workspace
from runtime.models import Connection, QueueDeadLetter, QueueSubscription

ADMINS_ONLY = "Only workspace admins manage connections."


def connection_list_for_user(
    *, user: User, workspace_id: int | None = None, kind: str = ""
) -> QuerySet[Connection]:
    connections = access.scope(Connection.objects.all(), user=user, via="workspace")
    connections = connections.select_related("workspace", "created_by")
    if workspace_id is not None:
        connections = connections.filter(workspace_id=workspace_id)
    if kind:
        connections = connections.filter(kind=kind)
    return connections.order_by("workspace__name", "name")


def connection_get_for_user(
    *, user: User, connection_id: int | str, admin: bool = False
) -> Connection:
    """The connection if the user is a member of its workspace (an admin, with ``admin``).
    Raises Http404 for outsiders and PermissionDenied for members who may not manage it."""
    try:
        connection = connection_list_for_user(user=user).get(pk=int(connection_id))
    except (Connection.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such connection.") from None
    if admin and not is_admin(user=user, workspace=connection.workspace):
        raise PermissionDenied(ADMINS_ONLY)
    return connection


def workspace_get_for_connection_admin(*, user: User, workspace_id: int | str) -> Workspace:
    return access.workspace_get_for_user(
        user=user, workspace_id=workspace_id, min_role=Role.ADMIN, what="connections"
    )


def is_admin(*, user: User, workspace: Workspace) -> bool:
    return access.has_role(user=user, workspace=workspace, min_role=Role.ADMIN)


def admin_workspace_ids(*, user: User) -> set[int]:
    """The workspaces where the user is an admin (every one, for a superuser)."""
    workspaces = access.workspace_list_for_user(user=user, min_role=Role.ADMIN)
    return set(workspaces.values_list("pk", flat=True))


def dead_letter_list(*, flow: Flow) -> QuerySet[QueueDeadLetter]:
    """The messages the queue triggers of ``flow`` (fetched through designer.access)
    received but could not start a run with."""
    return QueueDeadLetter.objects.filter(flow=flow)


def queue_subscription_list(*, flow: Flow) -> QuerySet[QueueSubscription]:
    """The consumers of ``flow``'s queue triggers, with their connections, by node."""
    subscriptions = QueueSubscription.objects.filter(flow=flow).select_related("connection")
    return subscriptions.order_by("node_id")
