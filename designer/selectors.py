"""Reads of a flow's history: its versions and its audit trail. The flow itself comes from
``designer.access.flow_get_for_user``, which has checked the user's permission."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from designer import access
from designer.access import User
from designer.models import Flow, FlowEvent, FlowVersion, Role


def flow_version_get(*, flow: Flow, number: int | str) -> FlowVersion:
    try:
        return FlowVersion.objects.select_related("author").get(flow=flow, number=int(number))
    except (FlowVersion.DoesNotExist, ValueError, OverflowError):
        raise Http404(f"{flow.name} has no version {number}.") from None


def flow_version_list(*, flow: Flow) -> QuerySet[FlowVersion]:
    return FlowVersion.objects.filter(flow=flow).select_related("author").order_by("-number")


def flow_version_latest(*, flow: Flow) -> FlowVersion | None:
    return flow_version_list(flow=flow).first()


def version_numbers_for_user(
    *, user: User, flow_id: int | None = None, limit: int = 100
) -> list[int]:
    """The version numbers that exist among the flows the user administers (of one flow,
    with ``flow_id``), ascending: the admin's version filter."""
    versions = access.scope(
        FlowVersion.objects.all(), user=user, via="flow__workspace", min_role=Role.ADMIN
    )
    if flow_id is not None:
        versions = versions.filter(flow_id=flow_id)
    numbers = versions.order_by("number").values_list("number", flat=True).distinct()
    return list(numbers[:limit])


def flow_event_list(*, flow: Flow) -> QuerySet[FlowEvent]:
    return FlowEvent.objects.filter(flow=flow).select_related("actor")
