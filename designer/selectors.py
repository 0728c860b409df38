"""Reads, always through the user's permissions: an outsider gets 404, a viewer 403 on writes."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q, QuerySet
from django.http import Http404

from designer.models import Flow, FlowEvent, FlowVersion, Membership, Role, Workspace

User = AbstractBaseUser | AnonymousUser


def workspace_list_for_user(*, user: User) -> QuerySet[Workspace]:
    if getattr(user, "is_superuser", False):
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=user.pk)


def role_for_user(*, user: User, workspace: Workspace) -> str | None:
    """The user's role in the workspace; superusers are admins everywhere."""
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    return (
        Membership.objects.filter(user=user.pk, workspace=workspace)
        .values_list("role", flat=True)
        .first()
    )


def flow_list_for_user(
    *, user: User, search: str = "", archived: bool = False, workspace_id: int | None = None
) -> QuerySet[Flow]:
    flows = Flow.objects.filter(workspace__in=workspace_list_for_user(user=user))
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
        flow = Flow.objects.select_related("workspace", "live_version").get(
            pk=int(flow_id), workspace__in=workspace_list_for_user(user=user)
        )
    except (Flow.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such flow.") from None
    if write and not Role.can_write(role_for_user(user=user, workspace=flow.workspace)):
        raise PermissionDenied("Your role in this workspace can read flows but not change them.")
    return flow


def flow_version_get(*, flow: Flow, number: int | str) -> FlowVersion:
    try:
        return FlowVersion.objects.select_related("author").get(flow=flow, number=int(number))
    except (FlowVersion.DoesNotExist, ValueError, OverflowError):
        raise Http404(f"{flow.name} has no version {number}.") from None


def flow_version_list(*, flow: Flow) -> QuerySet[FlowVersion]:
    return FlowVersion.objects.filter(flow=flow).select_related("author").order_by("-number")


def flow_version_latest(*, flow: Flow) -> FlowVersion | None:
    return flow_version_list(flow=flow).first()


def flow_event_list(*, flow: Flow) -> QuerySet[FlowEvent]:
    return FlowEvent.objects.filter(flow=flow).select_related("actor")
