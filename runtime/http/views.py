"""Run history and run pages (server-rendered; htmx swaps the list rows), and the actions
on a run: cancel, re-run (same or edited input, its version or the live one), retry."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from designer import access
from designer.graph import ERROR_HANDLE
from designer.models import Role
from designer.params import positive_int, search_param
from runtime import disclosure, health, runs, selectors
from runtime.engine.status import RUN_FINISHED, RunStatus, StepStatus
from runtime.http import items
from runtime.kinds.idempotency import effect_keys
from runtime.models import Run

PAGE = 50
# What the runs list can filter by (Run.trigger_kind); item runs are never listed.
TRIGGER_KINDS = ["webhook", "cron", "event", "dbchange", "queue", "manual", "called", "error"]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # every view here is behind login_required


@login_required
@require_GET
def run_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = _filters(request.GET)
    # The "Older runs" link adds its own before=: the query it extends must not carry one.
    query = request.GET.copy()
    query.pop("before", None)
    runs = list(selectors.run_search_for_user(user=request.user, filters=filters)[: PAGE + 1])
    context: dict[str, Any] = {
        "runs": runs[:PAGE],
        "older": runs[PAGE - 1].pk if len(runs) > PAGE else None,
        "filters": filters,
        "query": query.urlencode(),
        "statuses": RunStatus.choices,
        "kinds": TRIGGER_KINDS,
        "flows": access.flow_list_for_user(user=request.user)
        .select_related(None)
        .only("id", "name")[:500],
    }
    # The rows alone: the next page, or the first one again for a live page (live_lists.js).
    rows_only = bool(request.htmx) and (
        filters.before_id is not None or request.htmx.target == "run-rows"
    )
    if filters.flow_id is not None and not filters.before_id and not rows_only:
        context["health"] = _health(request, filters.flow_id)
    template = (
        "runtime/partials/run_rows.html"
        if rows_only
        else "runtime/partials/run_results.html"
        if request.htmx
        else "runtime/run_list.html"
    )
    return render(request, template, context)


def _health(request: HttpRequest, flow_id: int) -> dict[str, Any] | None:
    """The flow's health, if the user may see the flow (else nothing: a foreign id in the
    query string shows no more than an unknown one)."""
    try:
        flow = access.flow_get_for_user(user=request.user, flow_id=flow_id)
    except Http404:
        return None
    return health.flow_health(flow=flow)


def _filters(params: Any) -> selectors.RunFilters:
    def day(name: str) -> date | None:
        try:
            value = date.fromisoformat(params.get(name, ""))
        except ValueError:
            return None
        # The last day of year 9999 has no next day to end the range at.
        return value if date.min < value < date.max else None

    status = params.get("status", "")
    kind = params.get("trigger", "")
    return selectors.RunFilters(
        flow_id=positive_int(params.get("flow")),
        status=status if status in RunStatus.values else "",
        trigger_kind=kind if kind in TRIGGER_KINDS else "",
        version=positive_int(params.get("version")),
        since=day("since"),
        until=day("until"),
        search=search_param(params),
        before_id=positive_int(params.get("before")),
    )


PARTIALS = {
    "run-actions": "runtime/partials/run_actions.html",
    "run-timeline": "runtime/partials/run_timeline.html",
}


@login_required
@require_GET
def run_detail(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """The run page; htmx asks for its actions or timeline alone as the run progresses."""
    found = selectors.run_get_for_user(user=request.user, run_id=run_id)
    reveal = disclosure.reveals(user=request.user, workspace=found.flow.workspace)
    run = disclosure.run_shown(found, reveal=reveal)
    steps = disclosure.steps_shown(selectors.run_steps(run=found), reveal=reveal)
    nodes = run.version.graph["nodes"]
    names = {node["id"]: node.get("name", node["id"]) for node in nodes}
    done = sum(
        step.status
        in (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED)
        for step in steps
    )
    role = access.role_for_user(user=request.user, workspace=run.flow.workspace)
    template = PARTIALS.get(request.htmx.target or "", "runtime/run_detail.html")
    return render(
        request,
        template,
        {
            "run": run,
            "steps": steps,
            "names": names,
            "hidden": disclosure.HIDDEN,
            "keys": effect_keys(run_id=run.pk, created_at=run.created_at, nodes=nodes),
            "done": done,
            "total": len(steps),
            "timeline": _timeline(run, steps),
            "can_act": Role.can_write(role),
            "finished": run.status in RUN_FINISHED,
            "graph": run.version.graph,
            "family": selectors.run_family_for_user(user=request.user, run=found),
            "loops": {
                step.node_id: _items(step, reveal=reveal)
                for step in steps
                if items.is_foreach(step)
            },
        },
    )


PAGE_LINKS = 12  # more pages than this: Previous/Next and "Page n of m" only


def _items(step: Any, *, reveal: bool, status: str = "", page: int = 1) -> dict[str, Any]:
    """A for-each step's progress and a page of its items, for the run page."""
    found = selectors.step_items(step=step, status=status, page=page)
    progress = items.step_progress(step)
    return {
        "node_id": step.node_id,
        "run_id": step.run_id,
        "progress": progress,
        "counts": found.counts,
        "found": found,
        "rows": items.item_rows(found, reveal=reveal),
        "status": status,
        "pages": range(1, found.pages + 1) if found.pages <= PAGE_LINKS else None,
    }


@login_required
@require_GET
def run_step_items(request: HttpRequest, run_id: int, node_id: str) -> HttpResponse:
    """A page of a for-each step's items (htmx swaps it into the run page)."""
    step = selectors.step_get_for_user(user=request.user, run_id=run_id, node_id=node_id)
    page = positive_int(request.GET.get("page")) or 1
    status = request.GET.get("status", "")
    status = status if status in RunStatus.values else ""
    reveal = disclosure.reveals(user=request.user, workspace=step.run.flow.workspace)
    loop = _items(step, reveal=reveal, status=status, page=page)
    return render(request, "runtime/partials/step_items.html", {"loop": loop})


def _timeline(run: Run, steps: list[Any]) -> list[dict[str, Any]]:
    """Each step's bar: offset and width as percentages of the run's span."""
    # From the run's creation: its trigger step is done then, before a worker claims the
    # first step and marks the run started.
    start = min([run.created_at, *(s.started_at for s in steps if s.started_at)])
    ends = [s.finished_at for s in steps if s.finished_at] + [run.finished_at or start]
    span = max((max(ends) - start).total_seconds(), 0.001)
    bars = []
    for step in steps:
        if not step.started_at:
            continue
        end = step.finished_at or max(ends)
        bars.append(
            {
                "node_id": step.node_id,
                "status": step.status,
                "handled": step.handle == ERROR_HANDLE and step.status == StepStatus.FAILED,
                "left": max(0.0, (step.started_at - start).total_seconds() / span * 100),
                "width": max(0.5, (end - step.started_at).total_seconds() / span * 100),
                "seconds": step.duration_seconds,
            }
        )
    return bars


@login_required
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_user(user=request.user, run_id=run_id, write=True)
    try:
        runs.run_cancel(run=run, user=_user(request))
    except runs.RunRefused as exc:
        messages.error(request, str(exc))
    return redirect("runtime:run-detail", run_id=run.pk)


@login_required
@require_POST
def run_again(request: HttpRequest, run_id: int, how: str) -> HttpResponse:
    """how: "rerun" (from the trigger, same input) or "retry" (from the failed step);
    ``version=live`` runs on the live version instead of the run's own."""
    run = selectors.run_get_for_user(user=request.user, run_id=run_id, write=True)
    on_live = request.POST.get("version") == "live"
    try:
        if how == "retry":
            new = runs.run_retry(run=run, user=_user(request), on_live=on_live)
        else:
            new = runs.run_rerun(run=run, user=_user(request), on_live=on_live)
    except runs.RunRefused as exc:
        messages.error(request, str(exc))
        return redirect("runtime:run-detail", run_id=run.pk)
    return redirect("runtime:run-detail", run_id=new.pk)


@login_required
@require_http_methods(["GET", "POST"])
def run_edit_input(request: HttpRequest, run_id: int) -> HttpResponse:
    """Edit the run's input as JSON, then re-run with it; what was typed survives errors."""
    run = selectors.run_get_for_user(user=request.user, run_id=run_id, write=True)
    text = request.POST.get("input") if request.method == "POST" else None
    error = ""
    if text is not None:
        try:
            payload = json.loads(text)
            new = runs.run_rerun(
                run=run,
                user=_user(request),
                on_live=request.POST.get("version") == "live",
                payload=payload,
            )
            return redirect(reverse("runtime:run-detail", args=[new.pk]))
        except RecursionError:  # json.loads recurses once per bracket
            error = "The input is nested too deeply."
        except ValueError as exc:
            error = f"The input is not valid JSON: {exc}"
        except runs.RunRefused as exc:
            error = str(exc)
    return render(
        request,
        "runtime/edit_input.html",
        {
            "run": run,
            "text": text if text is not None else json.dumps(run.input, indent=2),
            "error": error,
        },
        status=400 if error else 200,
    )
