"""Reads of runs and secrets, through the same permissions as flows: a run is visible to
whoever may see its flow (designer.selectors decides), and only admins see secrets."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from designer.models import Role, Workspace
from designer.selectors import role_for_user, workspace_list_for_user
from runtime.models import Run, Secret

User = AbstractBaseUser | AnonymousUser


def run_list_for_user(
    *, user: User, flow_id: int | None = None, status: str | None = None
) -> QuerySet[Run]:
    runs = Run.objects.filter(flow__workspace__in=workspace_list_for_user(user=user))
    if flow_id is not None:
        runs = runs.filter(flow_id=flow_id)
    if status:
        runs = runs.filter(status=status)
    return runs.select_related("flow", "version", "started_by")


def run_get_for_user(*, user: User, run_id: int | str, write: bool = False) -> Run:
    """The run if the user may see it (and act on it, with ``write``): 404 for outsiders,
    403 for viewers asking to act."""
    try:
        run = (
            run_list_for_user(user=user)
            .select_related("flow__workspace", "flow__live_version")
            .get(pk=int(run_id))
        )
    except (Run.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such run.") from None
    if write and not Role.can_write(role_for_user(user=user, workspace=run.flow.workspace)):
        raise PermissionDenied("Your role in this workspace can read runs but not act on them.")
    return run


def workspace_get_for_admin(*, user: User, workspace_id: int | str) -> Workspace:
    try:
        workspace = workspace_list_for_user(user=user).get(pk=int(workspace_id))
    except (Workspace.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such workspace.") from None
    if role_for_user(user=user, workspace=workspace) != Role.ADMIN:
        raise PermissionDenied("Only workspace admins manage secrets.")
    return workspace


def secret_list_for_admin(*, user: User) -> QuerySet[Secret]:
    admin_of = workspace_list_for_user(user=user)
    if not getattr(user, "is_superuser", False):
        admin_of = admin_of.filter(memberships__user=user.pk, memberships__role=Role.ADMIN)
    return Secret.objects.filter(workspace__in=admin_of).select_related("workspace")


def secret_get_for_admin(*, user: User, secret_id: int | str) -> Secret:
    try:
        return secret_list_for_admin(user=user).get(pk=int(secret_id))
    except (Secret.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such secret.") from None


def flow_run_stats(*, flow_ids: list[int], days: int = 7) -> dict[int, dict[str, object]]:
    """Per flow: the last run's status and time, and run counts per day for ``days`` days
    (oldest first), in two queries whatever the number of flows."""
    today = timezone.localdate()
    since = today - timedelta(days=days - 1)
    stats: dict[int, dict[str, object]] = {
        flow_id: {"last_status": None, "last_at": None, "daily": [0] * days} for flow_id in flow_ids
    }
    last = (
        Run.objects.filter(flow_id__in=flow_ids)
        .order_by("flow_id", "-id")
        .distinct("flow_id")
        .values_list("flow_id", "status", "created_at")
        if connection.features.can_distinct_on_fields
        else _last_runs_portable(flow_ids)
    )
    for flow_id, status, created_at in last:
        stats[flow_id].update(last_status=status, last_at=created_at)
    counts = (
        Run.objects.filter(flow_id__in=flow_ids, created_at__date__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("flow_id", "day")
        .annotate(n=Count("id"))
    )
    for flow_id, day, n in counts:
        daily = stats[flow_id]["daily"]
        assert isinstance(daily, list)
        daily[(day - since).days] = n
    return stats


def _last_runs_portable(flow_ids: list[int]) -> list[tuple[int, str, object]]:
    latest = Run.objects.filter(flow_id=OuterRef("flow_id")).order_by("-id").values("id")[:1]
    return list(
        Run.objects.filter(flow_id__in=flow_ids, id=Subquery(latest)).values_list(
            "flow_id", "status", "created_at"
        )
    )
