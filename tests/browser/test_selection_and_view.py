"""Working on several nodes at once and moving the view: Shift-drag a box and Ctrl-click to
select, copy and paste the selection (with the edges inside it), delete several nodes by
key and by button, undo; pan by dragging the canvas and zoom with the wheel, neither of
which changes the flow."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, FloatRect, Page, expect

from designer.models import FlowVersion
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.stack import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

NODES = ("start", "shape", "enrich", "audit")
TRANSFORM = re.compile(r"translate\(([-\d.]+)px, ([-\d.]+)px\) scale\(([-\d.]+)\)")


def at(data: dict, x: int, y: int) -> dict:
    return data | {"position": {"x": x, "y": y}}


def three_steps(team: Team) -> int:
    return flow(
        team.editor,
        team.workspace,
        "Shapes",
        graph(
            at(node("start", "trigger.manual", "Start"), 0, 0),
            at(node("shape", "data.transform", "Shape", value={"size": 1}), 320, 0),
            at(node("enrich", "data.transform", "Enrich", value={"size": 2}), 640, 0),
            at(node("audit", "data.transform", "Audit", value="audit"), 320, 260),
            edges=[edge("start", "shape"), edge("shape", "enrich")],
        ),
    ).pk


def box_select(page: Page, designer: Designer, *node_ids: str) -> None:
    """Hold Shift and drag a box around the nodes, starting on empty canvas."""
    boxes = [designer.node(node_id).bounding_box() for node_id in node_ids]
    assert all(boxes)
    left = min(b["x"] for b in boxes if b) - 15
    top = min(b["y"] for b in boxes if b) - 15
    right = max(b["x"] + b["width"] for b in boxes if b) + 15
    bottom = max(b["y"] + b["height"] for b in boxes if b) + 15
    page.keyboard.down("Shift")
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move(right, bottom, steps=10)
    page.mouse.up()
    page.keyboard.up("Shift")


def selected(page: Page) -> list[str]:
    return sorted(
        page.locator(".react-flow__node.selected").evaluate_all("ns => ns.map(n => n.dataset.id)")
    )


def inside(box: FloatRect | None, frame: FloatRect) -> bool:
    return bool(box) and (
        frame["x"] <= box["x"]
        and box["x"] + box["width"] <= frame["x"] + frame["width"]
        and frame["y"] <= box["y"]
        and box["y"] + box["height"] <= frame["y"] + frame["height"]
    )


def viewport(page: Page) -> tuple[float, float, float]:
    style = page.locator(".tb-canvas .react-flow__viewport").get_attribute("style") or ""
    match = TRANSFORM.search(style)
    assert match, style
    x, y, zoom = (float(value) for value in match.groups())
    return x, y, zoom


def test_several_nodes_are_selected_copied_pasted_and_deleted_together(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = three_steps(team)
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    panel = page.locator(".tb-side")

    box_select(page, designer, "shape", "enrich")
    expect(panel).to_contain_text("2 nodes selected.")
    assert selected(page) == ["enrich", "shape"]
    designer.node("audit").locator(".tb-name").click(modifiers=["Control"])
    expect(panel).to_contain_text("3 nodes selected.")
    assert selected(page) == ["audit", "enrich", "shape"]

    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    copies = ["data_transform", "data_transform_2", "data_transform_3"]
    for copy in copies:
        expect(designer.node(copy)).to_have_count(1)
    assert selected(page) == copies  # the pasted nodes, not the originals
    edges = page.locator(".react-flow__edge")
    expect(edges).to_have_count(3)  # the one edge inside the selection came along
    expect(
        page.locator('.react-flow__edge[data-id="data_transform->data_transform_2"]')
    ).to_have_count(1)

    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__node")).to_have_count(4)
    expect(edges).to_have_count(2)
    page.keyboard.press("Control+z")
    expect(page.locator(".react-flow__node")).to_have_count(7)
    expect(edges).to_have_count(3)

    box_select(page, designer, "shape", "enrich")
    expect(panel).to_contain_text("2 nodes selected.")
    panel.get_by_role("button", name="Delete 2 nodes").click()
    expect(designer.node("shape")).to_have_count(0)
    expect(designer.node("enrich")).to_have_count(0)
    expect(edges).to_have_count(1)  # start→shape and shape→enrich went with them

    designer.save_by_keyboard("Keep copies of the steps")
    designer.expect_saved(2)
    saved = FlowVersion.objects.get(flow_id=flow_id, number=2).graph
    nodes = {n["id"]: n for n in saved["nodes"]}
    assert sorted(nodes) == sorted(["start", "audit", *copies])
    originals = {
        "data_transform": "shape",
        "data_transform_2": "enrich",
        "data_transform_3": "audit",
    }
    before = {n["id"]: n for n in FlowVersion.objects.get(flow_id=flow_id, number=1).graph["nodes"]}
    for copy, original in originals.items():
        assert nodes[copy]["config"] == before[original]["config"]
        assert nodes[copy]["name"] == before[original]["name"]
        assert nodes[copy]["position"] == {
            "x": before[original]["position"]["x"] + 40,
            "y": before[original]["position"]["y"] + 40,
        }
    assert [(e["source"], e["target"]) for e in saved["edges"]] == [
        ("data_transform", "data_transform_2")
    ]


def test_dragging_the_canvas_pans_and_the_wheel_zooms_without_changing_the_flow(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = three_steps(team)
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    canvas = page.locator(".tb-canvas").bounding_box()
    start = designer.node("audit").bounding_box()
    assert canvas and start
    x0, y0, zoom0 = viewport(page)

    # Empty canvas: below the audit node, left of it.
    grab = (start["x"] - 60, start["y"] + start["height"] + 60)
    assert grab[1] < canvas["y"] + canvas["height"] - 20
    page.mouse.move(*grab)
    page.mouse.down()
    page.mouse.move(grab[0] + 120, grab[1] - 80, steps=8)
    page.mouse.up()
    x1, y1, zoom1 = viewport(page)
    assert (round(x1 - x0), round(y1 - y0), zoom1) == (120, -80, zoom0)
    moved = designer.node("audit").bounding_box()
    assert moved
    assert (round(moved["x"] - start["x"]), round(moved["y"] - start["y"])) == (120, -80)

    page.mouse.move(moved["x"] + moved["width"] / 2, moved["y"] - 40)
    page.mouse.wheel(0, -300)
    expect(page.locator(".tb-canvas .react-flow__viewport")).not_to_have_attribute(
        "style", re.compile(rf"scale\({zoom1}\)")
    )
    _, _, zoom2 = viewport(page)
    assert zoom2 > zoom1
    bigger = designer.node("audit").bounding_box()
    assert bigger and bigger["width"] > moved["width"]

    page.get_by_role("button", name="Fit view", exact=True).click()
    wait_until(
        lambda: all(inside(designer.node(n).bounding_box(), canvas) for n in NODES), "fit", 5
    )
    # The view is not the flow: nothing to save.
    expect(page.get_by_test_id("editing")).to_have_text("Editing v1")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_disabled()
