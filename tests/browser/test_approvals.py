"""Approvals in the browser, on the real server, worker and scheduler: an order over the
limit is approved by a member on /approvals/ (the row is replaced by the outcome; a second
decision in a stale tab says it was taken), and rejected by someone without an account
through the emailed link (captured by the local SMTP server): GET shows a confirmation
and decides nothing, POST decides, once. Forged and expired links are refused."""

from __future__ import annotations

import email
import re
import time
from email import policy

import httpx
import pytest
from django.core import signing
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowEvent
from runtime import approvals
from runtime.engine.status import RunStatus, StepStatus
from tests.browser.conftest import Server, log_in
from tests.conftest import Team
from tests.fakes import SmtpSink
from tests.runtime.helpers import outputs
from tests.runtime.steps.test_flow_approval import waiting
from tests.stack import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_approves_an_order_on_the_approvals_page(
    team: Team, server: Server, context: BrowserContext, page: Page
) -> None:
    run, approval = waiting(team)
    log_in(context, server, team.admin)
    page.goto("/approvals/")
    row = page.locator(f"#approval-{approval.pk}")
    expect(row).to_contain_text("Order A-7 totals 1500.")
    expect(row.get_by_role("link", name=f"run #{run.pk}")).to_be_visible()
    stale = context.new_page()  # the same list, open in a second tab
    stale.goto("/approvals/")

    row.get_by_label("Approved amount").fill("1400")
    row.get_by_label("Comment").fill("fine")
    row.get_by_role("button", name="Approve").click()
    expect(row.get_by_role("status")).to_have_text("Approved: the run goes on.")
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED and outputs(run)["ship"] == {"by": "alice"}
    decided = outputs(run)["approve"]
    assert decided["fields"] == {"amount": 1400} and decided["comment"] == "fine"
    audit = FlowEvent.objects.get(action=FlowEvent.Action.APPROVAL_DECIDED, flow=run.flow)
    assert audit.actor == team.admin and audit.detail["decision"] == "approved"

    other = stale.locator(f"#approval-{approval.pk}")
    other.get_by_label("Approved amount").fill("1")
    other.get_by_role("button", name="Reject").click()
    expect(other.get_by_role("alert")).to_have_text("This approval was already approved.")
    page.goto("/approvals/")
    expect(page.get_by_text("Nothing waits for your decision.")).to_be_visible()


def emailed_links(smtp_sink: SmtpSink, address: str) -> dict[str, str]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for sent in list(smtp_sink.messages):
            if address in sent["to"]:
                mail = email.message_from_string(sent["data"], policy=policy.default)
                text = mail.get_body(("plain",)).get_content()
                found = re.findall(r"(Approve|Reject): \S*(/approvals/email/[^/\s]+/)", text)
                return {"subject": mail["Subject"], "text": text} | dict(found)
        time.sleep(0.2)
    raise AssertionError(f"No mail to {address}")


def test_an_emailed_link_rejects_once_after_a_confirmation(
    team: Team, server: Server, page: Page, smtp_sink: SmtpSink
) -> None:
    smtp_sink.messages.clear()
    run, _ = waiting(team, emails=["Boss@Example.com"])
    mail = emailed_links(smtp_sink, "boss@example.com")
    assert "Order A-7 totals 1500." in mail["text"]

    # What a mail scanner does: a GET decides nothing.
    assert httpx.get(server.url + mail["Reject"], timeout=10).status_code == 200
    assert run.steps.get(node_id="approve").status == StepStatus.WAITING
    page.goto(mail["Reject"])  # no session: the link is the authorization
    page.get_by_label("Approved amount").fill("0")
    page.get_by_label("Comment").fill("too much")
    page.get_by_role("button", name="Confirm: reject").click()
    expect(page.get_by_role("status")).to_contain_text("Rejected.")
    run = wait_for_run(run)
    assert outputs(run)["refuse"] == "refused"
    decided = outputs(run)["approve"]
    assert decided["decision"] == "rejected" and decided["by"]["email"] == "boss@example.com"
    assert decided["comment"] == "too much"
    audit = FlowEvent.objects.get(action=FlowEvent.Action.APPROVAL_DECIDED, flow=run.flow)
    assert audit.actor is None and audit.detail["by"]["email"] == "boss@example.com"

    opened = httpx.get(server.url + mail["Approve"], timeout=10)
    assert opened.status_code == 409 and "already rejected" in opened.text
    again = httpx.post(server.url + mail["Approve"], data={"field.amount": "1"}, timeout=10)
    assert again.status_code == 409 and "already rejected" in again.text
    assert len([m for m in smtp_sink.messages if "boss@example.com" in m["to"]]) == 1


def test_forged_and_expired_links_are_refused(team: Team, server: Server) -> None:
    run, approval = waiting(team, emails=["boss@example.com"])
    token = approvals.email_token(
        suspension=approval, email="boss@example.com", decision="approved"
    )
    forged = httpx.post(f"{server.url}/approvals/email/{token[:-3]}abc/", timeout=10)
    assert forged.status_code == 404 and "This link is not valid." in forged.text
    stranger = approvals.email_token(suspension=approval, email="me@evil.test", decision="approved")
    assert httpx.post(f"{server.url}/approvals/email/{stranger}/", timeout=10).status_code == 403
    payload = {"s": approval.pk, "e": "boss@example.com", "d": "approved", "x": 1}
    expired = signing.dumps(payload, salt=approvals.SALT, compress=True)
    answer = httpx.post(f"{server.url}/approvals/email/{expired}/", timeout=10)
    assert answer.status_code == 403 and "This link has expired." in answer.text
    assert run.steps.get(node_id="approve").status == StepStatus.WAITING
