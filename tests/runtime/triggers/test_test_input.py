"""A test run behaves as a live run of its trigger with the same request, message or event.

For every trigger kind a flow is started once live, through the kind's real ingress (a
request to the running server, a schedule falling due, an emitted event, a row changing, a
message on Redis, a run started by hand), and once as a designer test run (POST
/api/flows/{id}/runs/ with test=true) given what the live run was sent. Both runs must see
the same event.trigger and trigger kind, and their code step must return the same. Samples
no live firing could produce are refused with a message saying what the trigger delivers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from designer.models import Flow
from designer.services import flow_create, flow_publish
from runtime.models import CronSchedule, Run
from runtime.triggers import events
from runtime.triggers.cron.fire import fire_due_schedules
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish
from tests.runtime.resources.connections.brokers import Bus, bus, wait_consuming, wait_runs
from tests.runtime.resources.connections.helpers import connect
from tests.runtime.triggers.hooks import hook_url
from tests.runtime.triggers.tables import execute, runs_eventually
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# What the flow makes of its input: all of it, and the trigger kind it was told.
PROBE = """def handler(event, context):
    return {"trigger": event["trigger"], "kind": context["trigger_kind"]}
"""
ORDER = {"id": 1001, "email": "ada@example.com", "note": "Grüße"}


def probe_flow(team: Team, trigger: dict[str, Any], name: str = "Probe") -> Flow:
    probe = node("probe", "code.python", source=PROBE)
    return publish(team, graph(trigger, probe, edges=[edge(trigger["id"], "probe")]), name)


def started_as_test(team: Team, flow: Flow, sample: Any) -> Run:
    response = team.client(team.editor).post(
        f"/api/flows/{flow.pk}/runs/", {"test": True, "input": sample}, format="json"
    )
    assert response.status_code == 201, response.json()
    return Run.objects.get(pk=response.json()["id"])


def refusal(team: Team, flow: Flow, sample: Any) -> str:
    response = team.client(team.editor).post(
        f"/api/flows/{flow.pk}/runs/", {"test": True, "input": sample}, format="json"
    )
    assert response.status_code == 400, response.json()
    (error,) = response.json()["errors"]
    assert error["field"] == "input"
    return str(error["message"])


def assert_same(live: Run, test: Run, kind: str) -> None:
    live, test = wait_for_run(live), wait_for_run(test)
    assert (live.is_test, test.is_test) == (False, True)
    assert live.trigger_kind == test.trigger_kind == kind
    assert test.input == live.input
    assert live.status == test.status == "succeeded", (live.error, test.error)
    assert test.output == live.output == {"trigger": live.input, "kind": kind}


def test_a_manual_test_runs_as_a_run_started_by_hand(team: Team, stack: Stack) -> None:
    flow = probe_flow(team, node("start", "trigger.manual"))
    started = team.client(team.editor).post(
        f"/api/flows/{flow.pk}/runs/", {"input": ORDER}, format="json"
    )
    live = Run.objects.get(pk=started.json()["id"])
    assert_same(live, started_as_test(team, flow, ORDER), "manual")


def test_a_webhook_test_with_the_received_request_runs_as_the_live_call(
    team: Team, web: Web
) -> None:
    flow = probe_flow(team, node("order", "trigger.webhook"))
    answer = httpx.post(
        hook_url(web, flow) + "?source=shop&tag=a&tag=b", json=ORDER, headers={"X-Shop": "demo"}
    )
    live = Run.objects.get(pk=answer.json()["run_id"])
    # What "Listen for a test event" keeps and the test panel sends back.
    request = {key: live.input[key] for key in ("method", "query", "headers", "body")}
    assert_same(live, started_as_test(team, flow, request), "webhook")


def test_a_webhook_test_with_only_a_body_gets_the_headers_a_client_sends(
    team: Team, web: Web
) -> None:
    flow = probe_flow(team, node("order", "trigger.webhook", methods=["PUT", "POST"]))
    live = Run.objects.get(pk=httpx.put(hook_url(web, flow), json=ORDER).json()["run_id"])
    test = started_as_test(team, flow, {"body": ORDER})
    sent = {key: live.input["headers"][key] for key in ("content-type", "content-length")}
    assert {key: test.input["headers"][key] for key in sent} == sent
    assert {k: v for k, v in test.input.items() if k != "headers"} == {
        k: v for k, v in live.input.items() if k != "headers"
    }


def test_a_webhook_test_of_a_form_post_reads_the_body_as_the_endpoint_does(
    team: Team, web: Web
) -> None:
    flow = probe_flow(team, node("order", "trigger.webhook"))
    live = Run.objects.get(
        pk=httpx.post(hook_url(web, flow), data={"id": "7", "tag": ["a", "b"]}).json()["run_id"]
    )
    request = {key: live.input[key] for key in ("method", "query", "headers", "body")}
    assert live.input["body"] == {"id": "7", "tag": ["a", "b"]}
    assert_same(live, started_as_test(team, flow, request), "webhook")


def test_a_webhook_test_refuses_what_no_request_delivers(team: Team) -> None:
    flow = probe_flow(team, node("order", "trigger.webhook"))
    # The mistake a user makes without the request shape: the order as the whole input.
    message = refusal(team, flow, {"order_id": 1001, "email": "ada@example.com"})
    assert "A webhook delivers the request: {method, query, headers, body}" in message
    assert "under body" in message
    assert "accepts POST, not GET" in refusal(team, flow, {"method": "GET", "body": {}})
    assert "headers is an object of names and values" in refusal(
        team, flow, {"headers": ["Content-Type: text/plain"], "body": "hi"}
    )
    assert not Run.objects.exists()


def test_a_schedule_test_with_the_fire_times_runs_as_the_live_fire(
    team: Team, stack: Stack
) -> None:
    flow = probe_flow(
        team, node("nightly", "trigger.cron", expression="0 2 * * *", timezone="Europe/Paris")
    )
    CronSchedule.objects.filter(flow=flow).update(
        next_fire_at=timezone.now() - timedelta(seconds=5)
    )
    assert fire_due_schedules() == 1
    live = Run.objects.get(flow=flow)
    sample = {key: live.input[key] for key in ("scheduled_for", "fired_at")}
    assert_same(live, started_as_test(team, flow, sample), "cron")
    assert "A schedule delivers {scheduled_for, fired_at, expression, timezone}" in refusal(
        team, flow, {"when": "tonight"}
    )
    assert "scheduled_for is a time with its offset" in refusal(
        team, flow, {"scheduled_for": "2026-12-07T02:00:00"}
    )


def test_an_event_test_runs_as_the_emitted_event_and_obeys_the_filter(
    team: Team, stack: Stack
) -> None:
    trigger = node(
        "on", "trigger.event", event_type="order.*", filter="event.trigger.payload.total > 100"
    )
    flow = probe_flow(team, trigger)
    (live,) = events.emit("order.created", {"id": 7, "total": 150})
    assert_same(live, started_as_test(team, flow, dict(live.input)), "event")
    small = refusal(team, flow, {"type": "order.created", "payload": {"id": 8, "total": 50}})
    assert "A live event like this starts no run" in small and "is false" in small
    assert "starts on order.* events" in refusal(team, flow, {"type": "refund.created"})


@pytest.fixture
def watched(team: Team, shop_table: str) -> Flow:
    trigger = node(
        "rows", "trigger.dbchange", table=shop_table, operations=["update"], columns=["status"]
    )
    return probe_flow(team, trigger)


def test_a_database_change_test_runs_as_the_live_change(
    team: Team, stack: Stack, watched: Flow
) -> None:
    execute("INSERT INTO shop_orders (email, status) VALUES ('ada@example.com', 'new')")
    execute("UPDATE shop_orders SET status = 'paid', note = 'gift' WHERE id = 1")
    (live,) = runs_eventually(1)
    assert live.input["changed_columns"] == ["note", "status"]
    sample = {key: live.input[key] for key in ("operation", "new", "old", "changed_at")}
    assert_same(live, started_as_test(team, watched, sample), "dbchange")
    unwatched = {**sample, "new": {**live.input["old"], "note": "gift"}}
    assert "None of the watched columns (status) changed" in refusal(team, watched, unwatched)
    assert "starts on update; a live insert starts no run" in refusal(
        team, watched, {"operation": "insert", "new": {"id": 2}}
    )


@pytest.fixture
def redis_stream(team: Team) -> Iterator[Bus]:
    connect(team, "redis", name="bus")
    with bus("redis") as made:
        yield made


def test_a_queue_test_with_the_received_message_runs_as_the_live_message(
    team: Team, stack: Stack, redis_stream: Bus
) -> None:
    stack.start("consumers", "manage.py", "consumers")
    trigger = node("in", "trigger.queue", connection="bus", source=redis_stream.source)
    flow = flow_create(
        user=team.editor,
        workspace=team.workspace,
        name="Consume",
        graph=graph(
            trigger,
            node("probe", "code.python", source=PROBE),
            edges=[edge("in", "probe")],
        ),
    )
    flow_publish(flow=flow, user=team.editor, number=1)
    wait_consuming(flow, log=stack.log("consumers"))
    # As queue.publish sends a JSON body: compact.
    redis_stream.send(b'{"id":7,"total":150}', headers={"x-tenant": "acme"})
    (live,) = wait_runs(flow, 1)
    assert_same(live, started_as_test(team, flow, dict(live.input)), "queue")
    assert "A queue message delivers {body, headers, metadata}" in refusal(team, flow, {"id": 7})
