"""The server-rendered pages: flow list with htmx search, and a flow's page."""

from __future__ import annotations

from tests.conftest import Team
from tests.factories import flow


def test_the_flow_list_shows_the_users_flows(team: Team) -> None:
    flow(team.editor, team.workspace, "Order emails")
    page = team.client(team.viewer).get("/").content.decode()
    assert "Order emails" in page
    assert 'hx-get="/"' in page


def test_an_htmx_search_returns_only_the_rows(team: Team) -> None:
    flow(team.editor, team.workspace, "Order emails")
    flow(team.editor, team.workspace, "Refunds")
    response = team.client(team.viewer).get("/", {"q": "refu"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Refunds" in body and "Order emails" not in body
    assert "<html" not in body


def test_a_flow_page_embeds_the_graph_for_the_canvas(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders")
    page = team.client(team.viewer).get(f"/flows/{orders.pk}/").content.decode()
    assert 'id="flow-graph"' in page
    assert "data-canvas" in page
    assert "v1" in page


def test_the_login_page_renders(team: Team) -> None:
    assert team.client(None).get("/login/").status_code == 200
