"""The triggers API (webhook URLs, listening for a test event, cron previews, platform
events): input it cannot use is a 400 naming the request's own field, never a 500."""

from __future__ import annotations

import json

import pytest

from runtime.models import Run
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.openapi import api, conforms
from tests.runtime.helpers import publish

pytestmark = pytest.mark.django_db

WEBHOOK = graph(
    node("start", "trigger.manual"),
    node("hook", "trigger.webhook"),
    node("shape", "data.transform", value={"a": 1}),
    edges=[edge("start", "shape"), edge("hook", "shape")],
)


@pytest.mark.parametrize("node_id", ["a%00b", "start", "nowhere"])
def test_asking_a_node_that_is_no_webhook_whether_it_listens_is_a_400_naming_it(
    team: Team, node_id: str
) -> None:
    # A NUL in the node id went on to PostgreSQL, which refuses it in text: a 500.
    flow = publish(team, WEBHOOK)
    response = api(team.viewer).get(f"/api/flows/{flow.pk}/triggers/{node_id}/listen/")
    assert conforms(response).status_code == 400
    [error] = response.json["errors"]
    assert error["field"] == "node_id" and "is not a webhook trigger" in error["message"]


@pytest.mark.parametrize("node_id", ["a%00b", "start"])
def test_stopping_a_node_that_is_no_webhook_from_listening_is_a_400_naming_it(
    team: Team, node_id: str
) -> None:
    # The same NUL reached PostgreSQL from the DELETE that stops listening.
    flow = publish(team, WEBHOOK)
    response = api(team.editor).delete(f"/api/flows/{flow.pk}/triggers/{node_id}/listen/")
    assert conforms(response).status_code == 400
    assert response.json["errors"][0]["field"] == "node_id"


def test_a_webhook_that_never_listened_is_idle(team: Team) -> None:
    flow = publish(team, WEBHOOK)
    response = conforms(api(team.viewer).get(f"/api/flows/{flow.pk}/triggers/hook/listen/"))
    assert response.json == {"status": "idle", "payload": None}


@pytest.mark.parametrize("value", ["\\u0000", "\\ud800"])
def test_an_event_payload_that_cannot_be_stored_is_a_400_naming_the_payload(
    team: Team, value: str
) -> None:
    # The error named "input", a field this endpoint does not have.
    publish(team, graph(node("on", "trigger.event", event_type="order.created")))
    body = json.dumps({"type": "order.created", "payload": {"id": "X"}}).replace("X", value)
    response = api(team.editor).post("/api/events/", data=body, content_type="application/json")
    assert conforms(response).status_code == 400
    [error] = response.json["errors"]
    assert error["field"] == "payload" and "payload.id" in error["message"]
    assert not Run.objects.exists()
