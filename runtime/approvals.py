"""Deciding approvals (runtime.steps.flow_approval): who may, the approver's form, the
signed links mailed to approvers without accounts, and the audit trail.

A decision resolves the step's Suspension through runtime.engine.waits.resume, which
takes it once under the run's lock: a second decision, or one after the timeout or the
run's end, is refused with WaitEnded (a 409 for the caller). That is also what makes an
emailed link single-use: it names the wait, and the wait resolves once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from designer import access
from designer.json_values import text_problem
from designer.models import FlowEvent
from runtime.approvers import is_approver
from runtime.engine import waits
from runtime.engine.status import StepStatus
from runtime.models import Suspension

logger = logging.getLogger(__name__)

DECISIONS = ("approved", "rejected")
SALT = "tributary.approval.email"
LINK_DAYS = 7  # how long an emailed link works when the step has no timeout
MAX_TEXT = 2000


class ApprovalRefused(Exception):
    """The decision cannot be taken; ``status`` is the HTTP status to answer with (400 bad
    input naming ``field``, 403 not an approver, 409 decided already / ended)."""

    def __init__(self, message: str, *, status: int, field: str = "") -> None:
        self.status = status
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class EmailTicket:
    """What an emailed link says: this address may take this decision on this wait."""

    suspension: Suspension
    email: str
    decision: str


def may_decide(*, suspension: Suspension, user: access.User) -> bool:
    """Whether ``user`` (a member of the wait's workspace) is one of its approvers."""
    role = access.role_for_user(user=user, workspace=suspension.workspace)
    return is_approver(details=suspension.details, role=role, username=user.get_username())


def approval_decide(
    *,
    suspension: Suspension,
    decision: str,
    fields: dict[str, Any],
    comment: str = "",
    user: access.User | None = None,
    email: str = "",
) -> dict[str, Any]:
    """Take ``decision`` by ``user`` (checked here) or by ``email`` (a verified link), and
    queue the step. Returns the step's output to be. Raises ApprovalRefused."""
    if decision not in DECISIONS:
        raise ApprovalRefused("Decide approved or rejected.", status=400, field="decision")
    if user is not None and not may_decide(suspension=suspension, user=user):
        raise ApprovalRefused("You are not one of this step's approvers.", status=403)
    if user is None and email.lower() not in suspension.details.get("emails", []):
        raise ApprovalRefused("This address is not one of this step's approvers.", status=403)
    refuse_ended(suspension)
    resolution = {
        "decision": decision,
        "by": _by(user, email),
        "at": timezone.now().isoformat(),
        "fields": clean_fields(suspension.details.get("fields", []), fields),
        "comment": _text(comment, "comment"),
    }
    with transaction.atomic():  # the decision and its audit line commit together
        try:
            waits.resume(step=suspension.step, resolution=resolution)
        except waits.WaitEnded as exc:
            raise ApprovalRefused(str(exc), status=409) from None
        FlowEvent.objects.create(
            flow_id=suspension.run.flow_id,
            actor=user if isinstance(user, User) else None,  # None: a link's address
            action=FlowEvent.Action.APPROVAL_DECIDED,
            detail={
                "run": suspension.run_id,
                "node": suspension.step.node_id,
                "decision": decision,
                "by": resolution["by"],
            },
        )
    return resolution


def refuse_ended(suspension: Suspension) -> None:
    """ApprovalRefused (409) when the wait was decided, timed out or its run ended."""
    if suspension.resolved_at is not None:
        decided = (suspension.resolution or {}).get("decision", "decided")
        raise ApprovalRefused(f"This approval was already {decided}.", status=409)
    if suspension.expires_at is not None and suspension.expires_at <= timezone.now():
        raise ApprovalRefused("This approval timed out.", status=409)
    if suspension.step.status != StepStatus.WAITING:
        raise ApprovalRefused("This approval has ended: its run finished.", status=409)


def _by(user: access.User | None, email: str) -> dict[str, str]:
    if user is None:
        return {"username": "", "email": email.lower(), "name": email.lower()}
    name = getattr(user, "get_full_name", lambda: "")() or user.get_username()
    return {"username": user.get_username(), "email": getattr(user, "email", ""), "name": name}


def clean_fields(specs: list[dict[str, Any]], given: dict[str, Any]) -> dict[str, Any]:
    """The approver's form values by the step's field specs; ApprovalRefused (400, naming
    ``fields.<name>``) for an unknown field, a missing required one or a wrong type. A
    boolean is never missing: an unticked box is false."""
    known = {spec["name"] for spec in specs}
    for name in given:
        if name not in known:
            raise ApprovalRefused(
                "This step has no such field.", status=400, field=f"fields.{name}"
            )
    cleaned: dict[str, Any] = {}
    for spec in specs:
        name, raw = spec["name"], given.get(spec["name"])
        value = _field_value(spec["type"], raw, f"fields.{name}")
        if value is None and spec["required"]:
            raise ApprovalRefused(
                f"{spec['label']} is required.", status=400, field=f"fields.{name}"
            )
        cleaned[name] = value
    return cleaned


def _field_value(kind: str, raw: Any, where: str) -> Any:
    if kind == "boolean":
        if isinstance(raw, bool) or raw is None:
            return bool(raw)
        if str(raw).lower() in ("on", "true", "1", "yes", "false", "0", "off", "no", ""):
            return str(raw).lower() in ("on", "true", "1", "yes")
        raise ApprovalRefused("Must be true or false.", status=400, field=where)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ApprovalRefused("Must be a number.", status=400, field=where)
        try:
            number = float(raw)
        except (ValueError, OverflowError):  # OverflowError: an integer beyond a float
            raise ApprovalRefused("Must be a number.", status=400, field=where) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ApprovalRefused("Must be a finite number.", status=400, field=where)
        return int(number) if number.is_integer() else number
    return _text(raw, where)


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str):
        raise ApprovalRefused("Must be text.", status=400, field=where)
    if len(raw) > MAX_TEXT:
        raise ApprovalRefused(f"At most {MAX_TEXT} characters.", status=400, field=where)
    problem = text_problem(raw)  # PostgreSQL's JSON refuses NULs and lone surrogates
    if problem:
        raise ApprovalRefused(f"Contains {problem}.", status=400, field=where)
    return raw


# ---------------------------------------------------------------------------------------
# Emailed links: /approvals/email/<token>/, the token signed with the server's key


def email_token(*, suspension: Suspension, email: str, decision: str) -> str:
    """A token naming the wait, the address and the decision; it expires with the step's
    timeout (or after LINK_DAYS without one)."""
    expires = suspension.expires_at or suspension.created_at + timedelta(days=LINK_DAYS)
    payload = {"s": suspension.pk, "e": email, "d": decision, "x": int(expires.timestamp())}
    return signing.dumps(payload, salt=SALT, compress=True)


def email_link(*, suspension: Suspension, email: str, decision: str) -> str:
    """Absolute with TRIBUTARY_PUBLIC_URL (a worker does not know the server's address)."""
    token = email_token(suspension=suspension, email=email, decision=decision)
    return f"{settings.PUBLIC_URL}/approvals/email/{token}/"


def email_ticket(token: str) -> EmailTicket:
    """What a link's token grants, or ApprovalRefused: 404 forged, malformed or naming a
    wait that no longer exists (as a wrong resume URL: nothing is said about what a
    token might name), 403 expired."""
    try:
        payload = signing.loads(token, salt=SALT)
        suspension_id, email, decision = int(payload["s"]), str(payload["e"]), payload["d"]
        expires = int(payload["x"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ApprovalRefused("This link is not valid.", status=404, field="token") from None
    if expires < timezone.now().timestamp():
        raise ApprovalRefused("This link has expired.", status=403, field="token")
    found = Suspension.objects.select_related("run__flow", "step").filter(pk=suspension_id)
    suspension = found.defer("run__version__graph").first()
    if suspension is None or decision not in DECISIONS:
        raise ApprovalRefused("This link is not valid any more.", status=404, field="token")
    return EmailTicket(suspension=suspension, email=email, decision=decision)


def approval_mail_send(suspension_id: int) -> None:
    """Mail each listed address its two links (the Celery task; at least once: a worker
    lost mid-send may mail some addresses again, never none)."""
    suspension = (
        Suspension.objects.select_related("run__flow")
        .filter(
            pk=suspension_id,
            resolved_at__isnull=True,
            kind=Suspension.Kind.APPROVAL,
            step__status=StepStatus.WAITING,  # not for a run cancelled before the mail went
        )
        .first()
    )
    if suspension is None or suspension.details.get("mailed"):
        return
    details = suspension.details
    # A node name may hold a newline, which a mail header may not: one line, always.
    title = " ".join(f"{suspension.run.flow.name} — {details.get('name', '')}".split())
    subject = f"Approval needed: {title}"
    for address in details.get("emails", []):
        links = {
            decision: email_link(suspension=suspension, email=address, decision=decision)
            for decision in DECISIONS
        }
        body = (
            f"{details.get('message') or 'A run waits for your decision.'}\n\n"
            f"Approve: {links['approved']}\n\nReject: {links['rejected']}\n\n"
            "Each link opens a page where you confirm; a decision can be taken once.\n"
        )
        send_mail(subject, body, None, [address])
    Suspension.objects.filter(pk=suspension.pk).update(details={**details, "mailed": True})
