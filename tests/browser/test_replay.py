"""Replaying real runs in the designer: the Replay tab replays the last runs of the live
version against the saved draft, shows the summary and, expanded, each replay's changes
(the email's subject, before and after), marks the email node with how many replays differ
there, and sends nothing: the fake API and the SMTP sink receive no new request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from designer.services import flow_publish, flow_version_save
from runtime.models import Run
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.fakes import FakeApi, SmtpSink
from tests.runtime.replay.test_replay import live_runs

pytestmark = pytest.mark.django_db(transaction=True)


def order_email(fake_api: FakeApi, subject: str) -> dict[str, Any]:
    """start → notify (an HTTP POST to the fake API) → mail (an email)."""
    return graph(
        node("start", "trigger.manual", "Start"),
        node(
            "notify",
            "http.request",
            "Tell the shop",
            method="POST",
            url=f"{fake_api.url}/echo",
            body='{"order": {{ event.trigger.id }}}',
        ),
        node(
            "mail",
            "email.send",
            "Send email",
            to="{{ event.trigger.email }}",
            subject=subject,
            text="Thanks for order {{ event.trigger.id }}",
        ),
        edges=[edge("start", "notify"), edge("notify", "mail")],
    )


def published_with_runs(team: Team, fake_api: FakeApi, runs: int) -> Flow:
    orders = flow(
        team.editor,
        team.workspace,
        "Order mail",
        order_email(fake_api, "Order {{ event.trigger.id }}"),
    )
    flow_publish(flow=orders, user=team.editor, number=1)
    orders.refresh_from_db()
    live_runs(team, orders, runs)
    return orders


def test_replaying_the_last_runs_shows_the_subject_change_and_sends_nothing(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: object,
    fake_api: FakeApi,
    smtp_sink: SmtpSink,
) -> None:
    orders = published_with_runs(team, fake_api, 3)
    flow_version_save(
        flow=orders,
        user=team.editor,
        graph=order_email(fake_api, "Your order #{{ event.trigger.id }}"),
        based_on=1,
    )
    posts, mails = fake_api.hits["/echo"], len(smtp_sink.messages)
    assert posts == 3

    log_in(context, server, team.editor)
    designer = Designer(page).open(orders.pk)
    designer.expect_saved(2)
    designer.tab("Replay")
    panel = page.locator(".tb-replay-panel")
    expect(panel.get_by_label("How many")).to_have_value("20")
    # The steps that act on the world are offered, unchecked; the trigger is not.
    perform = panel.get_by_role("group", name="Perform for real")
    expect(perform.get_by_role("checkbox")).to_have_count(2)
    expect(perform.get_by_label(re.compile("Send email"))).not_to_be_checked()
    expect(perform.get_by_label(re.compile("Tell the shop"))).not_to_be_checked()
    panel.get_by_role("button", name="Replay on v2").click()

    summary = page.get_by_test_id("replay-summary")
    expect(summary).to_have_text(
        "0 of 3 identical; 3 differ at Send email (sent: subject)", timeout=60_000
    )
    expect(page.get_by_role("progressbar", name="Replays finished")).to_have_attribute("value", "3")
    replays = panel.locator(".tb-replays > li")
    expect(replays).to_have_count(3)
    expect(replays.filter(has_text="differs")).to_have_count(3)

    first = replays.first
    original = int(first.get_by_role("link", name=re.compile(r"^run #")).inner_text().split("#")[1])
    order = Run.objects.get(pk=original).input["id"]
    first.get_by_role("button", name=re.compile("Show differences")).click()
    mail = first.locator('.tb-replay-node[data-node="mail"]')
    expect(mail).to_contain_text("simulated: not sent")
    subject = mail.locator('.tb-change[data-aspect="sent"][data-path="subject"]')
    expect(subject.get_by_label("before")).to_have_text(f'"Order {order}"')
    expect(subject.get_by_label("after")).to_have_text(f'"Your order #{order}"')
    expect(first.locator('.tb-replay-node[data-node="notify"]')).to_have_count(0)

    badge = designer.node("mail").locator(".tb-replay-badge")
    expect(badge).to_have_text("3 differ")
    expect(designer.node("mail").locator(".tb-node")).to_have_class(
        re.compile(r"\btb-replay-differ\b")
    )
    expect(designer.node("notify").locator(".tb-replay-badge")).to_have_count(0)

    # Nothing left the machine: the POST and the email were rehearsed.
    assert fake_api.hits["/echo"] == posts
    assert len(smtp_sink.messages) == mails

    panel.get_by_role("button", name="Close replay").click()
    expect(badge).to_have_count(0)
    expect(summary).to_have_count(0)


def test_picked_runs_are_replayed_and_unsaved_changes_are_saved_first(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: object,
    fake_api: FakeApi,
) -> None:
    orders = published_with_runs(team, fake_api, 2)
    [older, newer] = Run.objects.filter(flow=orders).order_by("id")
    log_in(context, server, team.editor)
    designer = Designer(page).open(orders.pk)
    designer.select("mail")
    designer.type_into("subject", "Hi {{ event.trigger.id }}")
    designer.tab("Replay")
    panel = page.locator(".tb-replay-panel")
    panel.get_by_label("Runs I pick").check()
    runs = panel.get_by_role("list", name="Recent runs")
    expect(runs.get_by_role("checkbox")).to_have_count(2)
    runs.get_by_label(re.compile(rf"#{newer.pk}\b")).check()
    panel.get_by_role("button", name="Save and replay").click()

    designer.expect_saved(2)
    expect(page.get_by_test_id("replay-summary")).to_have_text(
        "0 of 1 identical; 1 differ at Send email (sent: subject)", timeout=60_000
    )
    replays = panel.locator(".tb-replays > li")
    expect(replays).to_have_count(1)
    expect(replays.first.get_by_role("link", name=f"run #{newer.pk}")).to_be_visible()
    assert Run.objects.filter(replay__of=older.pk).count() == 0
