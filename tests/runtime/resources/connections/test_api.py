"""The connections API: admins create, change, test and delete connections; editors and
viewers see names and kinds only; outsiders get 404; passwords never come back."""

from __future__ import annotations

from typing import Any

import pytest

from designer.services import flow_create, flow_publish
from runtime.models import Connection
from runtime.resources.secrets import secret_decrypt
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.openapi import api, conforms
from tests.runtime.resources.connections.helpers import SERVICES, connect

pytestmark = pytest.mark.django_db


def create(team: Team, **data: object) -> Any:
    body = {"workspace": team.workspace.pk, "name": "crm", "kind": "mysql", **SERVICES["mysql"]}
    return team.client(team.admin).post("/api/connections/", body | data, format="json")


def test_an_admin_creates_a_connection_whose_password_is_stored_encrypted(team: Team) -> None:
    response = create(team, password="s3cret-pw", allow_writes=True)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["name"] == "crm" and data["kind"] == "mysql" and data["port"] == 3306
    assert data["has_password"] is True and data["allow_writes"] is True
    assert "password" not in data and "s3cret-pw" not in str(data)
    stored = Connection.objects.get(pk=data["id"])
    assert "s3cret-pw" not in stored.ciphertext
    assert secret_decrypt(stored.ciphertext) == "s3cret-pw"
    listed = team.client(team.admin).get("/api/connections/").json()
    assert "s3cret-pw" not in str(listed) and listed[0]["host"] == "127.0.0.1"


def test_editors_and_viewers_see_names_and_kinds_but_no_settings(team: Team) -> None:
    connect(team, "postgres", name="warehouse", password="pg-password")
    for member in (team.editor, team.viewer):
        listed = team.client(member).get("/api/connections/").json()
        assert listed == [
            {
                "id": listed[0]["id"],
                "workspace": team.workspace.pk,
                "name": "warehouse",
                "kind": "postgres",
                "description": "",
            }
        ]
        one = team.client(member).get(f"/api/connections/{listed[0]['id']}/").json()
        assert "host" not in one and "username" not in one


def test_editors_cannot_create_change_test_or_delete_connections(team: Team) -> None:
    connection = connect(team, "postgres")
    editor = team.client(team.editor)
    body = {"workspace": team.workspace.pk, "name": "x", "kind": "redis", "host": "127.0.0.1"}
    assert editor.post("/api/connections/", body, format="json").status_code == 403
    url = f"/api/connections/{connection.pk}/"
    assert editor.patch(url, {"host": "evil.example"}, format="json").status_code == 403
    assert editor.post(url + "test/", {}, format="json").status_code == 403
    assert editor.delete(url).status_code == 403
    assert Connection.objects.get(pk=connection.pk).host == "127.0.0.1"


def test_outsiders_get_404_and_see_nothing(team: Team) -> None:
    connection = connect(team, "postgres")
    outsider = team.client(team.outsider)
    assert outsider.get("/api/connections/").json() == []
    url = f"/api/connections/{connection.pk}/"
    assert outsider.get(url).status_code == 404
    assert outsider.patch(url, {"host": "x"}, format="json").status_code == 404
    assert outsider.post(url + "test/", {}, format="json").status_code == 404
    assert outsider.delete(url).status_code == 404
    body = {"workspace": team.workspace.pk, "name": "x", "kind": "redis", "host": "127.0.0.1"}
    assert outsider.post("/api/connections/", body, format="json").status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"kind": "oracle"}, "kind"),
        ({"host": "http://db.example/x"}, "host"),
        ({"port": 70000}, "port"),
        ({"kind": "redis", "database": "zero"}, "database"),
        ({"kind": "amqp", "allow_writes": True}, "allow_writes"),
        ({"workspace": None}, "workspace"),
    ],
)
def test_bad_settings_are_400s_naming_the_field(team: Team, data: dict, field: str) -> None:
    body = {"workspace": team.workspace.pk, "name": "crm", "kind": "mysql", "host": "127.0.0.1"}
    body = {key: value for key, value in (body | data).items() if value is not None}
    response = team.client(team.admin).post("/api/connections/", body, format="json")
    assert response.status_code == 400, response.json()
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not Connection.objects.exists()


def test_a_second_connection_with_the_same_name_is_a_400(team: Team) -> None:
    assert create(team).status_code == 201
    response = create(team)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"


def test_patching_keeps_the_password_unless_one_is_given(team: Team) -> None:
    connection_id = create(team, password="first").json()["id"]
    admin = team.client(team.admin)
    url = f"/api/connections/{connection_id}/"
    assert admin.patch(url, {"description": "CRM"}, format="json").status_code == 200
    assert secret_decrypt(Connection.objects.get(pk=connection_id).ciphertext) == "first"
    assert admin.patch(url, {"password": "second"}, format="json").status_code == 200
    assert secret_decrypt(Connection.objects.get(pk=connection_id).ciphertext) == "second"
    assert admin.patch(url, {"password": ""}, format="json").json()["has_password"] is False


def test_testing_a_connection_reports_success_from_the_server(team: Team) -> None:
    for kind in SERVICES:
        connection = connect(team, kind, name=f"svc-{kind}")
        response = team.client(team.admin).post(f"/api/connections/{connection.pk}/test/")
        assert response.status_code == 200
        assert response.json()["ok"] is True, (kind, response.json())
    result = team.client(team.admin).post(f"/api/connections/{connection.pk}/test/").json()
    assert result["message"].startswith("Connected to the MQTT broker")


@pytest.mark.parametrize("kind", ["mysql", "amqp"])
def test_a_wrong_password_is_reported_in_the_servers_words(team: Team, kind: str) -> None:
    connection = connect(team, kind, password="definitely-wrong")
    response = team.client(team.admin).post(f"/api/connections/{connection.pk}/test/")
    assert response.status_code == 200
    result = response.json()
    assert result["ok"] is False
    expected = "Access denied for user 'root'" if kind == "mysql" else "ACCESS_REFUSED"
    assert expected in result["message"]
    assert "definitely-wrong" not in result["message"]


def test_unsaved_settings_can_be_tested_before_saving(team: Team) -> None:
    admin = team.client(team.admin)
    body = {"workspace": team.workspace.pk, "kind": "postgres", **SERVICES["postgres"]}
    assert admin.post("/api/connections/test/", body, format="json").json()["ok"] is True
    closed = body | {"port": 1}
    result = admin.post("/api/connections/test/", closed, format="json").json()
    assert result["ok"] is False and "127.0.0.1:1" in result["message"]
    assert not Connection.objects.exists()
    editor = team.client(team.editor)
    assert editor.post("/api/connections/test/", body, format="json").status_code == 403


def test_deleting_a_connection_an_active_trigger_consumes_is_a_409(team: Team) -> None:
    connection = connect(team, "redis", name="events")
    flow = flow_create(
        user=team.editor,
        workspace=team.workspace,
        name="Orders",
        graph=graph(
            node("in", "trigger.queue", connection="events", source="orders"),
            node("shape", "data.transform", value={"ok": True}),
            edges=[edge("in", "shape")],
        ),
    )
    flow_publish(flow=flow, user=team.editor, number=1)
    response = team.client(team.admin).delete(f"/api/connections/{connection.pk}/")
    assert response.status_code == 409
    assert "Orders" in response.json()["detail"]
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_what_members_and_admins_read_of_a_connection_is_what_the_schema_documents(
    team: Team,
) -> None:
    # The schema promised every reader the admins' settings (host, allow_writes...).
    connection = connect(team, "postgres", name="warehouse")
    for member in (team.viewer, team.editor, team.admin):
        conforms(api(member).get("/api/connections/"))
        one = conforms(api(member).get(f"/api/connections/{connection.pk}/"))
        assert ("host" in one.json) is (member == team.admin)


@pytest.mark.parametrize("database", ["²", "٣", "1.5", "-1"])
def test_a_redis_database_that_is_not_a_plain_number_is_a_400_naming_it(
    team: Team, database: str
) -> None:
    # "²".isdigit() is True but int("²") raises: creating, changing or testing was a 500.
    connection = connect(team, "redis", name="cache")
    admin = api(team.admin)
    unsaved = {"workspace": team.workspace.pk, "kind": "redis", "host": "127.0.0.1"}
    responses = [
        admin.post("/api/connections/", json=unsaved | {"name": "new", "database": database}),
        admin.patch(f"/api/connections/{connection.pk}/", json={"database": database}),
        admin.post(f"/api/connections/{connection.pk}/test/", json={"database": database}),
        admin.post("/api/connections/test/", json=unsaved | {"database": database}),
    ]
    for response in responses:
        assert conforms(response).status_code == 400, response.json
        assert response.json["errors"][0]["field"] == "database"
    assert list(Connection.objects.values_list("name", "database")) == [
        ("cache", SERVICES["redis"]["database"])
    ]
