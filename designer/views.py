"""Server-rendered pages; htmx requests get just the partial they asked for.

The designer itself is the canvas island (static/src/canvas), which talks to the REST API;
these views render the pages around it and the htmx fragments of the flow list and the
version history.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from designer import access, selectors, services
from designer.diff import graph_diff
from designer.graph import SETTINGS_SCHEMA, GraphInvalid
from designer.models import Flow, FlowVersion, Role, Workspace
from designer.params import positive_int, search_param
from runtime.services import flow_run_stats, flow_tests_start, flow_tests_verdict

SPARK_WIDTH, SPARK_HEIGHT = 84, 20
TESTED_VERSIONS = 20  # the versions page shows the flow tests of the newest ones


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@login_required
@require_GET
def flow_list(request: HtmxHttpRequest) -> HttpResponse:
    search = search_param(request.GET)
    archived = request.GET.get("archived") == "1"
    flows = list(
        access.flow_list_for_user(user=request.user, search=search, archived=archived)[:500]
    )
    context: dict[str, Any] = {
        "rows": _rows(flows),
        "search": search,
        "archived": archived,
        "workspaces": _writable_workspaces(request),
    }
    template = "designer/partials/flow_rows.html" if request.htmx else "designer/flow_list.html"
    return render(request, template, context)


def _writable_workspaces(request: HttpRequest) -> list[Workspace]:
    """Where the user may create flows (the create form offers a choice when several)."""
    return list(access.workspace_list_for_user(user=request.user, min_role=Role.EDITOR))


def _rows(flows: list[Flow]) -> list[dict[str, Any]]:
    stats = flow_run_stats(flow_ids=[flow.pk for flow in flows]) if flows else {}
    rows = []
    for flow in flows:
        flow_stats = stats.get(flow.pk, {})
        daily = list(flow_stats.get("daily") or [])  # type: ignore[call-overload]  # a list of ints
        rows.append(
            {
                "flow": flow,
                "last_status": flow_stats.get("last_status"),
                "last_at": flow_stats.get("last_at"),
                "daily": daily,
                "total": sum(daily),
                "spark": _sparkline(daily),
            }
        )
    return rows


def _sparkline(daily: list[int]) -> str:
    """SVG polyline points for the runs per day, oldest on the left."""
    if len(daily) < 2:
        return ""
    top = max(daily) or 1
    step = SPARK_WIDTH / (len(daily) - 1)
    return " ".join(
        f"{index * step:.1f},{SPARK_HEIGHT - 2 - (count / top) * (SPARK_HEIGHT - 4):.1f}"
        for index, count in enumerate(daily)
    )


@login_required
@require_POST
def flow_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    if not name or len(name) > 200:
        return _list_with_error(request, "Give the flow a name of 1-200 characters.")
    try:
        workspace = services.workspace_for_new_flow(
            user=request.user,  # type: ignore[arg-type]  # login_required ran
            workspace_id=positive_int(request.POST.get("workspace", "")),
        )
        # No version yet: the designer opens on an empty canvas that asks how the flow
        # starts (a ready-made manual trigger was deleted by most people building a webhook).
        flow = services.flow_create(
            user=request.user,  # type: ignore[arg-type]  # login_required ran
            workspace=workspace,
            name=name,
        )
    except services.InvalidRequest as exc:
        return _list_with_error(request, str(exc))
    return redirect("designer:flow-detail", flow_id=flow.pk)


def _list_with_error(request: HttpRequest, message: str) -> HttpResponse:
    flows = list(access.flow_list_for_user(user=request.user)[:500])
    context = {
        "rows": _rows(flows),
        "search": "",
        "archived": False,
        "workspaces": _writable_workspaces(request),
        "create_error": message,
        "create_name": request.POST.get("name", ""),
    }
    return render(request, "designer/flow_list.html", context, status=400)


@login_required
@require_POST
def flow_archive(request: HtmxHttpRequest, flow_id: int) -> HttpResponse:
    flow = access.flow_get_for_user(user=request.user, flow_id=flow_id, write=True)
    if request.POST.get("restore") == "1":
        services.flow_restore(flow=flow, user=request.user)  # type: ignore[arg-type]
    else:
        services.flow_archive(flow=flow, user=request.user)  # type: ignore[arg-type]
    if request.htmx:
        return HttpResponse("")  # the row leaves the list it was in
    return redirect("designer:flow-list")


def _settings_schema() -> dict[str, Any]:
    """The step settings' schema, the queue offered as a choice of the declared queues."""
    schema = copy.deepcopy(SETTINGS_SCHEMA)
    schema["properties"]["queue"]["enum"] = settings.TRIBUTARY_QUEUE_NAMES
    return schema


@login_required
@require_GET
def flow_detail(request: HttpRequest, flow_id: int) -> HttpResponse:
    """The designer: the canvas island edits the latest version through the API."""
    flow = access.flow_get_for_user(user=request.user, flow_id=flow_id)
    role = access.role_for_user(user=request.user, workspace=flow.workspace)
    latest = selectors.flow_version_latest(flow=flow)
    boot = {
        "flow": {
            "id": flow.pk,
            "name": flow.name,
            "live_version": flow.live_version.number if flow.live_version else None,
            "archived": flow.is_archived,
            "workspace": flow.workspace_id,
        },
        "version": {"number": latest.number, "graph": latest.graph} if latest else None,
        "canWrite": Role.can_write(role),
        "isAdmin": role == Role.ADMIN,
        "settingsSchema": _settings_schema(),
        # The worker queues a flow or a step may name (runtime.engine.queues).
        "queues": settings.TRIBUTARY_QUEUE_NAMES,
        # A schedule without a time zone fires in this one (shown in its test input).
        "timeZone": settings.TIME_ZONE,
        "urls": {
            "list": reverse("designer:flow-list"),
            "versions": reverse("designer:flow-versions", args=[flow.pk]),
            # Where a run is shown in full; "{id}" is replaced by the run's id.
            "run": reverse("runtime:run-detail", args=[0]).replace("0", "{id}"),
            "runs": reverse("runtime:run-list") + f"?flow={flow.pk}",
        },
    }
    return render(
        request, "designer/flow_detail.html", {"flow": flow, "boot": boot, "latest": latest}
    )


@login_required
@require_GET
def flow_versions(request: HtmxHttpRequest, flow_id: int) -> HttpResponse:
    flow = access.flow_get_for_user(user=request.user, flow_id=flow_id)
    versions = list(selectors.flow_version_list(flow=flow)[:200])
    context: dict[str, Any] = {
        **_rows_context(request, flow, versions),
        "events": selectors.flow_event_list(flow=flow)[:20],
    }
    if len(versions) >= 2:
        context.update(_diff_context(flow, versions[1].number, versions[0].number))
    elif versions:
        context.update({"single": versions[0]})
    return render(request, "designer/flow_versions.html", context)


def _rows_context(request: HttpRequest, flow: Flow, versions: list[FlowVersion]) -> dict[str, Any]:
    """What the version rows show: each version with its flow tests (the newest ones)."""
    role = access.role_for_user(user=request.user, workspace=flow.workspace)
    tested = versions[:TESTED_VERSIONS] if versions else []
    verdicts = {}
    for version in tested:
        verdict = flow_tests_verdict(version=version)
        if verdict.state == "none":
            break  # the flow has no test: no version has a verdict
        verdicts[version.number] = verdict.as_dict()
    return {
        "flow": flow,
        "versions": versions,
        "rows": [{"version": v, "tests": verdicts.get(v.number)} for v in versions],
        "can_write": Role.can_write(role),
    }


@login_required
@require_http_methods(["GET", "POST"])
def version_tests(request: HtmxHttpRequest, flow_id: int, number: int) -> HttpResponse:
    """One version's flow tests (polled by the page while they run); POST runs them now."""
    flow = access.flow_get_for_user(
        user=request.user, flow_id=flow_id, write=request.method == "POST"
    )
    version = selectors.flow_version_get(flow=flow, number=number)
    if request.method == "POST":
        flow_tests_start(flow=flow, version=version, user=request.user)  # type: ignore[arg-type]  # login_required ran
    context = {
        "flow": flow,
        "version": version,
        "tests": flow_tests_verdict(version=version).as_dict(),
        "can_write": Role.can_write(
            access.role_for_user(user=request.user, workspace=flow.workspace)
        ),
    }
    if not request.htmx:
        return redirect("designer:flow-versions", flow_id=flow.pk)
    return render(request, "designer/partials/version_tests.html", context)


@login_required
@require_GET
def version_diff(request: HtmxHttpRequest, flow_id: int) -> HttpResponse:
    flow = access.flow_get_for_user(user=request.user, flow_id=flow_id)
    context = _diff_context(flow, request.GET.get("from", ""), request.GET.get("to", ""))
    if not request.htmx:
        return redirect(
            f"{reverse('designer:flow-versions', args=[flow.pk])}?"
            f"from={context['old'].number}&to={context['new'].number}"
        )
    return render(request, "designer/partials/version_diff.html", {"flow": flow, **context})


def _diff_context(flow: Flow, first: int | str, second: int | str) -> dict[str, Any]:
    a = selectors.flow_version_get(flow=flow, number=first)
    b = selectors.flow_version_get(flow=flow, number=second)
    old, new = (a, b) if a.number <= b.number else (b, a)
    diff = graph_diff(old.graph, new.graph)
    return {"old": old, "new": new, "diff": diff, "diff_empty": _diff_empty(diff)}


def _diff_empty(diff: dict[str, Any]) -> bool:
    return (
        not any(diff["nodes"].values()) and not any(diff["edges"].values()) and not diff["settings"]
    )


@login_required
@require_POST
def version_publish(request: HtmxHttpRequest, flow_id: int, number: int) -> HttpResponse:
    """Publish version ``number``; an older one than the live version is a rollback.

    A version whose flow tests fail (or still run) is refused with its cases; a workspace
    admin may publish it anyway by giving the reason (``override_tests``), which the audit
    trail keeps. Anyone else sending a reason gets 403 from the service."""
    flow = access.flow_get_for_user(user=request.user, flow_id=flow_id, write=True)
    override = request.POST.get("override_tests")
    error = None
    refusal = None
    try:
        services.flow_publish(
            flow=flow,
            user=request.user,  # type: ignore[arg-type]  # login_required ran
            number=number,
            override=(override or "")[:1000],
        )
    except (services.InvalidRequest, GraphInvalid) as exc:
        error = str(exc)
        if isinstance(exc, GraphInvalid):
            error += " " + "; ".join(problem.message for problem in exc.problems)
    except services.TestsFailing as exc:
        refusal = _refusal(request, flow, number, exc, override)
    target = reverse("designer:flow-versions", args=[flow.pk])
    if error is None and refusal is None:
        return HttpResponseClientRedirect(target) if request.htmx else HttpResponseRedirect(target)
    flow.refresh_from_db()
    versions: list[FlowVersion] = list(selectors.flow_version_list(flow=flow)[:200])
    context = {
        **_rows_context(request, flow, versions),
        "publish_error": error,
        "refusal": refusal,
    }
    if not request.htmx:  # the whole page, so that the refusal and its form are shown
        context["events"] = selectors.flow_event_list(flow=flow)[:20]
        return render(request, "designer/flow_versions.html", context, status=409)
    return render(request, "designer/partials/version_rows.html", context)


def _refusal(
    request: HttpRequest,
    flow: Flow,
    number: int,
    refused: services.TestsFailing,
    override: str | None,
) -> dict[str, Any]:
    """What the page says when publishing was refused because of the flow's tests."""
    return {
        "number": number,
        "detail": str(refused),
        "tests": refused.verdict.as_dict(),
        "can_override": access.has_role(
            user=request.user,
            workspace=flow.workspace,
            min_role=Role.ADMIN,
        ),
        # A reason was asked for and none given (the form's `required` was bypassed).
        "reason_missing": override is not None and not override.strip(),
    }
