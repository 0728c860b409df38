"""A new flow starts blank and asks how it starts; a code step added after a trigger starts
with code that reads that trigger's data (event.trigger.body after a webhook), and code the
user wrote is never replaced. The shortest path from a new flow to a tested webhook flow."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow, FlowVersion
from runtime.models import Run
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.stack import Stack, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

MINE = "export async function handler(event, context) {\n  return { mine: true };\n}\n"


def code_of(page: Page) -> str:
    return str(
        page.locator('.tb-node-panel [data-field="source"] .cm-content').evaluate(
            "c => [...c.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n')"
        )
    )


def test_a_new_flow_is_blank_and_a_webhook_then_a_code_step_is_two_clicks(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    log_in(context, server, team.editor)
    page.goto("/")
    page.get_by_label("Name").fill("Refunds")
    page.get_by_label("Name").press("Enter")
    designer = Designer(page)
    designer.wait_ready()
    flow = Flow.objects.get(name="Refunds")
    assert not FlowVersion.objects.filter(flow=flow).exists()
    assert designer.node_ids() == []
    empty = page.get_by_test_id("empty-canvas")
    expect(empty.get_by_role("heading")).to_have_text("Choose how this flow starts")

    empty.get_by_role("button", name="Webhook").click()
    expect(empty).to_have_count(0)
    expect(page.locator('.tb-node-panel[data-node="webhook"]')).to_be_visible()
    page.get_by_role("button", name="Add JavaScript function").click()
    expect(page.locator('.react-flow__edge[data-id="webhook->code_javascript"]')).to_have_count(1)
    expect(page.locator('.tb-node-panel [data-field="source"]')).to_contain_text(
        "const body = event.trigger.body;"
    )

    # Test asks first: the request, then one press saves and runs it.
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.get_by_test_id("run-test")).to_have_text("Save and run test")
    page.keyboard.insert_text(json.dumps({"id": 7}))
    page.get_by_test_id("run-test").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=60_000)
    designer.expect_saved(1)
    run = wait_for_run(Run.objects.get(flow=flow))
    assert (run.is_test, run.trigger_kind) == (True, "webhook")
    assert run.output == {"ok": True, "body": {"id": 7}}


def test_connecting_a_code_step_to_a_trigger_gives_it_that_triggers_starter_once(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    log_in(context, server, team.editor)
    page.goto("/")
    page.get_by_label("Name").fill("Nightly")
    page.get_by_label("Name").press("Enter")
    designer = Designer(page)
    designer.wait_ready()
    page.get_by_test_id("empty-canvas").get_by_role("button", name="Schedule").click()
    schedule = "cron"  # in the middle of the canvas
    python = designer.drag_from_palette("code.python", 260, 110)
    written = designer.drag_from_palette("code.javascript", 260, 600)
    designer.select(python)
    assert 'event["trigger"] is what the trigger delivered' in code_of(page)  # not connected yet
    designer.select(written)
    designer.type_code("source", MINE)

    designer.connect(schedule, python)
    designer.connect(schedule, written)
    designer.select(python)
    assert 'scheduled_for = event["trigger"]["scheduled_for"]' in code_of(page)
    designer.select(written)
    assert code_of(page) == MINE  # the user's code stays as written
