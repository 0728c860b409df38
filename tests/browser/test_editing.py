"""Building a flow on the canvas by mouse and keyboard, and saving it as a version."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)


def starter(team: Team, name: str = "Orders") -> int:
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    return flow(team.editor, team.workspace, name, graph(start)).pk


def test_a_flow_is_built_by_dragging_connecting_and_typing_then_saved(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = starter(team)
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)

    branch = designer.drag_from_palette("logic.branch", 420, 200)
    big = designer.drag_from_palette("data.transform", 700, 120)
    small = designer.drag_from_palette("data.transform", 700, 420)
    assert (branch, big, small) == ("logic_branch", "data_transform", "data_transform_2")
    designer.connect("start", branch)
    designer.connect(branch, big, handle="true")
    designer.connect(branch, small, handle="false")

    # The condition field completes paths from the test payload and upstream steps.
    designer.set_payload({"total": 150, "email": "ada@example.com"})
    designer.select(branch)
    designer.type_into("condition", "event.trigger.tot")
    suggestions = page.get_by_role("listbox", name="Fields you can use")
    expect(suggestions.get_by_role("option")).to_have_text(["event.trigger.total"])
    condition = designer.field("condition").locator("input")
    condition.press("Enter")
    expect(condition).to_have_value("event.trigger.total")
    condition.press_sequentially(" > 100")
    designer.select(big)
    designer.type_into("name", "Big order")
    designer.type_code("value", '{"size": "big", "total": "{{ event.trigger.total }}"}')
    designer.select(small)
    designer.type_code("value", '"small"')
    expect(page.get_by_test_id("editing")).to_contain_text("unsaved changes")

    designer.save_by_keyboard("Route orders by size")
    designer.expect_saved(2)
    saved = FlowVersion.objects.get(flow_id=flow_id, number=2)
    assert saved.message == "Route orders by size"
    nodes = {n["id"]: n for n in saved.graph["nodes"]}
    assert nodes[branch]["config"] == {"condition": "event.trigger.total > 100"}
    assert nodes[big]["name"] == "Big order"
    assert nodes[big]["config"]["value"] == {"size": "big", "total": "{{ event.trigger.total }}"}
    assert nodes[small]["config"]["value"] == "small"
    assert sorted(
        (e["source"], e["target"], e.get("sourceHandle")) for e in saved.graph["edges"]
    ) == [(branch, big, "true"), (branch, small, "false"), ("start", branch, None)]
    expect(page.get_by_test_id("editing")).to_have_text("Editing v2")


def test_the_keyboard_deletes_undoes_redoes_copies_pastes_and_adds_steps(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    shape = node("shape", "data.transform", "Shape", value=1) | {"position": {"x": 300, "y": 0}}
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    flow_id = flow(
        team.editor, team.workspace, "Keys", graph(start, shape, edges=[edge("start", "shape")])
    ).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)

    designer.select("shape")
    page.keyboard.press("Delete")
    expect(designer.node("shape")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(designer.node("shape")).to_have_count(1)
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(designer.node("shape")).to_have_count(0)
    page.keyboard.press("Control+z")

    designer.select("shape")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(designer.node("data_transform")).to_have_count(1)

    # Keyboard only: the selected node gets the new step after it, connected.
    designer.select("shape")
    item = page.get_by_role("button", name="Add HTTP request")
    item.focus()
    page.keyboard.press("Enter")
    expect(designer.node("http_request")).to_have_count(1)
    expect(page.locator('.react-flow__edge[data-id="shape->http_request"]')).to_have_count(1)
    expect(page.locator(".react-flow__minimap-node")).to_have_count(4)

    # Connections can also be made from the panel, by keyboard.
    designer.select("data_transform")
    page.get_by_label("Connect to").select_option("http_request")
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator('.react-flow__edge[data-id="data_transform->http_request"]')).to_have_count(
        1
    )

    before = designer.node("http_request").bounding_box()
    page.get_by_role("button", name="Auto-layout").click()
    page.wait_for_timeout(300)
    assert designer.node("http_request").bounding_box() != before
    page.get_by_role("button", name="Fit view", exact=True).click()

    # A webhook trigger says where its URL will come from before the API has one.
    webhook = designer.drag_from_palette("trigger.webhook", 200, 500)
    designer.select(webhook)
    expect(page.get_by_test_id("webhook-url-missing")).to_be_visible()
    page.get_by_role("button", name="Delete node").click()
    expect(designer.node(webhook)).to_have_count(0)

    designer.select("http_request")
    designer.type_into("url", "https://api.example.com/orders")
    designer.save()
    designer.expect_saved(2)
    saved = FlowVersion.objects.get(flow_id=flow_id, number=2).graph
    assert {n["id"] for n in saved["nodes"]} == {"start", "shape", "data_transform", "http_request"}


def test_a_viewer_sees_the_flow_but_cannot_change_it(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = starter(team)
    log_in(context, server, team.viewer)
    designer = Designer(page).open(flow_id)
    expect(page.locator(".tb-palette")).to_have_count(0)
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    designer.select("start")
    expect(designer.field("name").locator("input")).to_be_disabled()
    expect(page.get_by_role("button", name="Delete node")).to_have_count(0)
