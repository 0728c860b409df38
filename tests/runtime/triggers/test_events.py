"""Platform events: fan-out to every live flow whose trigger matches the type (exactly or
by wildcard) and whose filter holds; through the API (in-process, and on the real server
with a token) and the Python API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from rest_framework.authtoken.models import Token

from designer.services import flow_archive
from runtime.models import Run
from runtime.triggers import events
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish
from tests.stack import wait_for_run


def listener(team: Team, name: str, pattern: str, condition: str = "") -> Any:
    config = {"event_type": pattern} | ({"filter": condition} if condition else {})
    return publish(
        team,
        graph(
            node("on", "trigger.event", **config),
            node("shape", "data.transform", value="{{ event.trigger.payload.id }}"),
            edges=[edge("on", "shape")],
        ),
        name,
    )


@pytest.fixture
def listeners(team: Team) -> dict[str, Any]:
    return {
        "exact": listener(team, "Exact", "order.created"),
        "wildcard": listener(team, "Wildcard", "order.*"),
        "big": listener(team, "Big orders", "order.*", "event.trigger.payload.total > 100"),
        "refunds": listener(team, "Refunds", "refund.*"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (50, {"Exact", "Wildcard"}),
        (150, {"Exact", "Wildcard", "Big orders"}),
    ],
)
def test_an_event_fans_out_to_matching_flows(
    team: Team, listeners: dict[str, Any], total: int, expected: set[str]
) -> None:
    response = team.client(team.editor).post(
        "/api/events/",
        {"type": "order.created", "payload": {"id": 7, "total": total}},
        format="json",
    )
    assert response.status_code == 202
    assert {r["flow"] for r in response.json()["runs"]} == expected
    run = Run.objects.get(flow=listeners["exact"])
    assert run.trigger_kind == "event"
    assert run.input["type"] == "order.created" and run.input["payload"]["total"] == total


@pytest.mark.django_db
def test_an_unknown_type_starts_nothing_and_is_fine(team: Team, listeners: dict[str, Any]) -> None:
    response = team.client(team.editor).post(
        "/api/events/", {"type": "invoice.paid"}, format="json"
    )
    assert (response.status_code, response.json()) == (202, {"runs": []})


@pytest.mark.django_db
def test_a_filter_that_cannot_be_evaluated_does_not_match(team: Team) -> None:
    listener(team, "Strict", "order.*", "event.trigger.payload.customer.vip")
    assert events.emit("order.created", {"id": 1}) == []


@pytest.mark.django_db
def test_archived_flows_do_not_hear_events(team: Team, listeners: dict[str, Any]) -> None:
    flow_archive(flow=listeners["exact"], user=team.editor)
    runs = events.emit("order.created", {"id": 1, "total": 1})
    assert {run.flow.name for run in runs} == {"Wildcard"}


@pytest.mark.django_db
def test_events_reach_only_the_emitters_workspaces(team: Team, listeners: dict[str, Any]) -> None:
    response = team.client(team.outsider).post(
        "/api/events/", {"type": "order.created"}, format="json"
    )
    assert response.json() == {"runs": []}
    assert team.client(team.viewer).post(
        "/api/events/", {"type": "order.created"}, format="json"
    ).json() == {"runs": []}


@pytest.mark.django_db
def test_a_bad_event_type_is_named(team: Team) -> None:
    response = team.client(team.editor).post(
        "/api/events/", {"type": "order created"}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "type"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_event_posted_to_the_real_server_with_a_token_fans_out_and_runs(
    team: Team, listeners: dict[str, Any], web: Web
) -> None:
    token = Token.objects.create(user=team.editor)
    event = {"type": "order.created", "payload": {"id": 7, "total": 150}}
    response = httpx.post(
        f"{web.url}/api/events/", json=event, headers={"Authorization": f"Token {token.key}"}
    )
    assert response.status_code == 202, response.text
    started = response.json()["runs"]
    assert {r["flow"] for r in started} == {"Exact", "Wildcard", "Big orders"}
    runs = [Run.objects.get(pk=r["run_id"]) for r in started]
    assert {run.flow_id for run in runs} == {r["flow_id"] for r in started}
    assert [wait_for_run(run).output for run in runs] == [7, 7, 7]
    assert not Run.objects.filter(flow=listeners["refunds"]).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_real_server_refuses_an_event_without_a_valid_token(
    team: Team, listeners: dict[str, Any], web: Web
) -> None:
    event = {"type": "order.created", "payload": {"id": 7}}
    bad = {"Authorization": "Token not-a-token"}
    assert httpx.post(f"{web.url}/api/events/", json=event).status_code == 401
    assert httpx.post(f"{web.url}/api/events/", json=event, headers=bad).status_code == 401
    assert not Run.objects.exists()
