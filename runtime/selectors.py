"""Reads of runs, their health and secrets, through designer.access: a run is visible to
whoever may see its flow, and only admins see secrets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, TruncDate
from django.http import Http404
from django.utils import timezone

from designer import access
from designer.access import User
from designer.models import Flow, Role, Workspace
from designer.params import positive_int
from runtime.approvers import is_approver
from runtime.engine.status import StepStatus
from runtime.models import (
    ContainerImage,
    FlowTest,
    ReplayBatch,
    Run,
    Secret,
    StepRun,
    Suspension,
)

# Runs users started (or a trigger, or a flow.call): an item run of a for-each has its
# loop's node id as scope and is shown only in its step's items (step_items_for_user), a
# replay only with its batch (runtime.replay), and neither counts in a flow's health.
LISTED = Q(scope="", replay_batch__isnull=True)


def _runs_visible_to(user: User) -> QuerySet[Run]:
    runs = access.scope(Run.objects.all(), user=user, via="flow__workspace")
    # A version's graph can be a megabyte: lists never need it.
    return runs.select_related("flow", "version", "started_by").defer("version__graph")


def run_list_for_user(
    *, user: User, flow_id: int | None = None, status: str | None = None
) -> QuerySet[Run]:
    """The runs the user may see that lists show: item runs of a for-each are left out
    (sub-flow runs stay: they are runs of their flow)."""
    runs = _runs_visible_to(user).filter(LISTED)
    if flow_id is not None:
        runs = runs.filter(flow_id=flow_id)
    if status:
        runs = runs.filter(status=status)
    return runs


def run_get_for_user(*, user: User, run_id: int | str, write: bool = False) -> Run:
    """The run if the user may see it (and act on it, with ``write``): 404 for outsiders,
    403 for viewers asking to act."""
    try:
        run = (
            _runs_visible_to(user)
            .select_related("flow__workspace", "flow__live_version")
            .get(pk=int(run_id))
        )
    except (Run.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such run.") from None
    if write:
        access.require_role(
            user=user,
            workspace=run.flow.workspace,
            min_role=Role.EDITOR,
            message="Your role in this workspace can read runs but not act on them.",
        )
    return run


MAX_CHILDREN_SHOWN = 100


def run_family_for_user(*, user: User, run: Run) -> dict[str, Any]:
    """The runs linked to ``run`` (fetched through run_get_for_user) by flow.call, as the
    user may see them: ``parent`` ({run_id, flow, flow_name, node_id}, or None) and
    ``children`` (the first MAX_CHILDREN_SHOWN, oldest first, each with the calling
    node_id). A linked run the user may not see is left out: neither its id nor its
    flow's name is shown, only the step's own output. Item runs of a for-each are not
    among ``children`` (their step's items list them); an item run's parent is its loop's
    run."""
    visible = _runs_visible_to(user)
    parent = None
    if run.parent_step_id is not None:
        found = visible.filter(steps__pk=run.parent_step_id).first()
        if found is not None:
            node_id = StepRun.objects.filter(pk=run.parent_step_id).values_list(
                "node_id", flat=True
            )
            # Its own index: which item of that step this run is (None for a call).
            parent = _link(found, node_id.first() or "") | {"item_index": run.item_index}
    children = (
        visible.filter(LISTED, parent_step__run=run)
        .annotate(node_id=F("parent_step__node_id"))
        .order_by("pk")[:MAX_CHILDREN_SHOWN]
    )
    return {"parent": parent, "children": [_link(child, child.node_id) for child in children]}


def _link(run: Run, node_id: str) -> dict[str, Any]:
    return {
        "run_id": run.pk,
        "flow": run.flow_id,
        "flow_name": run.flow.name,
        "status": run.status,
        "node_id": node_id,
        "item_index": run.item_index,
    }


def run_steps(*, run: Run) -> QuerySet[StepRun]:
    """The steps of a run the caller fetched through run_get_for_user, in order."""
    return StepRun.objects.filter(run=run).order_by("id")


def step_get_for_user(*, user: User, run_id: int | str, node_id: str) -> StepRun:
    """The step ``node_id`` of a run the user may see (404 otherwise); ``step.run`` is it."""
    run = run_get_for_user(user=user, run_id=run_id)
    step = StepRun.objects.filter(run=run, node_id=node_id).order_by("-id").first()
    if step is None:
        raise Http404("This run has no such step.")
    step.run = run
    return step


ITEMS_PAGE = 50


@dataclass(frozen=True)
class ItemsPage:
    """One page of a for-each step's item runs (its latest round: a retry asks anew)."""

    counts: dict[str, int]  # item runs by status, all pages
    total: int  # item runs matching the filter
    page: int
    pages: int
    items: list[Run]


def step_items(*, step: StepRun, status: str = "", page: int = 1) -> ItemsPage:
    """Page ``page`` (from 1) of the item runs of ``step`` (fetched through
    step_get_for_user), in item order, only those with ``status`` if given. Two queries
    whatever the number of items: the counts, and the page (a range of run_children)."""
    last, counts = step_item_counts(step=step)
    total = counts.get(status, 0) if status else sum(counts.values())
    items = _items_of(step).filter(parent_round=last)
    if status:
        items = items.filter(status=status)
    start = (page - 1) * ITEMS_PAGE
    return ItemsPage(
        counts=counts,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / ITEMS_PAGE)),
        # Past the last page nothing is read: a huge page would overflow OFFSET.
        items=list(items.order_by("item_index", "id")[start : start + ITEMS_PAGE])
        if start < total
        else [],
    )


def step_item_counts(*, step: StepRun) -> tuple[int, dict[str, int]]:
    """The latest round of ``step``'s items (a retry asks anew) and their counts by
    status: one query grouped by round and status."""
    grouped = _items_of(step).values_list("parent_round", "status").annotate(n=Count("id"))
    rows = list(grouped.order_by())
    last = max((round_ for round_, _, _ in rows), default=0)
    return last, {status: n for round_, status, n in rows if round_ == last}


def _items_of(step: StepRun) -> QuerySet[Run]:
    return Run.objects.filter(parent_step=step).exclude(scope="")


def workspace_get_for_admin(
    *, user: User, workspace_id: int | str, what: str = "secrets"
) -> Workspace:
    """The workspace, if the user is one of its admins (404 outside it, 403 for other
    roles: "Only workspace admins manage <what>.")."""
    return access.workspace_get_for_user(
        user=user, workspace_id=workspace_id, min_role=Role.ADMIN, what=what
    )


def secret_list_for_admin(*, user: User) -> QuerySet[Secret]:
    secrets = access.scope(Secret.objects.all(), user=user, via="workspace", min_role=Role.ADMIN)
    return secrets.select_related("workspace")


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
        Run.objects.filter(LISTED, flow_id__in=flow_ids)
        .order_by("flow_id", "-id")
        .distinct("flow_id")
        .values_list("flow_id", "status", "created_at")
        if connection.features.can_distinct_on_fields
        else _last_runs_portable(flow_ids)
    )
    for flow_id, status, created_at in last:
        stats[flow_id].update(last_status=status, last_at=created_at)
    counts = (
        Run.objects.filter(LISTED, flow_id__in=flow_ids, created_at__date__gte=since)
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
    latest = (
        Run.objects.filter(LISTED, flow_id=OuterRef("flow_id")).order_by("-id").values("id")[:1]
    )
    return list(
        Run.objects.filter(flow_id__in=flow_ids, id=Subquery(latest)).values_list(
            "flow_id", "status", "created_at"
        )
    )


@dataclass(frozen=True)
class RunFilters:
    flow_id: int | None = None
    status: str = ""
    trigger_kind: str = ""
    version: int | None = None  # a version number of ``flow_id``
    since: date | None = None
    until: date | None = None  # inclusive
    search: str = ""
    before_id: int | None = None  # keyset page: runs older than this id


def run_search_for_user(*, user: User, filters: RunFilters) -> QuerySet[Run]:
    """Runs matching the filters, newest first; page with ``before_id`` (no COUNT(*))."""
    runs = run_list_for_user(user=user, flow_id=filters.flow_id, status=filters.status or None)
    if filters.trigger_kind:
        runs = runs.filter(trigger_kind=filters.trigger_kind)
    if filters.version is not None and filters.flow_id is not None:
        runs = runs.filter(version__number=filters.version)
    if filters.since:
        runs = runs.filter(created_at__gte=start_of(filters.since))
    if filters.until:
        runs = runs.filter(created_at__lt=start_of(filters.until + timedelta(days=1)))
    if filters.search:
        runs = _search(runs, filters.search)
    if filters.before_id is not None:
        runs = runs.filter(pk__lt=filters.before_id)
    return runs.order_by("-id")


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _search(runs: QuerySet[Run], search: str) -> QuerySet[Run]:
    """Runs whose input holds the words/numbers of ``search`` (GIN-indexed on PostgreSQL),
    or whose id it is."""
    run_id = positive_int(search)
    by_id = Q(pk=run_id) if run_id is not None else Q(pk__in=[])
    search = search.replace("\x00", "")  # PostgreSQL refuses NUL in text, even to compare
    if connection.vendor == "postgresql":
        words = RawSQL(
            "jsonb_to_tsvector('simple', runtime_run.input, '[\"string\", \"numeric\"]') "
            "@@ plainto_tsquery('simple', %s)",
            [search],
            output_field=BooleanField(),
        )
        return runs.filter(by_id | Q(words))
    return runs.alias(input_text=Cast("input", TextField())).filter(
        by_id | Q(input_text__icontains=search)
    )


# ---------------------------------------------------------------------------------------
# Approvals (runtime.steps.flow_approval): the open waits a user may decide

MAX_APPROVALS_SCANNED = 1000


def _open_approvals() -> QuerySet[Suspension]:
    return (
        Suspension.objects.filter(
            kind=Suspension.Kind.APPROVAL,
            resolved_at__isnull=True,
            step__status=StepStatus.WAITING,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .select_related("run__flow", "step", "workspace")
        .defer("run__version__graph")
    )


def approval_list_for_user(*, user: User) -> list[Suspension]:
    """The open approvals ``user`` is an approver of (by role or by name), newest first.
    Eligibility is read from each wait's details in Python (a JSON containment query is
    not portable to SQLite, the embedded default), over the newest open waits of the
    user's workspaces."""
    roles = access.roles_for_user(user=user)  # one query, not one per wait
    waiting = _open_approvals().filter(workspace__in=list(roles)).order_by("-id")
    name = user.get_username()
    return [
        suspension
        for suspension in waiting[:MAX_APPROVALS_SCANNED]
        if is_approver(
            details=suspension.details, role=roles.get(suspension.workspace_id), username=name
        )
    ]


def approval_get_for_user(*, user: User, approval_id: int | str) -> Suspension:
    """An approval (open or not) the user may decide: 404 outside its workspace, 403 for
    a member who is not one of its approvers."""
    workspaces = access.workspace_list_for_user(user=user)
    found = Suspension.objects.filter(kind=Suspension.Kind.APPROVAL, workspace__in=workspaces)
    try:
        suspension = (
            found.select_related("run__flow", "step", "workspace")
            .defer("run__version__graph")
            .get(pk=int(approval_id))
        )
    except (Suspension.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such approval.") from None
    role = access.role_for_user(user=user, workspace=suspension.workspace)
    if not is_approver(details=suspension.details, role=role, username=user.get_username()):
        raise PermissionDenied("You are not one of this step's approvers.")
    return suspension


def replay_batch_list(*, flow: Flow) -> QuerySet[ReplayBatch]:
    """The flow's recent replay batches (the caller may read the flow)."""
    return ReplayBatch.objects.filter(flow=flow).select_related("version")[:50]


def replay_batch_get_for_user(*, user: User, batch_id: int | str) -> ReplayBatch:
    batches = access.scope(ReplayBatch.objects.all(), user=user, via="flow__workspace")
    try:
        return batches.select_related("flow__workspace", "version").get(pk=int(batch_id))
    except (ReplayBatch.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such replay.") from None


def flow_test_list(*, flow: Flow) -> QuerySet[FlowTest]:
    """The flow's tests (the caller may read the flow)."""
    return FlowTest.objects.filter(flow=flow).order_by("name")


def flow_test_get_for_user(*, user: User, test_id: int | str, write: bool = False) -> FlowTest:
    tests = access.scope(FlowTest.objects.all(), user=user, via="flow__workspace")
    try:
        test = tests.select_related("flow__workspace").get(pk=int(test_id))
    except (FlowTest.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such test.") from None
    if write:
        access.require_role(
            user=user,
            workspace=test.flow.workspace,
            min_role=Role.EDITOR,
            message="Your role in this workspace can read tests but not change them.",
        )
    return test


# ---------------------------------------------------------------------------------------
# Container images (runtime.images): every member reads them (editors pick one for a
# code.container step); admins register them.


def image_list_for_user(
    *, user: User, workspace_id: int | None = None, min_role: Role = Role.VIEWER
) -> QuerySet[ContainerImage]:
    """The images of the workspaces where the user has ``min_role``: current ones first,
    then by workspace, name and newest first."""
    images = access.scope(
        ContainerImage.objects.all(), user=user, via="workspace", min_role=min_role
    )
    if workspace_id is not None:
        images = images.filter(workspace_id=workspace_id)
    return images.select_related("workspace", "created_by").order_by(
        "-current", "workspace_id", "name", "-created_at", "-id"
    )


def image_get_for_user(*, user: User, image_id: int | str) -> ContainerImage:
    """An image of one of the user's workspaces (404 otherwise)."""
    try:
        return image_list_for_user(user=user).get(pk=int(image_id))
    except (ContainerImage.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such image.") from None


def image_get_for_admin(*, user: User, image_id: int | str) -> ContainerImage:
    """An image the user administers: 404 outside its workspace, 403 for other roles."""
    image = image_get_for_user(user=user, image_id=image_id)
    access.require_role(
        user=user,
        workspace=image.workspace,
        min_role=Role.ADMIN,
        message="Only workspace admins manage images.",
    )
    return image
