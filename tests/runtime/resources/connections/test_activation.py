"""What can be checked about connections before anything runs: the catalog offers the new
kinds with their forms, and publishing a queue trigger names a missing or unfit
connection, or a source the broker would refuse, as a 400 on the node's field."""

from __future__ import annotations

from typing import Any

import pytest

from designer.services import flow_create, flow_publish, flow_version_save
from runtime.models import QueueSubscription
from tests.conftest import Team
from tests.runtime.resources.connections.brokers import queue_graph
from tests.runtime.resources.connections.helpers import connect

pytestmark = pytest.mark.django_db


def test_the_catalog_offers_the_new_kinds_with_a_connection_picker(team: Team) -> None:
    kinds = {kind["type"]: kind for kind in team.client(team.viewer).get("/api/step-types/").json()}
    for type_name, allowed in (
        ("db.query", ["postgres", "mysql"]),
        ("queue.publish", ["amqp", "redis", "nats", "mqtt"]),
        ("trigger.queue", ["amqp", "redis", "nats", "mqtt"]),
    ):
        field = kinds[type_name]["config_schema"]["properties"]["connection"]
        assert field["x-widget"] == "connection" and field["type"] == "string"
        assert field["x-connection-kinds"] == allowed
    assert kinds["trigger.queue"]["category"] == "trigger"
    assert kinds["db.query"]["category"] == "step"


def publish(team: Team, graph_data: dict[str, Any]) -> Any:
    flow = flow_create(user=team.editor, workspace=team.workspace, name="Orders", graph=graph_data)
    return team.client(team.editor).post(
        f"/api/flows/{flow.pk}/publish/", {"version": 1}, format="json"
    )


@pytest.mark.parametrize(
    ("kind", "graph_config", "message"),
    [
        (None, {"connection": "nowhere"}, "There is no connection 'nowhere' in this workspace"),
        ("postgres", {}, "'bus' is a PostgreSQL connection"),
        ("mqtt", {"source": "orders/#/x"}, "# must be a whole last level"),
        ("nats", {"source": "orders.>.x"}, "> must be the last token"),
    ],
)
def test_publishing_refuses_a_queue_trigger_that_cannot_consume(
    team: Team, kind: str | None, graph_config: dict[str, Any], message: str
) -> None:
    if kind:
        connect(team, kind, name="bus")
    config = {"connection": "bus", "source": "orders"} | graph_config
    response = publish(team, queue_graph(**config))
    assert response.status_code == 400, response.json()
    [problem] = response.json()["errors"]
    field = "config.source" if "source" in graph_config else "config.connection"
    assert (problem["node"], problem["field"]) == ("in", field)
    assert message in problem["message"]
    assert not QueueSubscription.objects.exists()


def test_a_connection_in_another_workspace_does_not_count(team: Team) -> None:
    other = team.outsider.memberships.get().workspace
    connect(team, "redis", name="bus", workspace=other)
    response = publish(team, queue_graph(source="orders"))
    assert response.status_code == 400
    assert "There is no connection 'bus'" in response.json()["errors"][0]["message"]


def test_publishing_again_keeps_the_consumer_unless_what_it_consumes_changed(
    team: Team,
) -> None:
    connect(team, "redis", name="bus")
    flow = flow_create(
        user=team.editor, workspace=team.workspace, name="Orders", graph=queue_graph("orders")
    )
    flow_publish(flow=flow, user=team.editor, number=1)
    first = QueueSubscription.objects.get(flow=flow)
    same = queue_graph("orders")
    same["nodes"][1]["config"]["value"] = {"changed": "downstream only"}
    flow_version_save(flow=flow, user=team.editor, graph=same)
    flow_publish(flow=flow, user=team.editor, number=2)
    assert QueueSubscription.objects.get(flow=flow).revision == first.revision
    flow_version_save(flow=flow, user=team.editor, graph=queue_graph("payments"))
    flow_publish(flow=flow, user=team.editor, number=3)
    changed = QueueSubscription.objects.get(flow=flow)
    assert changed.revision == first.revision + 1 and changed.config["source"] == "payments"
