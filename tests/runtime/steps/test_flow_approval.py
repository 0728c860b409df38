"""flow.approval on the real stack: an order over the limit waits (no worker held) for a
person — decided through the API by an approver, rejected through an emailed link
(captured by the local SMTP server; GET confirms, POST decides, once), or timed out — and
a worker restart while waiting changes nothing. Outsiders, members who are not approvers,
forged and expired links are refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from designer.models import FlowEvent
from runtime.approvals import approval_mail_send
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run, Suspension
from runtime.selectors import approval_list_for_user
from tests.conftest import Team
from tests.factories import edge, node
from tests.openapi import api, conforms
from tests.runtime.helpers import manual, outputs, start, statuses
from tests.stack import Stack, wait_for_run, wait_for_step, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

AMOUNT = {"name": "amount", "label": "Approved amount", "type": "number", "required": True}


def order_flow(**config: Any) -> dict[str, Any]:
    """start → big? (total > 1000) → true: approve → approved "ship" | rejected "refuse" |
    timed_out "late"; false: "auto"."""
    approval: dict[str, Any] = {
        "roles": ["admin"],
        "users": ["vera"],
        "message": "Order {{ event.trigger.id }} totals {{ event.trigger.total }}.",
        "fields": [AMOUNT],
        "timeout_seconds": 600,
    } | config
    return manual(
        node("big", "logic.branch", condition="event.trigger.total > 1000"),
        node("approve", "flow.approval", **approval),
        node("ship", "data.transform", value={"by": "{{ event.steps.approve.by.name }}"}),
        node("refuse", "data.transform", value="refused"),
        node("late", "data.transform", value="late"),
        node("auto", "data.transform", value="auto"),
        edges=[
            edge("start", "big"),
            edge("big", "approve", "true"),
            edge("big", "auto", "false"),
            edge("approve", "ship", "approved"),
            edge("approve", "refuse", "rejected"),
            edge("approve", "late", "timed_out"),
        ],
    )


def waiting(team: Team, total: int = 1500, **config: Any) -> tuple[Run, Suspension]:
    run = start(team, order_flow(**config), {"id": "A-7", "total": total})
    step = wait_for_step(run, "approve", StepStatus.WAITING)
    assert step.claim is None  # no worker holds it
    return run, Suspension.objects.get(step=step)


def decide(who: Any, approval_id: int, **body: Any) -> Any:
    return conforms(api(who).post(f"/api/approvals/{approval_id}/decide/", json=body))


def test_an_order_under_the_limit_does_not_wait(team: Team, stack: Stack) -> None:
    run = wait_for_run(start(team, order_flow(), {"id": "A-1", "total": 20}))
    assert run.status == RunStatus.SUCCEEDED
    assert statuses(run)["approve"] == StepStatus.SKIPPED and outputs(run)["auto"] == "auto"


def test_an_approver_decides_through_the_api_once(team: Team, stack: Stack) -> None:
    run, approval = waiting(team)
    listed = conforms(api(team.viewer).get("/api/approvals/")).json  # vera, named
    assert [(a["id"], a["message"], a["input"]) for a in listed] == [
        (approval.pk, "Order A-7 totals 1500.", {"id": "A-7", "total": 1500})
    ]
    assert conforms(api(team.editor).get("/api/approvals/")).json == []  # not an approver

    refused = decide(team.editor, approval.pk, decision="approved", fields={"amount": 1})
    assert refused.status_code == 403
    assert decide(team.outsider, approval.pk, decision="approved").status_code == 404
    missing = decide(team.viewer, approval.pk, decision="approved")
    assert missing.status_code == 400
    assert missing.json["errors"] == [{"field": "fields.amount", "message": missing.json["detail"]}]
    wrong = decide(team.viewer, approval.pk, decision="approved", fields={"amount": "lots"})
    assert wrong.status_code == 400 and wrong.json["errors"][0]["field"] == "fields.amount"

    done = decide(
        team.viewer, approval.pk, decision="approved", fields={"amount": "1500"}, comment="ok"
    )
    assert done.status_code == 200, done.text
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    output = outputs(run)["approve"]
    assert (output["decision"], output["by"]["username"]) == ("approved", "vera")
    assert output["fields"] == {"amount": 1500} and output["comment"] == "ok"
    assert outputs(run)["ship"] == {"by": "vera"}
    assert statuses(run)["refuse"] == StepStatus.SKIPPED

    again = decide(team.admin, approval.pk, decision="rejected", fields={"amount": 1})
    assert again.status_code == 409 and "already approved" in again.json["detail"]
    [audit] = FlowEvent.objects.filter(action=FlowEvent.Action.APPROVAL_DECIDED, flow=run.flow)
    assert audit.actor == team.viewer
    assert audit.detail == {
        "run": run.pk,
        "node": "approve",
        "decision": "approved",
        "by": output["by"],
    }


def test_an_approval_times_out_along_its_timed_out_edge(team: Team, stack: Stack) -> None:
    run, approval = waiting(team, timeout_seconds=1)
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert outputs(run)["approve"]["decision"] == "timed_out" and outputs(run)["late"] == "late"
    late = decide(team.admin, approval.pk, decision="approved", fields={"amount": 1})
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"roles": [], "users": []}, "config.roles"),
        ({"emails": ["not an address"]}, "config.emails[0]"),
        ({"users": ["olga"]}, "config.users[0]"),  # an outsider
        ({"fields": [AMOUNT, AMOUNT]}, "config.fields[1].name"),
    ],
)
def test_an_approval_without_valid_approvers_is_refused_on_save_naming_the_field(
    team: Team, config: dict[str, Any], field: str
) -> None:
    response = team.client(team.editor).post(
        "/api/flows/", {"name": "Orders", "graph": order_flow(**config)}, format="json"
    )
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["node"], error["field"]) == ("approve", field)


def test_form_values_postgres_cannot_store_are_refused_naming_the_field(
    team: Team, stack: Stack
) -> None:
    _, approval = waiting(team, fields=[AMOUNT, {"name": "note", "type": "text"}])
    for fields, comment, where in [
        ({"amount": 1, "note": "a\x00b"}, "", "fields.note"),
        ({"amount": 1}, "\ud800", "comment"),
        ({"amount": 1, "extra": "x"}, "", "fields.extra"),
        ({"amount": 10**400}, "", "fields.amount"),
    ]:
        refused = decide(
            team.admin, approval.pk, decision="approved", fields=fields, comment=comment
        )
        assert refused.status_code == 400, refused.text
        assert refused.json["errors"][0]["field"] == where


def test_the_approvals_list_costs_the_same_queries_for_one_wait_or_five(
    team: Team, stack: Stack
) -> None:
    def list_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            listed = approval_list_for_user(user=team.editor)
        return len(listed), len(queries)

    waiting(team, roles=["editor"])
    one = list_queries()
    for _ in range(4):
        waiting(team, roles=["editor"])
    five = list_queries()
    assert (one[0], five[0]) == (1, 5)
    assert five[1] == one[1]  # the user's roles are read once, not once per wait


def test_a_node_name_with_a_newline_still_mails_its_links(team: Team, stack: Stack) -> None:
    _, suspension = waiting(team, emails=["boss@example.com"])
    # The worker mails it first; only then is "not mailed yet" set back for this process.
    wait_until(
        lambda: Suspension.objects.get(pk=suspension.pk).details.get("mailed"),
        "the worker's mail",
    )
    details = suspension.details | {"name": "Approve\nthe order", "mailed": False}
    Suspension.objects.filter(pk=suspension.pk).update(details=details)
    approval_mail_send(suspension.pk)  # in this process: Django's outbox
    [sent] = mail.outbox
    assert sent.subject == "Approval needed: Flow — Approve the order"
    assert sent.to == ["boss@example.com"]
