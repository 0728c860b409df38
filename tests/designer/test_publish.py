"""Publishing points the flow at a version; rolling back points it at an older one; both
are recorded in the audit trail with who, when, from and to."""

from __future__ import annotations

from designer.models import FlowEvent
from tests.conftest import Team
from tests.factories import edge, flow, graph, node, simple_graph


def publish(team: Team, flow_id: int, number: int) -> dict:
    response = team.client(team.editor).post(
        f"/api/flows/{flow_id}/publish/", {"version": number}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_publish_then_rollback_is_audited(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    client = team.client(team.editor)
    client.post(f"/api/flows/{orders.pk}/versions/", {"graph": simple_graph("v2")}, format="json")
    assert publish(team, orders.pk, 1)["action"] == "published"
    assert publish(team, orders.pk, 2)["action"] == "published"
    rollback = publish(team, orders.pk, 1)
    assert (rollback["action"], rollback["from_version"], rollback["to_version"]) == (
        "rolled_back",
        2,
        1,
    )
    assert rollback["actor"] == "eddie"
    assert client.get(f"/api/flows/{orders.pk}/").json()["live_version"] == 1
    trail = client.get(f"/api/flows/{orders.pk}/events/").json()["results"]
    assert [(e["action"], e["from_version"], e["to_version"]) for e in trail[:3]] == [
        ("rolled_back", 2, 1),
        ("published", 1, 2),
        ("published", None, 1),
    ]


def test_the_version_list_marks_the_live_one(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    publish(team, orders.pk, 1)
    versions = team.client(team.viewer).get(f"/api/flows/{orders.pk}/versions/").json()
    assert [(v["number"], v["is_live"]) for v in versions] == [(1, True)]


def test_publishing_a_missing_version_names_the_field(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/publish/", {"version": 9}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "version"
    assert not FlowEvent.objects.filter(action=FlowEvent.Action.PUBLISHED).exists()


def test_an_archived_flow_cannot_be_published(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    client = team.client(team.editor)
    client.delete(f"/api/flows/{orders.pk}/")
    response = client.post(f"/api/flows/{orders.pk}/publish/", {"version": 1}, format="json")
    assert response.status_code == 400
    assert "Restore" in response.json()["detail"]


def test_the_diff_lists_added_removed_and_changed_nodes_with_fields(team: Team) -> None:
    before = graph(
        node("start", "trigger.manual"),
        node("shape", "data.transform", "Shape", value=1),
        node("old", "data.transform", value=2),
        edges=[edge("start", "shape"), edge("start", "old")],
    )
    after = graph(
        node("start", "trigger.manual") | {"position": {"x": 10, "y": 0}},
        node("shape", "data.transform", "Shape it", value=3),
        node("new", "data.transform", value=2),
        edges=[edge("start", "shape"), edge("shape", "new")],
    )
    orders = flow(team.editor, team.workspace, graph_data=before)
    client = team.client(team.editor)
    client.post(f"/api/flows/{orders.pk}/versions/", {"graph": after}, format="json")
    diff = client.get(f"/api/flows/{orders.pk}/versions/2/diff/", {"against": 1}).json()
    assert diff["from"] == 1 and diff["to"] == 2
    assert diff["nodes"] == {
        "added": ["new"],
        "removed": ["old"],
        "changed": [{"id": "shape", "fields": ["name", "config.value"]}],
        "moved": ["start"],
    }
    assert diff["edges"] == {
        "added": [{"source": "shape", "target": "new"}],
        "removed": [{"source": "start", "target": "old"}],
    }


def test_the_diff_needs_a_version_to_compare_with(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    response = team.client(team.editor).get(f"/api/flows/{orders.pk}/versions/1/diff/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "against"
