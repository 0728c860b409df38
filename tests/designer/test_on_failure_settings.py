"""settings.on_failure (an error flow and failure alerts) is checked when a version is saved,
each refusal naming its field; it is shown in the diff, carried by export, and an import
keeps the error flow only when it can be this workspace's error flow."""

from __future__ import annotations

from typing import Any

import pytest

from designer.models import Flow, Workspace
from designer.services import flow_archive, flow_publish
from tests.conftest import Team
from tests.factories import flow, graph, node, simple_graph
from tests.runtime.helpers import publish

ERROR_FLOW = graph(node("failed", "trigger.error", "A flow failed"))


def with_on_failure(**on_failure: Any) -> dict[str, Any]:
    return simple_graph() | {"settings": {"on_failure": on_failure}}


def save(team: Team, target: Flow, graph_data: Any) -> Any:
    return team.client(team.editor).post(
        f"/api/flows/{target.pk}/versions/", {"graph": graph_data}, format="json"
    )


def refusals(response: Any) -> list[tuple[str | None, str, str]]:
    assert response.status_code == 400, response.content
    return [(e["node"], e["field"], e["message"]) for e in response.json()["errors"]]


def test_a_flow_names_an_error_flow_and_alert_addresses(team: Team) -> None:
    handler = publish(team, ERROR_FLOW, name="Alerts")
    orders = flow(team.editor, team.workspace, "Orders", simple_graph())
    response = save(
        team, orders, with_on_failure(flow=handler.pk, alert={"emails": ["ops@example.com"]})
    )
    assert response.status_code == 201, response.content
    # The quiet period takes its default of 15 minutes, stored with the version.
    assert response.json()["graph"]["settings"] == {
        "on_failure": {
            "flow": handler.pk,
            "alert": {"emails": ["ops@example.com"], "quiet_minutes": 15},
        }
    }
    listed = team.client(team.editor).get(f"/api/flows/{handler.pk}/").json()
    assert listed["catches_failures"] is True


@pytest.mark.parametrize(
    ("on_failure", "field"),
    [
        ({"alert": {"emails": ["ops@example.com", "not an address"]}}, "alert.emails.1"),
        ({"alert": {"emails": []}}, "alert.emails"),
        ({"alert": {"emails": ["ops@example.com"], "quiet_minutes": 0}}, "alert.quiet_minutes"),
        ({"alert": {"quiet_minutes": 5}}, "alert.emails"),
        ({"flow": "12"}, "flow"),
        ({"flow": 99999}, "flow"),
        ({"emails": ["ops@example.com"]}, ""),
    ],
)
def test_a_bad_on_failure_setting_is_a_400_naming_its_field(
    team: Team, on_failure: dict[str, Any], field: str
) -> None:
    orders = flow(team.editor, team.workspace, "Orders", simple_graph())
    [(node_id, where, _)] = refusals(save(team, orders, with_on_failure(**on_failure)))
    assert (node_id, where) == (None, f"settings.on_failure.{field}".rstrip("."))


def test_an_error_flow_must_be_another_flow_of_this_workspace_that_catches_failures(
    team: Team,
) -> None:
    orders = flow(team.editor, team.workspace, "Orders", simple_graph())
    elsewhere = Workspace.objects.get(name="Elsewhere")
    foreign = flow(team.outsider, elsewhere, "Their alerts", ERROR_FLOW)
    flow_publish(flow=foreign, user=team.outsider, number=1)
    unpublished = flow(team.editor, team.workspace, "Draft handler", ERROR_FLOW)
    no_trigger = publish(team, simple_graph(), name="Plain")
    archived = publish(team, ERROR_FLOW, name="Old alerts")
    flow_archive(flow=archived, user=team.editor)
    expected = {
        orders.pk: "A flow cannot be its own error flow.",
        foreign.pk: f"There is no flow #{foreign.pk} in this workspace.",
        unpublished.pk: "Draft handler has no live version; publish it first.",
        no_trigger.pk: "Version 1 of Plain has no 'When a flow fails' trigger, so it cannot "
        "be an error flow.",
        archived.pk: "Old alerts is archived; restore it first.",
    }
    for target, message in expected.items():
        found = refusals(save(team, orders, with_on_failure(flow=target)))
        assert found == [(None, "settings.on_failure.flow", message)]


def test_the_diff_names_the_flow_settings_that_changed(team: Team) -> None:
    handler = publish(team, ERROR_FLOW, name="Alerts")
    orders = flow(team.editor, team.workspace, "Orders", simple_graph())
    alert = {"emails": ["ops@example.com"], "quiet_minutes": 15}
    assert save(team, orders, with_on_failure(flow=handler.pk, alert=alert)).status_code == 201
    diff = team.client(team.editor).get(f"/api/flows/{orders.pk}/versions/2/diff/?against=1")
    assert diff.status_code == 200, diff.content
    assert diff.json()["settings"] == [
        "settings.on_failure.alert.emails",
        "settings.on_failure.alert.quiet_minutes",
        "settings.on_failure.flow",
    ]
    page = team.client(team.editor).get(
        f"/flows/{orders.pk}/versions/diff/?from=1&to=2", HTTP_HX_REQUEST="true"
    )
    assert b"Flow settings changed" in page.content
    assert b"settings.on_failure.flow" in page.content


def test_export_carries_on_failure_and_import_keeps_an_error_flow_of_the_workspace(
    team: Team,
) -> None:
    handler = publish(team, ERROR_FLOW, name="Alerts")
    alert = {"emails": ["ops@example.com"], "quiet_minutes": 30}
    orders = flow(
        team.editor, team.workspace, "Orders", with_on_failure(flow=handler.pk, alert=alert)
    )
    client = team.client(team.editor)
    exported = client.get(f"/api/flows/{orders.pk}/export/").json()
    assert exported["settings"] == {"on_failure": {"flow": handler.pk, "alert": alert}}
    imported = client.post("/api/flows/import/", exported | {"name": "Copy"}, format="json")
    assert imported.status_code == 201, imported.content
    version = Flow.objects.get(pk=imported.json()["id"]).versions.get()
    assert version.graph["settings"] == exported["settings"]
    assert version.message == "Imported"


def test_import_drops_an_error_flow_this_workspace_does_not_have_and_says_so(
    team: Team,
) -> None:
    alert = {"emails": ["ops@example.com"], "quiet_minutes": 15}
    data = {"name": "From elsewhere", **with_on_failure(flow=99999, alert=alert)}
    imported = team.client(team.editor).post("/api/flows/import/", data, format="json")
    assert imported.status_code == 201, imported.content
    version = Flow.objects.get(pk=imported.json()["id"]).versions.get()
    assert version.graph["settings"] == {"on_failure": {"alert": alert}}
    assert version.message == (
        "Imported; the error flow #99999 was dropped (There is no flow #99999 in this workspace.)"
    )
