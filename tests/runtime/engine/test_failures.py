"""A failed run starts its flow's error flow with the failure, and emails its alert at most
once per quiet period: on the real worker, with a local SMTP server."""

from __future__ import annotations

import email
import itertools
from datetime import timedelta
from email import policy
from typing import Any

import pytest
from django.utils import timezone

from designer.models import Flow
from runtime.engine.status import RunStatus
from runtime.models import FlowAlert, Run
from runtime.runs import run_start
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.fakes import FakeApi, SmtpSink
from tests.runtime.helpers import chain, publish
from tests.stack import Stack, wait_for_run, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OPS = "ops@example.com"


def error_flow(team: Team, *steps: dict[str, Any], name: str = "Alerts", **settings: Any) -> Flow:
    ids = ["failed", *(step["id"] for step in steps)]
    edges = [edge(a, b) for a, b in itertools.pairwise(ids)]
    data = graph(node("failed", "trigger.error", "A flow failed"), *steps, edges=edges)
    return publish(team, data | ({"settings": settings} if settings else {}), name=name)


def failing(fake_api: FakeApi, **on_failure: Any) -> dict[str, Any]:
    charge = node("charge", "http.request", "Charge card", url=f"{fake_api.url}/status/404")
    return chain(charge) | {"settings": {"on_failure": on_failure}}


def fail(flow: Flow, team: Team) -> Run:
    assert flow.live_version is not None
    run = run_start(flow=flow, version=flow.live_version, payload={}, started_by=team.editor)
    run = wait_for_run(run)
    assert run.status == RunStatus.FAILED, run.error
    return run


def runs_of(flow: Flow) -> list[Run]:
    return list(Run.objects.filter(flow=flow).order_by("pk"))


def test_a_failed_run_starts_its_error_flow_with_the_failure(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    handler = error_flow(
        team,
        node(
            "note",
            "data.transform",
            value={"about": "{{ event.trigger.flow.name }} #{{ event.trigger.run.id }}"},
        ),
    )
    orders = publish(team, failing(fake_api, flow=handler.pk), name="Orders")
    failed = fail(orders, team)
    [caught] = wait_until(lambda: runs_of(handler), "error flow run")
    caught = wait_for_run(caught)
    assert caught.status == RunStatus.SUCCEEDED, caught.error
    assert caught.trigger_kind == "error"
    assert caught.input == {
        "flow": {"id": orders.pk, "name": "Orders"},
        "version": 1,
        "run": {"id": failed.pk, "url": f"/runs/{failed.pk}/"},  # no TRIBUTARY_PUBLIC_URL
        "failed_step": {"id": "charge", "name": "Charge card", "kind": "http.request"},
        "error": failed.error,
        "failed_at": failed.finished_at.isoformat() if failed.finished_at else None,
    }
    assert "Charge card failed" in failed.error
    assert caught.steps.get(node_id="note").output == {"about": f"Orders #{failed.pk}"}


def test_an_error_flow_that_fails_starts_no_error_flow_but_still_alerts(
    team: Team, stack: Stack, fake_api: FakeApi, smtp_sink: SmtpSink
) -> None:
    smtp_sink.messages.clear()
    last_resort = error_flow(team, name="Last resort")
    broken = node("broken", "http.request", "Page someone", url=f"{fake_api.url}/status/404")
    handler = error_flow(
        team,
        broken,
        name="Alerts",
        on_failure={"flow": last_resort.pk, "alert": {"emails": [OPS]}},
    )
    orders = publish(team, failing(fake_api, flow=handler.pk), name="Orders")
    fail(orders, team)
    [caught] = wait_until(lambda: runs_of(handler), "error flow run")
    assert wait_for_run(caught).status == RunStatus.FAILED
    # Its alert says the task for its failure ran; the loop guard kept the last resort idle.
    wait_until(lambda: smtp_sink.messages, "alert")
    assert "Alerts failed at Page someone" in smtp_sink.messages[0]["data"]
    assert runs_of(last_resort) == []


def test_an_alert_is_sent_once_within_its_quiet_period_then_again_after_it(
    team: Team, stack: Stack, fake_api: FakeApi, smtp_sink: SmtpSink
) -> None:
    smtp_sink.messages.clear()
    orders = publish(team, failing(fake_api, alert={"emails": [OPS, "ada@example.com"]}), "Orders")
    version = orders.live_version
    assert version is not None
    # Four runs failing at once, on three worker processes: one email.
    runs = [run_start(flow=orders, version=version, payload={}) for _ in range(4)]
    for run in runs:
        assert wait_for_run(run).status == RunStatus.FAILED
    for run in runs:
        wait_until(lambda run=run: decided(stack, run), f"alert decision for run #{run.pk}")
    [sent] = smtp_sink.messages
    assert sorted(sent["to"]) == ["ada@example.com", OPS]
    message = email.message_from_string(sent["data"], policy=policy.default)
    assert message["Subject"] == "[Tributary] Orders failed at Charge card"
    alerted = FlowAlert.objects.get(flow=orders)
    assert f"/runs/{alerted.last_run_id}/" in message.get_body(("plain",)).get_content()

    # After the quiet period (15 minutes, moved back rather than waited for): a second one.
    FlowAlert.objects.filter(flow=orders).update(
        last_sent_at=timezone.now() - timedelta(minutes=16)
    )
    later = fail(orders, team)
    wait_until(lambda: len(smtp_sink.messages) == 2, "second alert")
    second = email.message_from_string(smtp_sink.messages[1]["data"], policy=policy.default)
    assert f"/runs/{later.pk}/" in second.get_body(("plain",)).get_content()


def decided(stack: Stack, run: Run) -> bool:
    log = stack.log("worker")
    return f"alert for run #{run.pk} sent" in log or f"alert for run #{run.pk}:" in log


def test_a_test_run_does_not_alert(
    team: Team, stack: Stack, fake_api: FakeApi, smtp_sink: SmtpSink
) -> None:
    orders = publish(team, failing(fake_api, alert={"emails": [OPS]}), "Orders")
    assert orders.live_version is not None
    test_run = run_start(flow=orders, version=orders.live_version, payload={}, is_test=True)
    assert wait_for_run(test_run).status == RunStatus.FAILED
    real = fail(orders, team)
    wait_until(lambda: decided(stack, real), "alert decision")
    assert not decided(stack, test_run)
    assert FlowAlert.objects.get(flow=orders).last_run_id == real.pk


def test_the_failure_an_error_path_handled_is_not_the_one_reported(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    handler = error_flow(team, node("note", "data.transform", value=1))
    charge = node("charge", "http.request", "Charge card", url=f"{fake_api.url}/status/404")
    refund = node("refund", "http.request", "Refund", url=f"{fake_api.url}/status/500")
    data = graph(
        node("start", "trigger.manual"),
        charge,
        refund,
        edges=[edge("start", "charge"), edge("charge", "refund", "error")],
    )
    orders = publish(team, data | {"settings": {"on_failure": {"flow": handler.pk}}})
    fail(orders, team)
    [caught] = wait_until(lambda: runs_of(handler), "error flow run")
    assert caught.input["failed_step"] == {"id": "refund", "name": "Refund", "kind": "http.request"}
