"""Drawing a for-each on the canvas: a container from the palette, a step dropped into its
body, connections outside it, and a connection across its edge refused where it ends."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from tests.browser.conftest import Server, log_in
from tests.browser.designer import OUTPUT, Designer
from tests.conftest import Team
from tests.factories import flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)


def drag_handle(page: Page, start_selector: str, end_selector: str) -> None:
    start = page.locator(start_selector).bounding_box()
    end = page.locator(end_selector).bounding_box()
    assert start and end
    mouse = page.mouse
    mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    mouse.down()
    mouse.move(end["x"] - 30, end["y"] + end["height"] / 2, steps=6)
    mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=4)
    mouse.up()


def test_a_loop_is_drawn_with_a_step_in_its_body_and_saved_with_its_parent(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    flow_id = flow(team.editor, team.workspace, "Orders", graph(start)).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)

    loop = designer.drag_from_palette("flow.foreach", 350, 120)
    assert loop == "flow_foreach"
    container = designer.node(loop).bounding_box()
    canvas = page.locator(".tb-canvas").bounding_box()
    assert container and canvas
    inner = designer.drag_from_palette(
        "data.transform",
        container["x"] - canvas["x"] + container["width"] / 2,
        container["y"] - canvas["y"] + container["height"] - 50,
    )
    mail = designer.drag_from_palette("email.send", 630, 170)

    designer.connect("start", loop)
    designer.connect(loop, mail)
    refusal = page.get_by_test_id("connect-refusal")
    drag_handle(
        page,
        f'.react-flow__node[data-id="{inner}"] {OUTPUT}',
        f'.react-flow__node[data-id="{mail}"] .react-flow__handle.target',
    )
    expect(refusal).to_contain_text("crosses the edge of a For each")
    expect(page.locator(".react-flow__edge")).to_have_count(2)

    designer.select(loop)
    designer.type_into("items", "{{ event.trigger.items }}")
    designer.select(inner)
    designer.type_code("value", '"{{ item }} at {{ index }}"')
    designer.select(mail)
    designer.type_into("to", "ops@example.com")
    designer.type_into("subject", "Done")
    designer.type_into("text", "{{ event.steps.flow_foreach | length }} items")
    designer.save("A loop")
    designer.expect_saved(2)

    saved = FlowVersion.objects.get(flow_id=flow_id, number=2).graph
    nodes = {raw["id"]: raw for raw in saved["nodes"]}
    assert nodes[inner]["parent"] == loop
    assert "parent" not in nodes[loop] and "parent" not in nodes[mail]
    assert nodes[loop]["config"]["items"] == "{{ event.trigger.items }}"
    assert sorted((e["source"], e["target"]) for e in saved["edges"]) == [
        (loop, mail),
        ("start", loop),
    ]
    # Positions inside a body are relative to the container: the step sits within it.
    assert 0 <= nodes[inner]["position"]["x"] < container["width"]
    assert 0 < nodes[inner]["position"]["y"] < container["height"]

    # Deleting the container deletes its body with it.
    designer.select(loop)
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(designer.node(loop)).to_have_count(0)
    expect(designer.node(inner)).to_have_count(0)
    expect(designer.node(mail)).to_have_count(1)
