"""Reads of connections through the workspace roles: members (any role) see names and
kinds, admins also the settings (never the password), outsiders get 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from designer.models import Role, Workspace
from designer.selectors import User, role_for_user, workspace_list_for_user
from runtime.models import Connection
from runtime.selectors import workspace_get_for_admin

ADMINS_ONLY = "Only workspace admins manage connections."


def connection_list_for_user(
    *, user: User, workspace_id: int | None = None, kind: str = ""
) -> QuerySet[Connection]:
    connections = Connection.objects.filter(
        workspace__in=workspace_list_for_user(user=user)
    ).select_related("workspace", "created_by")
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
    return workspace_get_for_admin(user=user, workspace_id=workspace_id, what="connections")


def is_admin(*, user: User, workspace: Workspace) -> bool:
    return role_for_user(user=user, workspace=workspace) == Role.ADMIN


def admin_workspace_ids(*, user: User) -> set[int]:
    """The workspaces where the user is an admin (every one, for a superuser)."""
    workspaces = workspace_list_for_user(user=user)
    if not getattr(user, "is_superuser", False):
        workspaces = workspaces.filter(memberships__user=user.pk, memberships__role=Role.ADMIN)
    return set(workspaces.values_list("pk", flat=True))
