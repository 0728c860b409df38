"""Who may see, edit or administer what: the one place that answers it.

Every read of a user's data — pages, the REST API, template tags, websocket consumers,
the admin — goes through these getters (tests/test_access_guard.py fails on a view, API
module, template tag or consumer that queries a model manager itself). A workspace's
members have a role (viewer < editor < admin); superusers are admins everywhere.

Outsiders get 404 (nothing leaks about other workspaces, not even that an id exists);
members whose role is too low for what they ask get 403 with a message saying why.

The runtime's objects (runs, secrets, connections) hang off a workspace: their getters in
``runtime.selectors`` and ``runtime.resources.connections.selectors`` scope their querysets with
``scope()`` below, so "which workspaces" is computed here and nowhere else.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Model, Q, QuerySet
from django.http import Http404

from designer.models import Flow, Membership, Role, Workspace

User = AbstractBaseUser | AnonymousUser
M = TypeVar("M", bound=Model)

# Each role includes the ones below it.
_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


def _roles_at_least(min_role: Role) -> list[str]:
    return [role for role, rank in _RANK.items() if rank >= _RANK[min_role]]


def _is_superuser(user: User) -> bool:
    return bool(getattr(user, "is_superuser", False))


def workspace_list_for_user(*, user: User, min_role: Role = Role.VIEWER) -> QuerySet[Workspace]:
    """The workspaces where the user has ``min_role`` or more (all, for a superuser)."""
    if _is_superuser(user):
        return Workspace.objects.all()
    if not user.is_authenticated:
        return Workspace.objects.none()
    member = Membership.objects.filter(user=user.pk, role__in=_roles_at_least(min_role))
    return Workspace.objects.filter(pk__in=member.values("workspace_id"))


def role_for_user(*, user: User, workspace: Workspace) -> str | None:
    """The user's role in the workspace (None for outsiders); superusers are admins."""
    if _is_superuser(user):
        return Role.ADMIN
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user.pk, workspace=workspace)
        .values_list("role", flat=True)
        .first()
    )


def roles_for_user(*, user: User) -> dict[int, str]:
    """``{workspace_id: role}`` for every workspace the user sees (one query)."""
    if _is_superuser(user):
        return dict.fromkeys(Workspace.objects.values_list("pk", flat=True), Role.ADMIN)
    if not user.is_authenticated:
        return {}
    return dict(Membership.objects.filter(user=user.pk).values_list("workspace_id", "role"))


def has_role(*, user: User, workspace: Workspace, min_role: Role) -> bool:
    role = role_for_user(user=user, workspace=workspace)
    return role is not None and _RANK[Role(role)] >= _RANK[min_role]


def require_role(*, user: User, workspace: Workspace, min_role: Role, message: str) -> None:
    """PermissionDenied(message) unless the user has ``min_role`` in the workspace. For
    an object the caller already fetched through a getter here (so the user sees it)."""
    if not has_role(user=user, workspace=workspace, min_role=min_role):
        raise PermissionDenied(message)


def workspace_get_for_user(
    *, user: User, workspace_id: int | str, min_role: Role = Role.VIEWER, what: str = "this"
) -> Workspace:
    """The workspace if the user belongs to it: 404 for outsiders, 403 ("Only workspace
    admins manage <what>." / "Your role ... cannot change <what>.") below ``min_role``."""
    try:
        workspace = workspace_list_for_user(user=user).get(pk=int(workspace_id))
    except (Workspace.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such workspace.") from None
    message = (
        f"Only workspace admins manage {what}."
        if min_role == Role.ADMIN
        else f"Your role in this workspace cannot change {what}."
    )
    require_role(user=user, workspace=workspace, min_role=min_role, message=message)
    return workspace


def scope(
    queryset: QuerySet[M], *, user: User, via: str, min_role: Role = Role.VIEWER
) -> QuerySet[M]:
    """``queryset`` limited to the objects whose workspace (reached through ``via``, e.g.
    ``"flow__workspace"``) the user has ``min_role`` in."""
    if _is_superuser(user):
        return queryset
    return queryset.filter(**{f"{via}__in": workspace_list_for_user(user=user, min_role=min_role)})


def flow_list_for_user(
    *,
    user: User,
    search: str = "",
    archived: bool | None = False,
    workspace_id: int | None = None,
    min_role: Role = Role.VIEWER,
) -> QuerySet[Flow]:
    """The flows the user sees (with ``min_role`` in their workspace), by name;
    ``archived=None`` includes archived ones."""
    flows = scope(Flow.objects.all(), user=user, via="workspace", min_role=min_role)
    if archived is not None:
        flows = flows.filter(archived_at__isnull=not archived)
    if workspace_id is not None:
        flows = flows.filter(workspace_id=workspace_id)
    if search:
        flows = flows.filter(Q(name__icontains=search) | Q(description__icontains=search))
    # Explicit order: Meta.ordering is ignored once the annotation adds a GROUP BY.
    return (
        flows.select_related("workspace", "owner", "live_version")
        .annotate(latest_version=Max("versions__number"))
        .order_by("name", "id")
    )


def flow_get_for_user(*, user: User, flow_id: int | str, write: bool = False) -> Flow:
    """The flow if the user may see it (and change it, with ``write``).

    Raises Http404 when the user may not see it, so nothing leaks about other workspaces,
    and PermissionDenied when they may see it but not change it.
    """
    try:
        flow = (
            scope(Flow.objects.all(), user=user, via="workspace")
            .select_related("workspace", "live_version")
            .get(pk=int(flow_id))
        )
    except (Flow.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such flow.") from None
    if write:
        require_role(
            user=user,
            workspace=flow.workspace,
            min_role=Role.EDITOR,
            message="Your role in this workspace can read flows but not change them.",
        )
    return flow
