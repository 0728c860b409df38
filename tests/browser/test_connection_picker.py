"""Steps that talk to a database or a broker pick a connection of the workspace by name,
from a list holding only the kinds the step can use; the password never reaches the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion, Membership, Workspace
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish
from tests.runtime.resources.connections.helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)


def _outsiders(team: Team) -> Workspace:
    return Membership.objects.get(user=team.outsider).workspace


def test_a_query_step_picks_a_database_connection_by_name(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    connect(team, "postgres", name="crm", password="pg-secret-123")
    connect(team, "mysql", name="shop")
    connect(team, "amqp", name="bus")  # a broker: not offered to a query
    connect(team, "postgres", name="theirs", workspace=_outsiders(team))
    flow = publish(
        team,
        graph(
            node("start", "trigger.manual") | {"position": {"x": 0, "y": 0}},
            node("lookup", "db.query", "Find customer", connection="crm", sql="SELECT 1")
            | {"position": {"x": 300, "y": 0}},
            edges=[edge("start", "lookup")],
        ),
        name="Lookup",
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow.pk)
    designer.select("lookup")

    picker = designer.field("connection").locator("select")
    expect(picker).to_have_value("crm")
    expect(picker.locator("option", has_text="crm (postgres)")).to_have_count(1)
    options = picker.locator("option").all_inner_texts()
    assert "crm (postgres)" in options and "shop (mysql)" in options
    assert not any(text.startswith(("bus", "theirs")) for text in options)
    picker.select_option("shop")
    designer.save("Query the shop")

    expect(page.get_by_text("Saved version 2.")).to_be_visible()
    saved = FlowVersion.objects.get(flow=flow, number=2).graph
    lookup = next(n for n in saved["nodes"] if n["id"] == "lookup")
    assert lookup["config"]["connection"] == "shop"
    assert "pg-secret-123" not in page.content()
