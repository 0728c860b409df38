"""The Approvals page (what waits for the current user's decision, htmx Approve / Reject)
and the page an emailed link opens (runtime.approvals). Thin: a selector, the service."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from runtime import approvals, selectors
from runtime.models import Suspension


@login_required
@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    waiting = selectors.approval_list_for_user(user=request.user)
    rows = [_row(suspension) for suspension in waiting]
    return render(request, "runtime/approvals.html", {"rows": rows})


@login_required
@require_POST
def approval_decide(request: HttpRequest, approval_id: int) -> HttpResponse:
    """Decide and answer with the row replaced by the outcome (htmx swaps it)."""
    suspension = selectors.approval_get_for_user(user=request.user, approval_id=approval_id)
    try:
        approvals.approval_decide(
            suspension=suspension,
            decision=request.POST.get("decision", ""),
            fields=form_fields(request.POST),
            comment=request.POST.get("comment", ""),
            user=request.user,
        )
    except approvals.ApprovalRefused as exc:
        context = {"row": _row(suspension), "problem": exc}
        return render(request, "runtime/partials/approval_row.html", context, status=exc.status)
    context = {"row": _row(suspension), "decided": request.POST["decision"]}
    return render(request, "runtime/partials/approval_row.html", context)


# The signed token in the URL is the authorization, and a cross-site page cannot know it:
# no CSRF cookie is needed (the approver has no session here).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def approval_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what is asked and a confirm button (mail scanners follow links: a GET
    never decides); POST decides."""
    try:
        ticket = approvals.email_ticket(token)
    except approvals.ApprovalRefused as exc:
        return render(request, "runtime/approval_email.html", {"problem": exc}, status=exc.status)
    context: dict[str, Any] = {"row": _row(ticket.suspension), "ticket": ticket}
    if request.method == "GET":
        try:
            approvals.refuse_ended(ticket.suspension)
        except approvals.ApprovalRefused as exc:  # say so before anyone fills the form
            context["problem"] = exc
            return render(request, "runtime/approval_email.html", context, status=exc.status)
    else:
        try:
            approvals.approval_decide(
                suspension=ticket.suspension,
                decision=ticket.decision,
                fields=form_fields(request.POST),
                comment=request.POST.get("comment", ""),
                email=ticket.email,
            )
        except approvals.ApprovalRefused as exc:
            context["problem"] = exc
            return render(request, "runtime/approval_email.html", context, status=exc.status)
        context["decided"] = ticket.decision
    return render(request, "runtime/approval_email.html", context)


def form_fields(data: QueryDict) -> dict[str, Any]:
    """The approver's fields from a form: inputs named ``field.<name>``."""
    return {key[6:]: value for key, value in data.items() if key.startswith("field.")}


def _row(suspension: Suspension) -> dict[str, Any]:
    """What the pages show of a wait: the run's trigger input is shown as any viewer of
    the run sees it (runtime.disclosure hides only what steps derived from secrets)."""
    return {
        "id": suspension.pk,
        "flow": suspension.run.flow,
        "run_id": suspension.run_id,
        "details": suspension.details,
        "input": json.dumps(suspension.run.input, indent=2, sort_keys=True),
        "expires_at": suspension.expires_at,
        "created_at": suspension.created_at,
    }
