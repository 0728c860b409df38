"""Every page at 1280x800, with long names and long values: nothing sticks out to the right
(what is too wide scrolls or wraps inside its own box) and the designer's toolbar stays on
one line. The toolbar is one Tab stop whose arrow keys go through its actions in the order
they are shown, and focus comes back to the button that opened a dialog."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.services import flow_version_save
from runtime.models import Run
from runtime.runs import run_start
from tests import factories
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish
from tests.stack import Stack, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

LONG_NAME = "New order → email the customer, then tell the warehouse and the accounting team"
# Elements wider than the window are fine inside a box that scrolls or clips them.
STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth;
  const contained = (element) => {
    for (let box = element.parentElement; box; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") {
        return box.getBoundingClientRect().right <= width + 1;
      }
    }
    return false;
  };
  const out = [...document.body.querySelectorAll("*")].filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && !contained(element);
  });
  return {
    scroll: document.documentElement.scrollWidth - width,
    out: out.slice(0, 5).map((e) => `${e.tagName}.${e.className}`),
  };
}"""
FOCUSED = """() => {
  const element = document.activeElement;
  return element.getAttribute("aria-label") || element.textContent.trim();
}"""


def long_run(team: Team) -> Run:
    words = {"note": "x" * 400, "order": {"id": "ORD-" + "9" * 120, "email": "ada@example.com"}}
    shape = node("shape", "data.transform", "Shape the order for the warehouse", value=words)
    flow = publish(
        team,
        graph(node("start", "trigger.manual", LONG_NAME), shape, edges=[edge("start", "shape")]),
        name=LONG_NAME,
    )
    assert flow.live_version is not None
    flow_version_save(
        flow=flow, user=team.editor, graph=flow.live_version.graph, message="Again " * 60
    )
    run = run_start(
        flow=flow, version=flow.live_version, payload=words, started_by=team.editor, origin="test"
    )
    return wait_for_run(run)


def expect_nothing_sticks_out(page: Page, name: str) -> None:
    found: dict[str, Any] = page.evaluate(STICKING_OUT)
    assert found == {"scroll": 0, "out": []}, f"{name}: {found}"


def test_every_page_fits_1280_by_800(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    page.goto("/login/")
    expect_nothing_sticks_out(page, "login")
    run = long_run(team)
    flow = run.flow
    log_in(context, server, factories.user("root", superuser=True))
    pages = {
        "flows": "/",
        "versions": f"/flows/{flow.pk}/versions/",
        "runs": f"/runs/?flow={flow.pk}",
        "run": f"/runs/{run.pk}/",
        "edit input": f"/runs/{run.pk}/edit-input/",
        "admin runs": "/admin/runtime/run/",
    }
    for name, url in pages.items():
        page.goto(url)
        if name == "run":
            page.locator('[data-step="shape"] summary').click()
            expect(page.locator('[data-step="shape"] [data-step-output]')).to_contain_text("xxx")
        if name == "versions":
            expect(page.locator(".react-flow__node").first).to_be_visible()
        expect_nothing_sticks_out(page, name)

    designer = Designer(page).open(flow.pk)
    designer.select("shape")
    expect_nothing_sticks_out(page, "designer")
    items = page.locator(".tb-toolbar").locator("a, button, h1, .badge")
    tops = {
        round(box["y"])
        for box in (items.nth(i).bounding_box() for i in range(items.count()))
        if box
    }
    assert max(tops) - min(tops) < 12, f"the toolbar wraps: {sorted(tops)}"


def test_the_toolbar_is_one_tab_stop_walked_by_arrows_and_dialogs_give_focus_back(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    flow = factories.flow(team.editor, team.workspace, "Keys", graph(start))
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow.pk)
    order = [
        "Undo",
        "Redo",
        "Delete",
        "Auto-layout",
        "Fit view",
        "Versions",
        "Test",
        "Save",
        "Publish",
    ]

    page.locator(".tb-back").focus()
    page.keyboard.press("Tab")
    walked = [page.evaluate(FOCUSED)]
    xs = [page.evaluate("document.activeElement.getBoundingClientRect().x")]
    for _ in order[1:]:
        page.keyboard.press("ArrowRight")
        walked.append(page.evaluate(FOCUSED))
        xs.append(page.evaluate("document.activeElement.getBoundingClientRect().x"))
    assert walked == order
    assert xs == sorted(xs)  # the order they are shown in, left to right
    page.keyboard.press("ArrowRight")
    assert page.evaluate(FOCUSED) == "Undo"  # it wraps around
    page.keyboard.press("End")
    assert page.evaluate(FOCUSED) == "Publish"
    page.keyboard.press("Tab")
    expect(page.locator("#tb-palette-filter")).to_be_focused()  # one Tab leaves the toolbar
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "Publish"  # and comes back where it was

    # Unsaved work: Save by keyboard, and focus stays on Save (now unavailable, still there).
    designer.select("start")
    designer.type_into("name", "Start here")
    save = page.locator(".tb-actions").get_by_role("button", name="Save", exact=True)
    save.focus()
    page.keyboard.press("Enter")
    page.keyboard.type("Rename the start")
    page.keyboard.press("Enter")
    designer.expect_saved(2)
    expect(save).to_be_focused()
    expect(save).to_have_attribute("aria-disabled", "true")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("save-dialog")).to_have_count(0)  # nothing to save

    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("publish-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("publish-dialog")).to_have_count(0)
    expect(page.locator(".tb-actions").get_by_role("button", name="Publish")).to_be_focused()
