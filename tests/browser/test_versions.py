"""The version history: a visual diff of any two versions, and rollback with a confirmation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowEvent
from designer.services import flow_publish, flow_version_save
from tests.browser.conftest import Server, log_in
from tests.conftest import Team
from tests.factories import edge, flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_history_diffs_versions_and_rolls_back(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    shape = node("shape", "data.transform", "Shape", value=1) | {"position": {"x": 300, "y": 0}}
    first = graph(start, shape, edges=[edge("start", "shape")])
    orders = flow(team.editor, team.workspace, "History", first)
    changed = node("shape", "data.transform", "Shape", value=2) | {"position": {"x": 300, "y": 0}}
    added = node("audit", "data.transform", "Audit", value=3) | {"position": {"x": 600, "y": 0}}
    flow_version_save(
        flow=orders,
        user=team.admin,
        graph=graph(start, changed, added, edges=[edge("start", "shape"), edge("shape", "audit")]),
        message="Add an audit step",
        based_on=1,
    )
    flow_publish(flow=orders, user=team.admin, number=2)
    log_in(context, server, team.editor)
    page.goto(f"/flows/{orders.pk}/versions/")

    rows = page.locator("#version-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("v2")
    expect(rows.first).to_contain_text("live")
    expect(rows.first).to_contain_text("Add an audit step")
    expect(rows.first).to_contain_text("alice")

    diff = page.locator("#diff")
    expect(diff).to_contain_text("Changes from v1 to v2")
    expect(diff.locator("code.added")).to_have_text("audit")
    expect(diff).to_contain_text("shape: config.value")
    node_box = '.react-flow__node[data-id="{}"] .tb-node'.format
    expect(diff.locator(node_box("audit"))).to_have_class(re.compile(r"\btb-diff-added\b"))
    expect(diff.locator(node_box("shape"))).to_have_class(re.compile(r"\btb-diff-changed\b"))

    # Any two versions; here the other way round shows the same change.
    page.locator("#diff-from").select_option("2")
    page.locator("#diff-to").select_option("1")
    expect(diff.locator(".diff")).to_have_attribute("data-to", "2")

    page.once("dialog", lambda dialog: dialog.accept())
    rows.nth(1).get_by_role("button", name="Roll back v1").click()
    expect(page.locator("#version-rows tbody tr").nth(1)).to_contain_text("live")
    expect(page.locator(".page-head .badge.live")).to_have_text("Live: v1")
    orders.refresh_from_db()
    assert orders.live_version.number == 1
    assert FlowEvent.objects.filter(flow=orders, action=FlowEvent.Action.ROLLED_BACK).exists()
