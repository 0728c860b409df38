"""Writes to flows and versions. Every function is keyword-only and checks the graph contract;
callers (views, API, commands) have already checked the user's permission."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from designer import access
from designer.graph import Graph, parse_graph, text_problem
from designer.models import Flow, FlowEvent, FlowVersion, Membership, Role, Workspace
from runtime.services import (
    error_flow_problem,
    flow_tests_export,
    flow_tests_import,
    flow_tests_start,
    flow_tests_verdict,
    graph_check_workspace,
    graph_pin_images,
    step_catalog,
    template_budget,
    template_problem,
    triggers_sync,
)

EXPORT_FORMAT = 1


class TestsFailing(Exception):
    """The version's flow tests fail (or have not finished): it is not published."""

    def __init__(self, message: str, verdict: Any):
        self.verdict = verdict
        super().__init__(message)


class InvalidRequest(Exception):
    """Input that is well-formed but cannot be acted on; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


class VersionConflict(Exception):
    """Someone saved a newer version since the editor loaded ``based_on``."""

    def __init__(self, latest: FlowVersion):
        self.latest = latest
        author = latest.author.get_username() if latest.author else "someone"
        super().__init__(
            f"Version {latest.number} was saved by {author} after the version you started "
            "from. Load it, or save yours on top of it."
        )


def text_check(**fields: str | None) -> None:
    """Refuse text PostgreSQL cannot store, naming the field. DRF's CharField already
    refuses it; this covers the callers that bypass a serializer (import, pages, commands)."""
    for name, value in fields.items():
        problem = text_problem(value) if value is not None else None
        if problem:
            raise InvalidRequest(
                f"The {name} contains {problem}, which cannot be stored.", field=name
            )


def graph_validate(graph: Any) -> Graph:
    """Parse ``graph`` against the catalog and the configured limits; raises GraphInvalid."""
    with template_budget():
        return parse_graph(
            graph,
            catalog=step_catalog(),
            max_nodes=settings.TRIBUTARY_MAX_NODES,
            max_bytes=settings.TRIBUTARY_MAX_GRAPH_BYTES,
            template_check=template_problem,
        )


def workspace_create(*, name: str, admin: User | None = None) -> Workspace:
    base = slugify(name)[:50] or "workspace"
    slug, suffix = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        suffix += 1
        slug = f"{base}-{suffix}"
    workspace = Workspace.objects.create(name=name, slug=slug)
    if admin is not None:
        Membership.objects.create(workspace=workspace, user=admin, role=Role.ADMIN)
    return workspace


def workspace_for_new_flow(*, user: User, workspace_id: int | None) -> Workspace:
    """The workspace a new flow goes to: the one asked for, or the user's only writable one."""
    candidates = access.workspace_list_for_user(user=user, min_role=Role.EDITOR)
    if workspace_id is not None:
        workspace = candidates.filter(pk=workspace_id).first()
        if workspace is None:
            raise PermissionDenied("You cannot create flows in that workspace.")
        return workspace
    writable = list(candidates[:2])
    if not writable:
        raise PermissionDenied("Your role lets you read flows but not create them.")
    if len(writable) > 1:
        raise InvalidRequest("You belong to several workspaces; say which one.", field="workspace")
    return writable[0]


@transaction.atomic
def flow_create(
    *,
    user: User,
    workspace: Workspace,
    name: str,
    description: str = "",
    graph: Any = None,
    message: str = "",
    action: str = FlowEvent.Action.CREATED,
) -> Flow:
    """Create a flow, with version 1 when a graph is given (validated first; nothing is
    stored when it is invalid)."""
    text_check(name=name, description=description, message=message)
    parsed = graph_validate(graph) if graph is not None else None
    if parsed is not None:
        graph_check_workspace(graph=parsed, workspace_id=workspace.pk, flow_id=None)
    flow = Flow.objects.create(workspace=workspace, name=name, description=description, owner=user)
    FlowEvent.objects.create(flow=flow, actor=user, action=action)
    if parsed is not None:
        _version_create(
            flow=flow,
            user=user,
            graph=parsed,
            message=message or "First version",
            number=1,
            based_on=None,
        )
    return flow


@transaction.atomic
def flow_update(
    *,
    flow: Flow,
    user: User,
    name: str | None = None,
    description: str | None = None,
) -> Flow:
    text_check(name=name, description=description)
    if name is not None and name != flow.name:
        FlowEvent.objects.create(
            flow=flow,
            actor=user,
            action=FlowEvent.Action.RENAMED,
            detail={"from": flow.name, "to": name},
        )
        flow.name = name
    if description is not None:
        flow.description = description
    flow.updated_at = timezone.now()
    flow.save(update_fields=["name", "description", "updated_at"])
    return flow


@transaction.atomic
def flow_archive(*, flow: Flow, user: User) -> Flow:
    """Archive a flow: it leaves the list and its triggers stop; history stays."""
    if flow.archived_at is None:
        flow.archived_at = timezone.now()
        flow.save(update_fields=["archived_at"])
        triggers_sync(flow=flow)
        FlowEvent.objects.create(flow=flow, actor=user, action=FlowEvent.Action.ARCHIVED)
    return flow


@transaction.atomic
def flow_restore(*, flow: Flow, user: User) -> Flow:
    if flow.archived_at is not None:
        flow.archived_at = None
        flow.save(update_fields=["archived_at"])
        triggers_sync(flow=flow)
        FlowEvent.objects.create(flow=flow, actor=user, action=FlowEvent.Action.RESTORED)
    return flow


def flow_version_save(
    *,
    flow: Flow,
    user: User,
    graph: Any,
    message: str = "",
    based_on: int | None = None,
    force: bool = False,
) -> FlowVersion:
    """Store ``graph`` as the flow's next version.

    Raises GraphInvalid (nothing stored); InvalidRequest when ``based_on`` names a version
    that does not exist (0 means "no version yet"); VersionConflict when ``based_on`` is
    older than the latest version and ``force`` is not set. Two concurrent saves get
    consecutive numbers: the flow row is locked while the next number is taken.
    """
    text_check(message=message)
    parsed = graph_validate(graph)  # outside the lock: it may spawn a JavaScript check
    graph_check_workspace(graph=parsed, workspace_id=flow.workspace_id, flow_id=flow.pk)
    with transaction.atomic():
        locked = Flow.objects.select_for_update().get(pk=flow.pk)
        latest = FlowVersion.objects.filter(flow=locked).aggregate(n=Max("number"))["n"] or 0
        if based_on is not None and based_on > latest:
            has = (
                f"its latest is {latest}" if latest else "it has none yet (send 0 or omit based_on)"
            )
            raise InvalidRequest(
                f"based_on names version {based_on}, which this flow does not have; {has}.",
                field="based_on",
            )
        if based_on is not None and based_on != latest and not force:
            raise VersionConflict(
                FlowVersion.objects.select_related("author").get(flow=locked, number=latest)
            )
        version = _version_create(
            flow=locked,
            user=user,
            graph=parsed,
            message=message,
            number=latest + 1,
            based_on=based_on,
        )
        # Every saved version is checked against the flow's tests, in the background.
        flow_tests_start(flow=locked, version=version, user=user)
        return version


def _version_create(
    *,
    flow: Flow,
    user: User,
    graph: Graph,
    message: str,
    number: int,
    based_on: int | None,
) -> FlowVersion:
    # The images its container steps name, as they are now: this version keeps running them.
    graph = graph_pin_images(graph=graph, workspace_id=flow.workspace_id)
    version = FlowVersion.objects.create(
        flow=flow,
        number=number,
        graph=graph.as_json(),
        message=message,
        author=user,
        based_on=based_on,
    )
    Flow.objects.filter(pk=flow.pk).update(updated_at=version.created_at)
    FlowEvent.objects.create(
        flow=flow,
        actor=user,
        action=FlowEvent.Action.VERSION_SAVED,
        to_version=number,
        detail={"message": message},
    )
    return version


def flow_publish(*, flow: Flow, user: User, number: int, override: str = "") -> FlowEvent:
    """Make version ``number`` the live one. Publishing an older number is a rollback.

    Publishing re-validates the graph: a version saved under an older catalog (or, say, a
    database-change trigger saved before moving to SQLite) must not go live if it is invalid
    now. Going forward, the flow's tests must have passed on the version (TestsFailing
    otherwise), unless a workspace admin gives the reason to ``override`` them, which the
    audit trail keeps. A rollback is never held back by tests.
    """
    try:
        return _publish(flow=flow, user=user, number=number, override=override)
    except TestsFailing as refused:
        if refused.verdict.state == "missing":
            # Saved before its tests existed: test it now (the refusal rolled back the
            # publishing transaction, so in a transaction of its own).
            with transaction.atomic():
                version = FlowVersion.objects.get(flow=flow, number=number)
                flow_tests_start(flow=flow, version=version, user=user)
        raise


def _publish(*, flow: Flow, user: User, number: int, override: str) -> FlowEvent:
    with transaction.atomic():
        locked = (
            Flow.objects.select_for_update(of=("self",))
            .select_related("live_version")
            .get(pk=flow.pk)
        )
        if locked.archived_at is not None:
            raise InvalidRequest("Restore the archived flow before publishing it.")
        version = FlowVersion.objects.filter(flow=locked, number=number).first()
        if version is None:
            raise InvalidRequest(f"There is no version {number} of this flow.", field="version")
        parsed = graph_validate(version.graph)
        # Going live changes what calls reach this flow: a cycle may appear only now.
        graph_check_workspace(graph=parsed, workspace_id=locked.workspace_id, flow_id=locked.pk)
        previous = locked.live_version.number if locked.live_version else None
        detail = _tests_gate(
            locked, version, user, override, forward=previous is None or number > previous
        )
        action = (
            FlowEvent.Action.ROLLED_BACK
            if previous is not None and number < previous
            else FlowEvent.Action.PUBLISHED
        )
        locked.live_version = version
        locked.updated_at = timezone.now()
        locked.save(update_fields=["live_version", "updated_at"])
        triggers_sync(flow=locked)  # the triggers swap in this same transaction
        return FlowEvent.objects.create(
            flow=locked,
            actor=user,
            action=action,
            from_version=previous,
            to_version=number,
            detail=detail,
        )


def _tests_gate(
    flow: Flow, version: FlowVersion, user: User, override: str, *, forward: bool
) -> dict[str, Any]:
    """Refuse to publish ``version`` unless its tests passed; the audit detail otherwise."""
    if not forward:
        return {}
    verdict = flow_tests_verdict(version=version)
    if verdict.state in ("none", "passed"):
        return {}
    failing = [case.name for case in verdict.failing]
    if override.strip():
        access.require_role(
            user=user,
            workspace=flow.workspace,
            min_role=Role.ADMIN,
            message="Only workspace admins may publish a version whose tests do not pass.",
        )
        return {
            "tests_overridden": override.strip()[:1000],
            "tests": verdict.state,
            "failing": failing,
        }
    if verdict.state == "failed":
        raise TestsFailing(
            f"Version {version.number} fails {len(failing)} of its flow's tests "
            f"({', '.join(failing)}); fix them, or an admin may publish it anyway with a reason.",
            verdict,
        )
    done = sum(case.state != "running" for case in verdict.cases)
    raise TestsFailing(
        f"The flow's tests are still running on version {version.number} ({done} of "
        f"{len(verdict.cases)} done); publish it once they pass.",
        verdict,
    )


def flow_export(*, flow: Flow, version: FlowVersion) -> dict[str, Any]:
    """The graph contract plus the flow's name: the import format."""
    return {
        "tributary": EXPORT_FORMAT,
        "name": flow.name,
        "description": flow.description,
        **version.graph,
        "tests": flow_tests_export(flow=flow),
    }


def flow_import(*, user: User, workspace: Workspace, data: Any, name: str | None = None) -> Flow:
    """Create a flow from an export; raises InvalidRequest or GraphInvalid naming what is
    wrong, and stores nothing then."""
    if not isinstance(data, dict):
        raise InvalidRequest("An export is a JSON object with name, nodes and edges.")
    if data.get("tributary", EXPORT_FORMAT) != EXPORT_FORMAT:
        raise InvalidRequest(
            f"This file is export format {data.get('tributary')!r}; this server reads "
            f"format {EXPORT_FORMAT}.",
            field="tributary",
        )
    name = name or data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidRequest("The export needs a name of 1-200 characters.", field="name")
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 5000:
        raise InvalidRequest(
            "description must be text of at most 5000 characters.", field="description"
        )
    graph = {key: value for key, value in data.items() if key in {"nodes", "edges", "settings"}}
    graph, dropped = _without_foreign_error_flow(graph, workspace)
    with transaction.atomic():
        flow = flow_create(
            user=user,
            workspace=workspace,
            name=name.strip(),
            description=description,
            graph=graph,
            message=f"Imported; {dropped}" if dropped else "Imported",
            action=FlowEvent.Action.IMPORTED,
        )
        flow_tests_import(flow=flow, tests=data.get("tests"), user=user)
        version = flow.versions.order_by("-number").first()
        if version is not None:
            flow_tests_start(flow=flow, version=version, user=user)
    return flow


def _without_foreign_error_flow(graph: dict[str, Any], workspace: Workspace) -> tuple[Any, str]:
    """An export names its error flow by id, which means another flow (or none) in another
    workspace or server. The import keeps it only if it can be this workspace's error flow;
    otherwise it drops it, keeps the alert, and says so (the version message) rather than
    refuse the whole import over a setting the user can choose again."""
    given = graph.get("settings")
    if not isinstance(given, dict) or not isinstance(given.get("on_failure"), dict):
        return graph, ""
    on_failure: dict[str, Any] = given["on_failure"]
    target = on_failure.get("flow")
    if not isinstance(target, int) or isinstance(target, bool):
        return graph, ""  # absent, or malformed: the graph's validation names it
    problem = error_flow_problem(target_id=target, workspace_id=workspace.pk, flow_id=None)
    if problem is None:
        return graph, ""
    kept = {key: value for key, value in on_failure.items() if key != "flow"}
    flow_settings = {key: value for key, value in given.items() if key != "on_failure"}
    if kept:
        flow_settings["on_failure"] = kept
    why = f"the error flow #{target} was dropped ({problem})"
    return {**graph, "settings": flow_settings}, why
