"""A newcomer's first flow, measured: from the login page to a live webhook run that sent its
email, in at most 25 browser actions and no reload. Then the three mistakes a newcomer makes
on the way (a To that renders empty, a syntax error, a loop), and what they are told.

Every Playwright call a user would make counts as one action: a navigation, a click, a key
press, filling a field (click and type), typing into a focused editor. Waiting, reading the
page and the ``curl`` call from a terminal do not.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from designer.models import Flow
from runtime.models import Run
from tests.browser.conftest import Server, log_in, set_server_password
from tests.browser.designer import OUTPUT, Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.fakes import SmtpSink
from tests.stack import Stack, wait_for_run, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MAX_ACTIONS = 25
PASSWORD = "first-flow-password"
BUILD_EMAIL = """export async function handler(event, context) {
  const order = event.trigger.body;
  const lines = order.items.map((item) => `${item.quantity} x ${item.name}`);
  return {
    to: order.email,
    subject: `Order ${order.id} confirmed`,
    text: `Thanks ${order.name}! You ordered ${lines.join(", ")}.`,
  };
}
"""


class Counted:
    """The page as the user drives it: each action is counted and named, in order."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.actions: list[str] = []
        page.on("framenavigated", self._navigated)
        self.loads = 0

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame:
            self.loads += 1

    def goto(self, path: str) -> None:
        self.actions.append(f"open {path}")
        self.page.goto(path)

    def click(self, target: Locator, what: str) -> None:
        self.actions.append(f"click {what}")
        target.click()

    def fill(self, target: Locator, text: str, what: str) -> None:
        self.actions.append(f"fill {what}")
        target.fill(text)

    def press(self, key: str) -> None:
        self.actions.append(f"press {key}")
        self.page.keyboard.press(key)

    def type(self, text: str, what: str) -> None:
        self.actions.append(f"type {what}")
        self.page.keyboard.insert_text(text)


def order(email: str) -> dict[str, Any]:
    return {
        "id": 1001,
        "email": email,
        "name": "Ada",
        "items": [{"name": "Tea", "quantity": 2}, {"name": "Cups", "quantity": 1}],
    }


def mail_to(sink: SmtpSink, address: str) -> list[dict[str, Any]]:
    return [message for message in sink.messages if address in message["to"]]


def test_a_newcomers_order_email_flow_takes_at_most_25_actions_without_a_reload(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: Stack,
    smtp_sink: SmtpSink,
    record_property: Any,
) -> None:
    set_server_password(team.editor, PASSWORD)
    # The SMTP sink lives for the session: addresses of this test's own.
    tester, customer = (f"{who}.{uuid.uuid4().hex[:8]}@example.com" for who in ("tess", "ada"))
    user = Counted(page)
    designer = Designer(page)

    # Log in and make a flow: it opens blank, asking how it starts.
    user.goto("/")
    user.fill(page.get_by_label("Username"), team.editor.username, "username")
    user.fill(page.get_by_label("Password"), PASSWORD, "password")
    user.press("Enter")
    user.fill(page.get_by_label("Name"), "Order emails", "the new flow's name")
    user.press("Enter")
    designer.wait_ready()
    empty = page.get_by_test_id("empty-canvas")
    expect(empty.get_by_role("heading")).to_have_text("Choose how this flow starts")
    loads_in_designer = user.loads

    # Webhook, then a JavaScript step after it, then an email after that.
    user.click(empty.get_by_role("button", name="Webhook"), "Webhook")
    user.click(page.get_by_role("button", name="Add JavaScript function"), "Add JavaScript")
    expect(designer.field("source")).to_contain_text("const body = event.trigger.body;")
    user.fill(designer.field("source").locator(".cm-content"), BUILD_EMAIL, "the code")
    user.click(page.get_by_role("button", name="Add Send email"), "Add Send email")
    expect(page.locator('.react-flow__edge[data-id="code_javascript->email_send"]')).to_have_count(
        1
    )
    steps = "event.steps.code_javascript"
    user.fill(designer.field("to").locator("input"), f"{{{{ {steps}.to }}}}", "To")
    user.fill(designer.field("subject").locator("input"), f"{{{{ {steps}.subject }}}}", "Subject")
    user.fill(designer.field("text").locator("textarea"), f"{{{{ {steps}.text }}}}", "Text")

    # Test with a request shaped as a webhook delivers it: it really sends the email.
    user.click(page.get_by_role("button", name="Test", exact=True), "Test")
    expect(page.get_by_test_id("run-test")).to_have_text("Save and run test")
    user.type(json.dumps(order(tester)), "the request body")
    user.click(page.get_by_test_id("run-test"), "Save and run test")
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=60_000)
    designer.expect_saved(1)
    wait_until(lambda: mail_to(smtp_sink, tester), "the test's email")

    # Publish, copy the webhook URL, watch the Runs tab, call the URL from a terminal.
    user.click(page.get_by_role("button", name="Publish", exact=True), "Publish")
    user.click(page.get_by_test_id("publish-dialog").get_by_role("button", name="Publish v1"), "v1")
    expect(page.get_by_test_id("live-badge")).to_contain_text("v1")
    user.click(designer.node("webhook").locator(".tb-name"), "the webhook node")
    user.click(page.get_by_role("button", name="Copy", exact=True), "Copy")
    url = page.get_by_label("Webhook URL").input_value()
    expect(page.get_by_test_id("webhook-url-mismatch")).to_have_count(0)
    user.click(page.get_by_role("tab", name="Runs"), "Runs")
    body = json.dumps(order(customer))
    curl = ["curl", "-sS", "-f", "-H", "Content-Type: application/json", "-d", body, url]
    answer = json.loads(subprocess.run(curl, capture_output=True, check=True, text=True).stdout)

    # The run appears live where the user looks, succeeds, and the email went out.
    run = Run.objects.get(pk=answer["run_id"])
    row = page.locator(f'.tb-runs tr[data-run-id="{run.pk}"]')
    expect(row).to_contain_text("webhook")
    notice = page.locator(f'.tb-run-notice[data-run-id="{run.pk}"]')
    succeeded = re.compile(rf"^Run #{run.pk} \(webhook\) succeeded")
    expect(notice).to_have_text(succeeded, timeout=60_000)
    expect(row.locator(".tb-pill")).to_have_text("succeeded")
    assert wait_for_run(run).status == "succeeded"
    (sent,) = wait_until(lambda: mail_to(smtp_sink, customer), "the email")
    assert "Subject: Order 1001 confirmed" in sent["data"]
    assert "Thanks Ada! You ordered 2 x Tea, 1 x Cups." in sent["data"]
    assert Flow.objects.get(name="Order emails").live_version.number == 1

    assert user.loads == loads_in_designer, "the designer reloaded"
    record_property("actions", f"{len(user.actions)} browser actions: " + "; ".join(user.actions))
    assert len(user.actions) <= MAX_ACTIONS, user.actions


def test_the_three_mistakes_are_explained_where_they_happen(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    """Reading the order from event.trigger (not its body) leaves To empty; a syntax error;
    a connection back from the email to the code step."""
    wrong = BUILD_EMAIL.replace("event.trigger.body", "event.trigger")
    emails = graph(
        node("webhook", "trigger.webhook", "Order") | {"position": {"x": 0, "y": 0}},
        node("build", "code.javascript", "Build", source=wrong) | {"position": {"x": 280, "y": 0}},
        node(
            "send",
            "email.send",
            "Send",
            to="{{ event.steps.build.to }}",
            subject="{{ event.steps.build.subject }}",
            text="{{ event.steps.build.text }}",
        )
        | {"position": {"x": 560, "y": 0}},
        edges=[edge("webhook", "build"), edge("build", "send")],
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow(team.editor, team.workspace, "Mistakes", emails).pk)

    # 1. The request's order is under body: the code step has no items, and says where.
    designer.set_request(order("mistakes@example.com"))
    designer.run_test()
    designer.expect_status("build", "failed", timeout=60_000)
    told = designer.node("build").locator(".tb-node-error")
    expect(told).to_contain_text("Cannot read properties of undefined (reading 'map')")
    # Without the items, the email step is what fails: the code returned no address, so
    # To names the field that is missing and the fields there are.
    designer.select("build")
    designer.type_code("source", wrong.replace("order.items.map", "(order.items || []).map"))
    designer.tab("Test run")
    designer.run_test()
    designer.expect_status("send", "failed", timeout=60_000)
    no_to = "no field 'to' here: this object has subject, text"
    expect(designer.node("send").locator(".tb-node-error")).to_contain_text(no_to)
    designer.select("send")
    expect(page.get_by_test_id("step-failure")).to_contain_text(no_to)
    # The preview under To says the same before anything runs again.
    expect(designer.field("to").get_by_test_id("template-preview")).to_contain_text(no_to)

    # 2. A syntax error is shown as it is typed, with its line and column.
    designer.select("build")
    designer.type_code("source", BUILD_EMAIL.replace("const order =", "const order = ;"))
    problems = designer.field("source").get_by_test_id("code-problems")
    expect(problems.locator(".tb-field-error")).to_have_attribute("data-line", "2")
    expect(problems).to_contain_text("SyntaxError on line 2")
    expect(designer.field("source").locator(".cm-lint-marker-error")).to_have_count(1)

    # 3. A connection back from the email to the code step would make a loop: refused, why.
    start = designer.node("send").locator(OUTPUT).bounding_box()
    end = designer.node("build").locator(".react-flow__handle.target").bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()
    expect(page.get_by_test_id("connect-refusal")).to_have_text(
        "That would make a loop: build already leads to send."
    )
