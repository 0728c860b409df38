"""email.send through Django's SMTP backend to a local SMTP sink."""

from __future__ import annotations

import email
from email import policy

import pytest

from runtime.engine.status import RunStatus
from runtime.kinds.idempotency import idempotency_key
from runtime.steps import email_send
from tests.conftest import Team
from tests.factories import node
from tests.fakes import SmtpSink
from tests.runtime.helpers import chain, start
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_emails_the_customer_in_text_and_html(
    team: Team, stack: Stack, smtp_sink: SmtpSink
) -> None:
    smtp_sink.messages.clear()
    run = wait_for_run(
        start(
            team,
            chain(
                node(
                    "mail",
                    "email.send",
                    to="{{ event.trigger.email }}",
                    cc="shop@example.com",
                    subject="Order #{{ event.trigger.id }} confirmed",
                    text="Hi {{ event.trigger.name }}, thanks!",
                    html="<p>Hi {{ event.trigger.name }}, thanks!</p>",
                )
            ),
            {"id": 1001, "email": "ada@example.com", "name": "Ada <3"},
        )
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    [sent] = smtp_sink.messages
    assert sorted(sent["to"]) == ["ada@example.com", "shop@example.com"]
    message = email.message_from_string(sent["data"], policy=policy.default)
    assert message["Subject"] == "Order #1001 confirmed"
    assert message.get_body(("plain",)).get_content().strip() == "Hi Ada <3, thanks!"
    # HTML templates escape what they insert.
    assert "Hi Ada &lt;3, thanks!" in message.get_body(("html",)).get_content()
    assert run.output["message_id"] == message["Message-ID"]
    # The step's idempotency key, so a retry sends the same Message-ID from any worker.
    key = idempotency_key(run_id=run.pk, created_at=run.created_at, node_id="mail")
    assert message["Message-ID"].startswith(f"<{key}@")
    assert set(run.output or ()) == set(email_send.KIND.output_example)  # offered before a run


def test_a_bad_address_fails_without_retrying(
    team: Team, stack: Stack, smtp_sink: SmtpSink
) -> None:
    smtp_sink.messages.clear()
    mail = node("mail", "email.send", to="{{ event.trigger.email }}", subject="Hi", text="x") | {
        "settings": {"retries": 3, "retry_backoff_seconds": 0.1}
    }
    run = wait_for_run(start(team, chain(mail), {"email": "not-an-address"}))
    assert run.status == RunStatus.FAILED
    step = run.steps.get(node_id="mail")
    assert "'not-an-address' in 'to' is not an email address" in step.error
    assert step.attempt == 1
    assert smtp_sink.messages == []
