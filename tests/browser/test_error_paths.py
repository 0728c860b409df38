"""Error paths in the browser: a step's error output is connected on the canvas like a
branch's outputs (its edge drawn apart), saved, and a test run shows the step that failed
into it as "Failed — handled"; so does the run page, live and after a reload."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.fakes import FakeApi
from tests.runtime.helpers import start
from tests.stack import Stack

pytestmark = pytest.mark.django_db(transaction=True)


def at(data: dict[str, Any], x: int, y: int) -> dict[str, Any]:
    return data | {"position": {"x": x, "y": y}}


def fallback() -> dict[str, Any]:
    return node(
        "fallback", "data.transform", "Note the failure", value="{{ event.steps.call.error.type }}"
    )


def test_an_error_output_is_connected_on_the_canvas_saved_and_taken_in_a_test_run(
    page: Page, context: BrowserContext, server: Server, team: Team, fake_api: FakeApi
) -> None:
    call = node("call", "http.request", "Call the ERP", url=f"{fake_api.url}/status/500")
    orders = flow(
        team.editor,
        team.workspace,
        "Orders",
        graph(
            at(node("start", "trigger.manual", "Start"), 0, 0),
            at(call, 300, 0),
            at(fallback(), 600, 220),
            edges=[edge("start", "call")],
        ),
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(orders.pk)
    expect(designer.node("start").locator('[data-handleid="error"]')).to_have_count(0)

    designer.connect("call", "fallback", handle="error")
    drawn = page.locator('.react-flow__edge[data-id="call->fallback:error"]')
    expect(drawn).to_have_class(re.compile(r"\btb-edge-error\b"))
    designer.save("Note failures")
    designer.expect_saved(2)
    saved = FlowVersion.objects.get(flow=orders, number=2)
    assert {"source": "call", "target": "fallback", "sourceHandle": "error"} in saved.graph["edges"]

    designer.set_payload({})
    designer.run_test()
    designer.expect_status("fallback", "succeeded")
    designer.expect_status("call", "failed")
    expect(designer.node("call").locator(".tb-node")).to_have_attribute("data-handled", "true")
    expect(designer.node("call").locator(".tb-status")).to_have_text("Failed — handled")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")


def test_the_run_page_shows_a_handled_failure_live_and_after_a_reload(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: Stack,
    fake_api: FakeApi,
) -> None:
    call = node("call", "http.request", "Call the ERP", url=f"{fake_api.url}/status/500")
    run = start(
        team,
        graph(
            node("start", "trigger.manual", "Start"),
            # Long enough for the page to be open before the call fails.
            node("wait", "flow.delay", "Wait a moment", seconds=2),
            call,
            fallback(),
            edges=[edge("start", "wait"), edge("wait", "call"), edge("call", "fallback", "error")],
        ),
    )
    log_in(context, server, team.editor)
    page.goto(f"/runs/{run.pk}/")
    canvas_node = page.locator('[data-node-id="call"]')
    expect(canvas_node).not_to_have_attribute("data-status", "failed")
    for reload in (False, True):
        if reload:
            page.reload()
        expect(canvas_node).to_have_attribute("data-handled", "true", timeout=20_000)
        expect(canvas_node.locator(".tb-status")).to_have_text("Failed — handled")
        badge = page.locator('[data-step="call"] [data-step-status]')
        expect(badge).to_have_text("Failed — handled")
        expect(badge).to_have_attribute("data-step-status", "failed")
        expect(page.locator("[data-run-status]")).to_have_text("Succeeded")
        expect(page.locator('[data-node-id="fallback"]')).to_have_attribute(
            "data-status", "succeeded"
        )
    # A normal edge leaves its node's output on the right, not the error output below.
    path = page.locator('.react-flow__edge[data-id="wait->call"] .react-flow__edge-path')
    line, wait = path.bounding_box(), page.locator('[data-node-id="wait"]').bounding_box()
    assert line and wait
    assert line["y"] + line["height"] < wait["y"] + wait["height"] - 10
