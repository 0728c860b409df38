"""The seed scenario, by mouse and keyboard only: a new user logs in, builds "New order →
email customer" (webhook → Python code building the email → email.send), tests it with a
sample order, publishes it, copies the webhook URL — and an order POSTed to that URL
emails the customer.

It needs the code runner and the webhook endpoints (/hooks/..., /api/flows/{id}/triggers/),
which other issues deliver; until they land this test fails, and says where.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from runtime.models import Run
from tests.browser.conftest import Server, set_server_password, wait_until
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.fakes import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = "ada@example.com"
ORDER: dict[str, Any] = {
    "id": "1001",
    "email": CUSTOMER,
    "name": "Ada",
    "items": [{"name": "Blue mug", "quantity": 2, "price": 12.5}],
}
BUILD_EMAIL = """def handler(event, context):
    order = event["trigger"]["body"]
    total = sum(item["quantity"] * item["price"] for item in order["items"])
    return {
        "to": order["email"],
        "subject": f"Thank you for your order #{order['id']}",
        "text": f"Hi {order['name']}, we received your order ({total:.2f} EUR).",
    }
"""


def test_a_new_user_builds_tests_publishes_and_triggers_the_order_email_flow(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    smtp_sink: SmtpSink,
    live_stack: object,
) -> None:
    set_server_password(team.editor, "a long test password")
    page.goto("/login/")
    page.get_by_label("Username").fill("eddie")
    page.get_by_label("Password").fill("a long test password")
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("Name").fill("New order → email customer")
    page.get_by_label("Name").press("Enter")
    designer = Designer(page)
    designer.wait_ready()
    flow = Flow.objects.get(name="New order → email customer")

    # Swap the starter manual trigger for a webhook, then add the code and email steps.
    designer.select("start")
    page.keyboard.press("Delete")
    hook = designer.drag_from_palette("trigger.webhook", 120, 300)
    code = designer.drag_from_palette("code.python", 400, 300)
    email = designer.drag_from_palette("email.send", 680, 300)
    designer.connect(hook, code)
    designer.connect(code, email)
    designer.select(hook)
    designer.type_into("name", "New order")
    designer.select(code)
    designer.type_into("name", "Build the email")
    designer.type_code("source", BUILD_EMAIL)
    designer.select(email)
    designer.type_into("to", f"{{{{ event.steps.{code}.to }}}}")
    designer.type_into("subject", f"{{{{ event.steps.{code}.subject }}}}")
    designer.type_into("text", f"{{{{ event.steps.{code}.text }}}}")

    # Test with a sample order: the unsaved graph is saved first.
    designer.set_payload({"method": "POST", "headers": {}, "query": {}, "body": ORDER})
    page.get_by_role("button", name="Test", exact=True).click()
    page.get_by_test_id("unsaved-dialog").get_by_role("button", name="Save and test").click()
    expect(page.get_by_test_id("run-status")).to_have_text(
        re.compile("succeeded|failed|cancelled"), timeout=60_000
    )
    run = Run.objects.filter(flow=flow).latest("id")
    steps = {step.node_id: (step.status, step.error) for step in run.steps.all()}
    assert run.status == "succeeded", f"The test run {run.status}: {steps}"
    for node_id in (code, email):
        designer.expect_status(node_id, "succeeded")
    wait_until(lambda: _emails_to(smtp_sink, CUSTOMER) == 1, message="the test email")

    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_test_id("publish-dialog").get_by_role("button", name="Publish v2").click()
    expect(page.get_by_test_id("live-badge")).to_have_text("Live: v2")

    designer.select(hook)
    url_field = page.get_by_label("Webhook URL", exact=True)
    expect(url_field).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/hooks/"))
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied")).to_be_visible()
    url = page.evaluate("navigator.clipboard.readText()")
    assert url == url_field.input_value()

    answer = httpx.post(url, json=ORDER, timeout=10)
    assert answer.status_code in (200, 202), answer.text
    wait_until(lambda: _emails_to(smtp_sink, CUSTOMER) == 2, 30, "the order email")
    message = [m for m in smtp_sink.messages if CUSTOMER in m["to"]][-1]
    assert "Thank you for your order #1001" in message["data"]


def _emails_to(sink: SmtpSink, address: str) -> int:
    return sum(1 for message in sink.messages if address in message["to"])
