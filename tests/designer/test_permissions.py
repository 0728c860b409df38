"""Who may do what: admins and editors write, viewers read, outsiders see nothing (404)."""

from __future__ import annotations

import pytest

from designer.models import Flow
from tests.conftest import Team
from tests.factories import flow, simple_graph

WRITES = [
    ("patch", "/api/flows/{id}/", {"name": "Renamed"}),
    ("post", "/api/flows/{id}/versions/", {"graph": simple_graph("x")}),
    ("post", "/api/flows/{id}/publish/", {"version": 1}),
    ("delete", "/api/flows/{id}/", None),
]
READS = [
    "/api/flows/{id}/",
    "/api/flows/{id}/versions/",
    "/api/flows/{id}/versions/1/",
    "/api/flows/{id}/versions/1/diff/?against=1",
    "/api/flows/{id}/events/",
    "/api/flows/{id}/export/",
]


@pytest.fixture
def orders(team: Team) -> Flow:
    return flow(team.admin, team.workspace)


@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
@pytest.mark.parametrize("url", READS)
def test_every_member_reads_flows(team: Team, orders: Flow, role: str, url: str) -> None:
    response = team.client(getattr(team, role)).get(url.format(id=orders.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("url", READS)
def test_an_outsider_gets_404_on_every_read(team: Team, orders: Flow, url: str) -> None:
    response = team.client(team.outsider).get(url.format(id=orders.pk))
    assert response.status_code == 404
    assert "Orders" not in response.content.decode()


@pytest.mark.parametrize(("method", "url", "data"), WRITES)
def test_an_outsider_gets_404_on_every_write(
    team: Team, orders: Flow, method: str, url: str, data: dict | None
) -> None:
    client = team.client(team.outsider)
    response = getattr(client, method)(url.format(id=orders.pk), data, format="json")
    assert response.status_code == 404
    assert Flow.objects.get(pk=orders.pk).name == "Orders"


@pytest.mark.parametrize(("method", "url", "data"), WRITES)
def test_a_viewer_gets_403_on_every_write(
    team: Team, orders: Flow, method: str, url: str, data: dict | None
) -> None:
    response = getattr(team.client(team.viewer), method)(
        url.format(id=orders.pk), data, format="json"
    )
    assert response.status_code == 403
    assert "read flows but not change them" in response.json()["detail"]


@pytest.mark.parametrize("role", ["admin", "editor"])
@pytest.mark.parametrize(("method", "url", "data"), WRITES)
def test_admins_and_editors_write(
    team: Team, orders: Flow, role: str, method: str, url: str, data: dict | None
) -> None:
    response = getattr(team.client(getattr(team, role)), method)(
        url.format(id=orders.pk), data, format="json"
    )
    assert response.status_code in {200, 201, 204}, response.content


def test_a_viewer_cannot_create_or_import_flows(team: Team) -> None:
    client = team.client(team.viewer)
    assert client.post("/api/flows/", {"name": "Mine"}, format="json").status_code == 403
    export = {"name": "Mine", **simple_graph()}
    assert client.post("/api/flows/import/", export, format="json").status_code == 403
    assert not Flow.objects.exists()


def test_nobody_creates_flows_in_a_workspace_they_do_not_belong_to(team: Team) -> None:
    response = team.client(team.outsider).post(
        "/api/flows/", {"name": "Sneaky", "workspace": team.workspace.pk}, format="json"
    )
    assert response.status_code == 403
    assert not Flow.objects.filter(workspace=team.workspace).exists()


def test_outsiders_do_not_see_flows_in_lists(team: Team, orders: Flow) -> None:
    assert team.client(team.outsider).get("/api/flows/").json()["results"] == []


def test_pages_follow_the_same_rules(team: Team, orders: Flow) -> None:
    assert team.client(team.viewer).get(f"/flows/{orders.pk}/").status_code == 200
    assert team.client(team.outsider).get(f"/flows/{orders.pk}/").status_code == 404
    anonymous = team.client(None).get(f"/flows/{orders.pk}/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")
