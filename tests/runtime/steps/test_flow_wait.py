"""flow.wait on the real stack: a run pauses (no worker held) until its resume URL is called
through the real server, or a platform event for *this* run arrives (one for another order
is ignored; one emitted a moment before the run reached its wait is honoured), or until
its timeout; a worker restart while waiting changes nothing."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from runtime.engine import waits
from runtime.engine.status import RunStatus, StepStatus
from runtime.kinds.resume import resume_token
from runtime.models import PlatformEvent, Run, StepRun, Suspension
from runtime.triggers.events import emit
from runtime.triggers.webhook.signatures import sign
from tests.conftest import Team, Web
from tests.factories import edge, node
from tests.runtime.helpers import manual, outputs, start, statuses
from tests.stack import Stack, wait_for_run, wait_for_step

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def waiting_flow(**config: Any) -> dict[str, Any]:
    """start → wait → received: "paid" | timed_out: "late"."""
    return manual(
        node("wait", "flow.wait", **config),
        node("paid", "data.transform", value={"got": "{{ event.steps.wait | tojson }}"}),
        node("late", "data.transform", value="late"),
        edges=[
            edge("start", "wait"),
            edge("wait", "paid", "received"),
            edge("wait", "late", "timed_out"),
        ],
    )


def post(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = httpx.post(url, json=body, timeout=10)
    return response.status_code, response.json()


def resume_address(web: Web, run: Run, node_id: str = "wait") -> str:
    return f"{web.url}/resume/{run.pk}/{node_id}/{resume_token(run.pk, node_id)}/"


def test_a_call_to_the_resume_url_resumes_the_run_once(team: Team, web: Web) -> None:
    run = start(team, waiting_flow(timeout_seconds=600))
    waiting = wait_for_step(run, "wait", StepStatus.WAITING)
    assert waiting.claim is None  # no worker holds it
    assert waiting.input["resume_url"].endswith(resume_address(web, run).removeprefix(web.url))

    wrong = resume_address(web, run).replace(resume_token(run.pk, "wait"), "0" * 40)
    assert post(wrong, {})[0] == 404
    assert post(resume_address(web, run), {"paid": True}) == (
        202,
        {"resumed": True, "run_id": run.pk, "node_id": "wait"},
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert statuses(run)["late"] == StepStatus.SKIPPED
    got = json.loads(outputs(run)["paid"]["got"])
    assert got["via"] == "url" and got["body"] == {"paid": True} and got["timed_out"] is False
    status, body = post(resume_address(web, run), {"paid": True})
    assert status == 409 and "ended" in body["detail"]


def test_only_the_matching_event_resumes_the_wait(team: Team, stack: Stack) -> None:
    flow = waiting_flow(
        event_type="payment.received",
        match_field="order_id",
        match_value="{{ event.trigger.id }}",
        timeout_seconds=600,
    )
    run = start(team, flow, {"id": 7})
    wait_for_step(run, "wait", StepStatus.WAITING)
    emit("payment.received", {"order_id": 8}, workspaces=[team.workspace])  # another order's
    emit("payment.sent", {"order_id": 7}, workspaces=[team.workspace])  # another type
    time.sleep(1)
    assert run.steps.get(node_id="wait").status == StepStatus.WAITING
    assert Suspension.objects.get(step__run=run).resolved_at is None

    emit("payment.received", {"order_id": 7, "amount": 12}, workspaces=[team.workspace])
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    got = json.loads(outputs(run)["paid"]["got"])
    assert got["via"] == "event" and got["event"]["payload"] == {"order_id": 7, "amount": 12}


def test_an_event_from_another_workspace_does_not_resume_it(team: Team, stack: Stack) -> None:
    run = start(team, waiting_flow(event_type="payment.received", timeout_seconds=2))
    wait_for_step(run, "wait", StepStatus.WAITING)
    elsewhere = team.outsider.memberships.get().workspace
    emit("payment.received", {"order_id": 7}, workspaces=[elsewhere])
    run = wait_for_run(run)
    assert statuses(run)["paid"] == StepStatus.SKIPPED and outputs(run)["late"] == "late"


def test_an_event_emitted_just_before_the_wait_is_not_lost(team: Team, stack: Stack) -> None:
    flow = manual(
        node("pause", "flow.delay", seconds=2),
        node("wait", "flow.wait", event_type="invoice.paid", timeout_seconds=600),
        edges=[edge("start", "pause"), edge("pause", "wait")],
    )
    run = start(team, flow)
    emit("invoice.paid", {"invoice": 1}, workspaces=[team.workspace])  # while it still sleeps
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert outputs(run)["wait"]["event"]["payload"] == {"invoice": 1}


def test_a_wait_times_out_along_its_timed_out_edge(team: Team, stack: Stack) -> None:
    # An event older than the window is not a reason to resume.
    old = timezone.now() - timedelta(hours=2)
    PlatformEvent.objects.create(
        workspace=team.workspace,
        event_type="invoice.paid",
        payload={"type": "invoice.paid", "payload": {}},
        emitted_at=old,
    )
    run = start(team, waiting_flow(event_type="invoice.paid", timeout_seconds=1))
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert statuses(run)["paid"] == StepStatus.SKIPPED
    assert outputs(run)["wait"]["timed_out"] is True and outputs(run)["late"] == "late"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"event_type": "payment.received", "match_field": "order_id"}, "config.match_value"),
        ({"match_field": "order_id", "match_value": "{{ event.trigger.id }}"}, "config.event_type"),
        ({"signature": "github"}, "config.signature_secret"),
        ({"event_type": "not an event"}, "config.event_type"),
    ],
)
def test_a_wait_that_cannot_match_is_refused_on_save_naming_the_field(
    team: Team, config: dict[str, Any], field: str
) -> None:
    response = team.client(team.editor).post(
        "/api/flows/", {"name": "Wait", "graph": waiting_flow(**config)}, format="json"
    )
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["node"], error["field"]) == ("wait", field)


def test_a_signed_wait_refuses_an_unsigned_call(team: Team, web: Web) -> None:
    secret = "s3cret"
    created = team.client(team.admin).post(
        "/api/secrets/",
        {"workspace": team.workspace.pk, "name": "PAY_KEY", "value": secret},
        format="json",
    )
    assert created.status_code == 201
    run = start(team, waiting_flow(signature="github", signature_secret="PAY_KEY"))
    wait_for_step(run, "wait", StepStatus.WAITING)
    status, body = post(resume_address(web, run), {"paid": True})
    assert status == 401 and "X-Hub-Signature-256" in body["detail"]
    raw = json.dumps({"paid": True}).encode()
    signed = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign("github", secret=secret, body=raw),
    }
    response = httpx.post(resume_address(web, run), content=raw, headers=signed, timeout=10)
    assert response.status_code == 202
    assert wait_for_run(run).status == RunStatus.SUCCEEDED


def test_a_step_before_the_wait_names_its_resume_url(team: Team, web: Web) -> None:
    flow = manual(
        node("link", "data.transform", value="{{ resume_url('wait') }}"),
        node("wait", "flow.wait"),
        edges=[edge("start", "link"), edge("link", "wait")],
    )
    saved = team.client(team.editor).post(
        "/api/flows/", {"name": "Link", "graph": flow}, format="json"
    )
    assert saved.status_code == 201, saved.content
    run = start(team, flow)
    wait_for_step(run, "wait", StepStatus.WAITING)
    path = outputs(run)["link"]
    assert path == f"/resume/{run.pk}/wait/{resume_token(run.pk, 'wait')}/"
    assert post(web.url + path, {"ok": 1})[0] == 202
    assert outputs(wait_for_run(run))["wait"]["body"] == {"ok": 1}


def test_a_wait_without_timeout_is_left_alone_by_the_scheduler(team: Team, stack: Stack) -> None:
    # The sweep for steps whose children all finished must not take a wait for one.
    run = start(team, waiting_flow(event_type="never.emitted"))
    wait_for_step(run, "wait", StepStatus.WAITING)
    time.sleep(5)  # two passes of every sweep
    step = run.steps.get(node_id="wait")
    assert (step.status, step.attempt) == (StepStatus.WAITING, 1)


def test_a_call_after_the_timeout_woke_the_wait_is_refused(team: Team, web: Web) -> None:
    run = start(team, waiting_flow(timeout_seconds=600))
    wait_for_step(run, "wait", StepStatus.WAITING)
    # What the scheduler does at the timeout, before the step has run again: the caller
    # must hear that it was too late, not get a 202 for a body nobody will read.
    StepRun.objects.filter(run=run, node_id="wait").update(
        status=StepStatus.QUEUED, wake_at=timezone.now() - timedelta(seconds=1)
    )
    status, body = post(resume_address(web, run), {"paid": True})
    assert status == 409 and "ended" in body["detail"]
    assert Suspension.objects.get(step__run=run).resolved_at is None


def test_the_resume_url_of_an_approval_step_does_not_decide_it(team: Team, web: Web) -> None:
    flow = manual(
        node("wait", "flow.approval", roles=["admin"], message="Ship it?"),
        edges=[edge("start", "wait")],
    )
    run = start(team, flow)
    wait_for_step(run, "wait", StepStatus.WAITING)
    assert post(resume_address(web, run), {"decision": "approved"})[0] == 404
    assert Suspension.objects.get(step__run=run).resolved_at is None


def test_an_event_skips_waits_that_ended(team: Team, stack: Stack) -> None:
    ended = start(team, waiting_flow(event_type="order.paid", timeout_seconds=1))
    assert wait_for_run(ended).status == RunStatus.SUCCEEDED  # timed out
    live = start(team, waiting_flow(event_type="order.paid", timeout_seconds=600))
    wait_for_step(live, "wait", StepStatus.WAITING)
    with CaptureQueriesContext(connection) as queries:
        assert waits.event_arrived("order.paid", {"payload": {}}, [team.workspace.pk]) == 1
    # Only the live wait's run is locked: a dead wait costs an emit nothing.
    run_locks = [q for q in queries if "FOR UPDATE" in q["sql"] and "runtime_run" in q["sql"]]
    assert len(run_locks) == 1, [q["sql"] for q in run_locks]
    assert wait_for_run(live).status == RunStatus.SUCCEEDED


def test_a_match_value_too_long_to_keep_fails_the_step_saying_so(team: Team, stack: Stack) -> None:
    flow = waiting_flow(
        event_type="order.paid", match_field="id", match_value="{{ event.trigger.id }}"
    )
    run = wait_for_run(start(team, flow, {"id": "x" * 600}))
    assert run.status == RunStatus.FAILED
    step = run.steps.get(node_id="wait")
    assert (step.attempt, step.error) == (
        1,
        "The value to match renders to 600 characters; at most 500 can be matched.",
    )
