"""Flow settings (a concurrency limit, optionally per key) are part of the graph contract:
validated with errors naming the field, shown by the API, exported and imported."""

from __future__ import annotations

from typing import Any

import pytest

from designer.models import Flow
from tests.conftest import Team
from tests.factories import flow, simple_graph


def with_concurrency(**concurrency: Any) -> dict[str, Any]:
    return simple_graph() | {"settings": {"concurrency": concurrency}}


def save(team: Team, graph_data: Any) -> Any:
    orders = flow(team.editor, team.workspace)
    return team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/", {"graph": graph_data}, format="json"
    )


@pytest.mark.parametrize(
    ("flow_settings", "field"),
    [
        ({"concurrency": {"limit": 0}}, "settings.concurrency.limit"),
        ({"concurrency": {"limit": "3"}}, "settings.concurrency.limit"),
        ({"concurrency": {"limit": 1001}}, "settings.concurrency.limit"),
        ({"concurrency": {"key": "{{ event.trigger.id }}"}}, "settings.concurrency.limit"),
        ({"concurrency": {"limit": 1, "key": "{{ event.trigger.id "}}, "settings.concurrency.key"),
        ({"concurrency": {"limit": 1, "key": 7}}, "settings.concurrency.key"),
        ({"concurrency": {"limit": 1, "per": "x"}}, "settings.concurrency"),
        ({"retries": 3}, "settings"),
    ],
)
def test_a_bad_flow_setting_is_a_400_naming_its_field(
    team: Team, flow_settings: dict[str, Any], field: str
) -> None:
    response = save(team, simple_graph() | {"settings": flow_settings})
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [(error["node"], error["field"]) for error in errors] == [(None, field)]


def test_the_api_shows_the_saved_concurrency_setting(team: Team) -> None:
    response = save(team, with_concurrency(limit=1, key="{{ event.trigger.body.customer_id }}"))
    assert response.status_code == 201, response.content
    assert response.json()["graph"]["settings"] == {
        "concurrency": {"limit": 1, "key": "{{ event.trigger.body.customer_id }}"}
    }


def test_a_graph_without_settings_is_saved_without_them(team: Team) -> None:
    response = save(team, simple_graph())
    assert response.status_code == 201
    assert "settings" not in response.json()["graph"]


def test_export_and_import_keep_the_concurrency_setting(team: Team) -> None:
    orders = flow(team.editor, team.workspace, graph_data=with_concurrency(limit=3))
    client = team.client(team.editor)
    exported = client.get(f"/api/flows/{orders.pk}/export/").json()
    assert exported["settings"] == {"concurrency": {"limit": 3}}
    imported = client.post("/api/flows/import/", exported | {"name": "Copy"}, format="json")
    assert imported.status_code == 201, imported.content
    copy = Flow.objects.get(pk=imported.json()["id"])
    assert copy.versions.get().graph["settings"] == {"concurrency": {"limit": 3}}
