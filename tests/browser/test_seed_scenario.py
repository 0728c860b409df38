"""The seed scenario, by mouse and keyboard only: a new user logs in, builds "New order →
email customer" (webhook → Python code building the email → email.send) by dragging from
the palette, connecting handle to handle and typing, saves it with a message, tests it with
a sample order, publishes it, copies the webhook URL — and an order sent to that URL with
curl emails the customer. The stored graph and both emails (recipient, subject, body) are
checked, not only the statuses on the page.
"""

from __future__ import annotations

import json
import re
import subprocess
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow, FlowVersion
from runtime.models import Run
from tests.browser.conftest import Server, set_server_password
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.fakes import SmtpSink
from tests.stack import wait_until

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
# What BUILD_EMAIL makes of ORDER: 2 mugs at 12.50.
SUBJECT = "Thank you for your order #1001"
BODY = "Hi Ada, we received your order (25.00 EUR)."
CURL = "/usr/bin/curl"


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

    # A new flow is blank: drag a webhook onto it, then add the code and email steps.
    expect(page.get_by_test_id("empty-canvas")).to_be_visible()
    hook = designer.drag_from_palette("trigger.webhook", 120, 300)
    expect(page.get_by_test_id("empty-canvas")).to_have_count(0)
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

    # Save through the dialog, typing what changed.
    page.get_by_role("button", name="Save", exact=True).click()
    dialog = page.get_by_test_id("save-dialog")
    dialog.get_by_label("What changed?").press_sequentially("Email customers their order")
    dialog.get_by_role("button", name="Save", exact=True).click()
    designer.expect_saved(1)
    saved = FlowVersion.objects.get(flow=flow, number=1)
    assert saved.message == "Email customers their order"
    assert saved.author == team.editor
    nodes = {n["id"]: n for n in saved.graph["nodes"]}
    assert {i: (n["type"], n["name"]) for i, n in nodes.items()} == {
        hook: ("trigger.webhook", "New order"),
        code: ("code.python", "Build the email"),
        email: ("email.send", "Send email"),
    }
    assert sorted((e["source"], e["target"]) for e in saved.graph["edges"]) == sorted(
        [(hook, code), (code, email)]
    )
    assert nodes[code]["config"]["source"] == BUILD_EMAIL
    assert {key: nodes[email]["config"].get(key) for key in ("to", "subject", "text")} == {
        "to": f"{{{{ event.steps.{code}.to }}}}",
        "subject": f"{{{{ event.steps.{code}.subject }}}}",
        "text": f"{{{{ event.steps.{code}.text }}}}",
    }

    # Test the saved version with an order posted as the request's body.
    page.get_by_role("button", name="Test", exact=True).click()
    designer.set_request(ORDER)
    designer.run_test()
    expect(page.get_by_test_id("run-status")).to_have_text(
        re.compile("succeeded|failed|cancelled"), timeout=60_000
    )
    run = Run.objects.filter(flow=flow).latest("id")
    steps = {step.node_id: (step.status, step.error) for step in run.steps.all()}
    assert run.status == "succeeded", f"The test run {run.status}: {steps}"
    assert (run.is_test, run.version.number, run.trigger_kind) == (True, 1, "webhook")
    for node_id in (code, email):
        designer.expect_status(node_id, "succeeded")
    wait_until(lambda: len(_emails_to(smtp_sink, CUSTOMER)) == 1, "the test email")
    _expect_order_email(_emails_to(smtp_sink, CUSTOMER)[0])

    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_test_id("publish-dialog").get_by_role("button", name="Publish v1").click()
    expect(page.get_by_test_id("live-badge")).to_have_text("Live: v1")

    designer.select(hook)
    url_field = page.get_by_label("Webhook URL", exact=True)
    expect(url_field).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/hooks/"))
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied")).to_be_visible()
    url = page.evaluate("navigator.clipboard.readText()")
    assert url == url_field.input_value()

    # The webhook as a shop would call it: curl, the order as JSON.
    answer = subprocess.run(
        [
            CURL,
            "-sS",
            "--fail-with-body",
            "-H",
            "Content-Type: application/json",
            "--data",
            json.dumps(ORDER),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr + answer.stdout
    started = Run.objects.get(pk=json.loads(answer.stdout)["run_id"])
    assert (started.is_test, started.version.number, started.trigger_kind) == (False, 1, "webhook")
    # The test run and the live call gave the flow the same request (the path is the URL's).
    live_input, test_input = started.input, run.input
    assert test_input["body"] == live_input["body"] == ORDER
    assert (test_input["method"], test_input["path"]) == (live_input["method"], live_input["path"])
    wait_until(lambda: len(_emails_to(smtp_sink, CUSTOMER)) == 2, "the order email")
    _expect_order_email(_emails_to(smtp_sink, CUSTOMER)[1])


def _emails_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    # policy.default parses into EmailMessage (decoded headers, get_body).
    return [
        message_from_string(message["data"], policy=policy.default)
        for message in sink.messages
        if address in message["to"]
    ]


def _expect_order_email(message: EmailMessage) -> None:
    assert message["To"] == CUSTOMER
    assert message["Subject"] == SUBJECT
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == BODY
