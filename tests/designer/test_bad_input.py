"""Input that used to crash the flows API and pages with a 500: each is now a 400 (or a
page that ignores it) naming what is wrong, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from designer.models import Flow, FlowVersion
from tests.conftest import Team
from tests.factories import edge, flow, graph, node, simple_graph

# Jinja's parser recurses once per bracket and raised RecursionError at about 100 levels.
DEEP_CONDITION = "(" * 100 + "1" + ")" * 100
DEEP_BRANCH = graph(
    node("start", "trigger.manual"),
    node("check", "logic.branch", condition=DEEP_CONDITION),
    edges=[edge("start", "check")],
)
# What json.loads makes of "\ud800" in a request body: PostgreSQL's jsonb refuses it.
SURROGATE_GRAPH = (
    '{"graph": {"nodes": [{"id": "start", "type": "trigger.manual", '
    '"config": {"sample": {"id": "\\ud800"}}}], "edges": []}}'
)


def page_client(team: Team) -> Client:
    client = Client()
    client.force_login(team.editor)
    return client


def error_of(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content
    [error] = response.json()["errors"]
    return error


def test_a_condition_nested_too_deeply_is_a_400_naming_its_node_on_create(team: Team) -> None:
    response = team.client(team.editor).post(
        "/api/flows/", {"name": "Deep", "graph": DEEP_BRANCH}, format="json"
    )
    error = error_of(response)
    assert (error["node"], error["field"]) == ("check", "config.condition")
    assert not Flow.objects.exists()


def test_a_condition_nested_too_deeply_is_a_400_naming_its_node_on_save(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/", {"graph": DEEP_BRANCH}, format="json"
    )
    error = error_of(response)
    assert (error["node"], error["field"]) == ("check", "config.condition")
    assert orders.versions.count() == 1


def test_a_condition_nested_too_deeply_is_a_400_naming_its_node_on_import(team: Team) -> None:
    response = team.client(team.editor).post(
        "/api/flows/import/", {"name": "Deep", **DEEP_BRANCH}, format="json"
    )
    assert error_of(response)["node"] == "check"
    assert not Flow.objects.exists()


def test_based_on_a_version_a_flow_without_versions_lacks_is_a_400(team: Team) -> None:
    client = team.client(team.editor)
    empty = client.post("/api/flows/", {"name": "Empty"}, format="json").json()
    response = client.post(
        f"/api/flows/{empty['id']}/versions/",
        {"graph": simple_graph(), "based_on": 1},
        format="json",
    )
    error = error_of(response)
    assert error["field"] == "based_on" and "has none yet" in error["message"]
    assert not FlowVersion.objects.exists()
    first = client.post(
        f"/api/flows/{empty['id']}/versions/",
        {"graph": simple_graph(), "based_on": 0},
        format="json",
    )
    assert first.status_code == 201 and first.json()["number"] == 1


def test_based_on_a_version_newer_than_the_latest_is_a_400_not_a_conflict(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    for based_on in (2, 10**30):
        response = team.client(team.editor).post(
            f"/api/flows/{orders.pk}/versions/",
            {"graph": simple_graph("v2"), "based_on": based_on},
            format="json",
        )
        assert error_of(response)["field"] == "based_on"
    assert orders.versions.count() == 1


@pytest.mark.parametrize("value", ["²", "٣", "-1", "0", "1.5", "x", str(2**63)])
def test_a_workspace_that_is_not_an_id_is_a_400_naming_it(team: Team, value: str) -> None:
    # "²".isdigit() is True but int("²") raises: that was a 500.
    client = team.client(team.editor)
    listed = client.get("/api/flows/", {"workspace": value})
    assert error_of(listed)["field"] == "workspace"
    imported = client.post(
        f"/api/flows/import/?workspace={value}", {"name": "X", **simple_graph()}, format="json"
    )
    assert error_of(imported)["field"] == "workspace"
    assert not Flow.objects.exists()


def test_versions_to_compare_or_export_must_be_ids(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    client = team.client(team.editor)
    diff = client.get(f"/api/flows/{orders.pk}/versions/1/diff/", {"against": "²"})
    assert error_of(diff)["field"] == "against"
    export = client.get(f"/api/flows/{orders.pk}/export/", {"version": "²"})
    assert error_of(export)["field"] == "version"


def test_the_create_form_ignores_a_workspace_that_is_not_an_id(team: Team) -> None:
    response = page_client(team).post("/flows/new/", {"name": "Orders", "workspace": "²"})
    created = Flow.objects.get()
    assert response.status_code == 302 and created.workspace == team.workspace


def test_a_nul_in_a_search_is_ignored_by_the_api_and_the_list_page(team: Team) -> None:
    flow(team.editor, team.workspace, "Order emails")
    found = team.client(team.viewer).get("/api/flows/", {"q": "Order\x00"})
    assert [f["name"] for f in found.json()["results"]] == ["Order emails"]
    page = page_client(team).get("/", {"q": "\x00"})
    assert page.status_code == 200 and b"Order emails" in page.content


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"])
@pytest.mark.parametrize("field", ["name", "description"])
def test_an_import_with_text_postgres_cannot_store_is_a_400_naming_the_field(
    team: Team, field: str, text: str
) -> None:
    # json.dumps escapes both (\\u0000, \\ud800): how they arrive in a request body.
    body = json.dumps({"name": "Orders", **simple_graph(), field: text})
    response = team.client(team.editor).post(
        "/api/flows/import/", body, content_type="application/json"
    )
    assert error_of(response)["field"] == field
    assert not Flow.objects.exists()


def test_text_fields_of_the_api_refuse_nul_and_lone_surrogates(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    client = team.client(team.editor)
    renamed = client.patch(
        f"/api/flows/{orders.pk}/", '{"description": "\\u0000"}', content_type="application/json"
    )
    assert error_of(renamed)["field"] == "description"
    saved = client.post(
        f"/api/flows/{orders.pk}/versions/",
        '{"graph": {"nodes": [{"id": "start", "type": "trigger.manual"}]}, "message": "\\udfff"}',
        content_type="application/json",
    )
    assert error_of(saved)["field"] == "message"
    assert orders.versions.count() == 1


def test_the_create_form_refuses_a_nul_in_the_name(team: Team) -> None:
    response = page_client(team).post("/flows/new/", {"name": "Or\x00ders"})
    assert response.status_code == 400 and b"NUL" in response.content
    assert not Flow.objects.exists()


def test_a_graph_with_a_lone_surrogate_is_a_400_saying_where(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/", SURROGATE_GRAPH, content_type="application/json"
    )
    error = error_of(response)
    assert error["field"] == "graph"
    assert "lone surrogate" in error["message"]
    assert "nodes[0].config.sample.id" in error["message"]
    assert orders.versions.count() == 1


def test_a_template_with_a_number_literal_too_long_to_read_is_a_400_naming_its_field(
    team: Team,
) -> None:
    # Jinja's lexer raised ValueError (Python reads at most 4300 digits): saving was a 500.
    orders = flow(team.editor, team.workspace)
    shape = node("shape", "data.transform", value={"big": "{{ " + "9" * 5000 + " }}"})
    body = {"graph": graph(node("start", "trigger.manual"), shape, edges=[edge("start", "shape")])}
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/", body, format="json"
    )
    error = error_of(response)
    assert (error["node"], error["field"]) == ("shape", "config.value.big")
    assert orders.versions.count() == 1
