"""The flows and versions API: shapes, errors a person can act on, and no 500s."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from designer.models import Flow, FlowVersion, Membership, Role, Workspace
from designer.services import flow_publish
from tests.conftest import Team
from tests.factories import edge, flow, graph, node, simple_graph
from tests.openapi import api, conforms


def test_anonymous_requests_get_401(team: Team) -> None:
    response = APIClient().get("/api/flows/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_script_authenticates_with_a_token(team: Team) -> None:
    token = Token.objects.create(user=team.editor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/flows/").status_code == 200


def test_an_editor_creates_a_flow_with_its_first_version(team: Team) -> None:
    response = team.client(team.editor).post(
        "/api/flows/",
        {"name": "Orders", "graph": simple_graph(), "message": "Start"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["latest_version"], body["live_version"]) == ("Orders", 1, None)
    assert body["workspace"] == team.workspace.pk
    assert FlowVersion.objects.get(flow_id=body["id"]).message == "Start"


def test_creating_a_flow_with_a_bad_graph_stores_nothing(team: Team) -> None:
    bad = graph(
        node("start", "trigger.manual"), node("call", "http.request"), edges=[edge("start", "call")]
    )
    response = team.client(team.editor).post(
        "/api/flows/", {"name": "X", "graph": bad}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"node": "call", "field": "config.url", "message": "This field is required."}
    ]
    assert not Flow.objects.exists()


def test_it_lists_and_searches_flows(team: Team) -> None:
    flow(team.editor, team.workspace, "Order emails")
    flow(team.editor, team.workspace, "Nightly refunds")
    client = team.client(team.viewer)
    names = [f["name"] for f in client.get("/api/flows/").json()["results"]]
    assert names == ["Nightly refunds", "Order emails"]
    found = client.get("/api/flows/", {"q": "refund"}).json()["results"]
    assert [f["name"] for f in found] == ["Nightly refunds"]


def test_patch_renames_and_delete_archives(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    client = team.client(team.editor)
    response = client.patch(f"/api/flows/{orders.pk}/", {"name": "Order mails"}, format="json")
    assert response.json()["name"] == "Order mails"
    assert client.delete(f"/api/flows/{orders.pk}/").status_code == 204
    assert client.get("/api/flows/").json()["results"] == []
    archived = client.get("/api/flows/", {"archived": "1"}).json()["results"]
    assert archived[0]["archived"] is True
    assert client.get(f"/api/flows/{orders.pk}/versions/1/").status_code == 200
    assert client.post(f"/api/flows/{orders.pk}/restore/").json()["archived"] is False


def test_saving_a_version_returns_its_number(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/",
        {"graph": simple_graph("v2"), "message": "Say more", "based_on": 1},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["number"] == 2
    assert response.json()["graph"]["nodes"][1]["config"] == {"value": {"message": "v2"}}


def test_a_stale_save_gets_409_with_the_newer_version(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    client = team.client(team.editor)
    client.post(
        f"/api/flows/{orders.pk}/versions/", {"graph": simple_graph(), "based_on": 1}, format="json"
    )
    response = client.post(
        f"/api/flows/{orders.pk}/versions/",
        {"graph": simple_graph("mine"), "based_on": 1},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["latest_version"]["number"] == 2
    assert "save yours on top" in response.json()["detail"]


def test_a_bad_version_names_the_node_and_stores_nothing(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    bad = graph(
        node("start", "trigger.manual"),
        node("code", "code.python", source="def handler(:"),
        edges=[edge("start", "code")],
    )
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/", {"graph": bad}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["node"], error["field"]) == ("code", "config.source")
    assert "Nothing was saved" in response.json()["detail"]
    assert orders.versions.count() == 1


@pytest.mark.timeout(30)  # unbounded, the first of these takes seconds, the second minutes
@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        (
            node(
                "shape", "data.transform", value={"ok": "{{ 1 }}", "total": "{{ 9**(9**7) > 1 }}"}
            ),
            "config.value.total",
            "line 1: number too large",
        ),
        (
            node("shape", "logic.branch", condition='"x" | center(10**10) == "y"'),
            "config.condition",
            "line 1: string too long",
        ),
        (
            node("shape", "http.request", url="https://example.com/{{ 'x'.ljust(10**12) }}"),
            "config.url",
            "line 1: string too long",
        ),
    ],
)
def test_a_template_bomb_is_a_400_naming_its_node_and_field(
    team: Team, step: dict[str, Any], field: str, message: str
) -> None:
    orders = flow(team.editor, team.workspace)
    bomb = graph(node("start", "trigger.manual"), step, edges=[edge("start", "shape")])
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/", {"graph": bomb}, format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["node"], error["field"]) == ("shape", field)
    assert error["message"].startswith(message)
    assert orders.versions.count() == 1


def test_missing_fields_are_named(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    response = team.client(team.editor).post(f"/api/flows/{orders.pk}/versions/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "graph", "message": "This field is required."}]


def test_malformed_json_is_a_400(team: Team) -> None:
    response = team.client(team.editor).post(
        "/api/flows/", '{"name": "x",', content_type="application/json"
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_nan_is_not_json(team: Team) -> None:
    response = team.client(team.editor).post(
        "/api/flows/", '{"name": NaN}', content_type="application/json"
    )
    assert response.status_code == 400


def test_absurdly_nested_json_is_a_400_not_a_crash(team: Team) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = team.client(team.editor).post("/api/flows/", body, content_type="application/json")
    assert response.status_code == 400


def test_an_oversized_body_is_a_413(team: Team, settings: SettingsWrapper) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "x", "description": "y" * 20_000})
    response = team.client(team.editor).post("/api/flows/", body, content_type="application/json")
    assert response.status_code == 413


def test_nul_characters_in_names_are_refused(team: Team) -> None:
    response = team.client(team.editor).post("/api/flows/", {"name": "a\x00b"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"


def test_unknown_ids_are_404_not_500(team: Team) -> None:
    client = team.client(team.editor)
    assert client.get("/api/flows/99999999/").status_code == 404
    assert client.get("/api/flows/99999999999999999999999/").status_code == 404
    orders = flow(team.editor, team.workspace)
    assert client.get(f"/api/flows/{orders.pk}/versions/7/").status_code == 404


def test_step_types_describe_each_kind_with_its_schema(team: Team) -> None:
    kinds = {k["type"]: k for k in team.client(team.viewer).get("/api/step-types/").json()}
    assert set(kinds) >= {
        "trigger.webhook",
        "trigger.cron",
        "trigger.event",
        "trigger.dbchange",
        "trigger.manual",
        "code.python",
        "code.javascript",
        "http.request",
        "email.send",
        "logic.branch",
        "data.transform",
        "flow.delay",
    }
    assert kinds["logic.branch"]["handles"] == ["true", "false"]
    assert kinds["http.request"]["config_schema"]["required"] == ["url"]
    assert kinds["trigger.cron"]["category"] == "trigger"


def test_the_openapi_schema_is_served(team: Team) -> None:
    response = team.client(team.viewer).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert "/api/flows/{flow_id}/versions/{number}/diff/" in paths


def test_workspaces_list_the_users_role(team: Team) -> None:
    spaces = team.client(team.viewer).get("/api/workspaces/").json()
    assert [(s["name"], s["role"]) for s in spaces] == [("Shop", "viewer")]


def test_a_member_of_two_workspaces_must_say_where_a_flow_goes(team: Team) -> None:
    elsewhere = Workspace.objects.get(name="Elsewhere")
    Membership.objects.create(workspace=elsewhere, user=team.editor, role=Role.EDITOR)
    client = team.client(team.editor)
    response = client.post("/api/flows/", {"name": "Where?"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "workspace"
    ok = client.post("/api/flows/", {"name": "Here", "workspace": team.workspace.pk}, format="json")
    assert ok.status_code == 201


def test_superusers_see_every_workspace(team: Team) -> None:
    root = User.objects.create_superuser("root", password="x")
    flow(team.outsider, team.outsider.memberships.get().workspace, "Theirs")
    names = [f["name"] for f in team.client(root).get("/api/flows/").json()["results"]]
    assert names == ["Theirs"]


def test_a_graph_that_is_not_an_object_is_refused_in_the_documented_error_shape(
    team: Team,
) -> None:
    # Graph errors carry "node": null when no node is to blame; the schema said a string.
    orders = flow(team.editor, team.workspace)
    response = api(team.editor).post(f"/api/flows/{orders.pk}/versions/", json={"graph": 0.2})
    assert conforms(response).status_code == 400
    [error] = response.json["errors"]
    assert (error["node"], error["field"]) == (None, "graph")
    assert orders.versions.count() == 1


def test_an_api_url_that_matches_no_route_is_a_json_404(team: Team) -> None:
    # /api/runs/abc/ matched no route and answered Django's HTML page.
    for path in ("/api/runs/abc/", "/api/flows/1,2/versions/", "/api/nothing-here/"):
        response = api(team.viewer).get(path)
        assert response.status_code == 404 and response.json == {"detail": "No such API endpoint."}
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_the_flow_list_says_which_flows_can_be_called_and_with_what_fields(team: Team) -> None:
    declared = [
        {"name": "customer_id", "type": "string", "required": True, "description": "Their id"},
        {"name": "amount", "type": "number"},
    ]
    called_graph = graph(node("called", "trigger.called", fields=declared))
    lookup = flow(team.editor, team.workspace, "Look up customer", graph_data=called_graph)
    flow_publish(flow=lookup, user=team.editor, number=1)
    anything = flow(
        team.editor, team.workspace, "Any input", graph_data=graph(node("called", "trigger.called"))
    )
    flow_publish(flow=anything, user=team.editor, number=1)
    flow(team.editor, team.workspace, "Draft callee", graph_data=called_graph)  # not published
    manual = flow(team.editor, team.workspace, "Manual only")
    flow_publish(flow=manual, user=team.editor, number=1)
    response = api(team.viewer).get(f"/api/flows/?workspace={team.workspace.pk}")
    found = {
        f["name"]: (f["callable"], f["call_fields"]) for f in conforms(response).json["results"]
    }
    assert found == {
        "Look up customer": (True, declared),
        "Any input": (True, []),
        "Draft callee": (False, None),
        "Manual only": (False, None),
    }
