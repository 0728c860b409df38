"""Server-rendered pages; htmx requests get just the partial they asked for."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from designer import selectors


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@login_required
@require_GET
def flow_list(request: HtmxHttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:200]
    archived = request.GET.get("archived") == "1"
    flows = selectors.flow_list_for_user(user=request.user, search=search, archived=archived)
    context: dict[str, Any] = {"flows": flows[:500], "search": search, "archived": archived}
    template = "designer/partials/flow_rows.html" if request.htmx else "designer/flow_list.html"
    return render(request, template, context)


@login_required
@require_GET
def flow_detail(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = selectors.flow_get_for_user(user=request.user, flow_id=flow_id)
    versions = selectors.flow_version_list(flow=flow)[:50]
    role = selectors.role_for_user(user=request.user, workspace=flow.workspace)
    shown = flow.live_version or (versions[0] if versions else None)
    return render(
        request,
        "designer/flow_detail.html",
        {
            "flow": flow,
            "versions": versions,
            "role": role,
            "shown": shown,
            "events": selectors.flow_event_list(flow=flow)[:20],
        },
    )
