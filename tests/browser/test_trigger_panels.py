"""What trigger nodes show, from the real endpoints: a webhook's URL (copy, listen for a
test event that a real request to the URL then fills in) and a schedule's next fire times
(and the server's word on an expression that is not one)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from runtime.models import Run
from runtime.triggers.webhook import kind as webhook
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import flow, graph, node
from tests.runtime.helpers import publish

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"id": "7", "total": 12}


def triggers_graph() -> dict:
    hook = node("order", "trigger.webhook", "New order") | {"position": {"x": 0, "y": 0}}
    nightly = node("nightly", "trigger.cron", "Nightly", expression="0 2 * * *")
    return graph(hook, nightly | {"position": {"x": 0, "y": 200}})


def wait_for_listening(page: Page) -> None:
    expect(page.get_by_text("Waiting for a request to the URL…")).to_be_visible()


def test_a_webhook_node_shows_its_url_copies_it_and_captures_a_test_event(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    live = publish(team, triggers_graph(), name="Triggers")
    # The URL the server names (its public URL is the test server's, not this process's).
    hook_url = f"{server.url}/hooks/{webhook.endpoint_for(live, 'order').token}"
    log_in(context, server, team.editor)
    designer = Designer(page).open(live.pk)
    designer.select("order")

    url = page.get_by_label("Webhook URL", exact=True)
    expect(url).to_have_value(hook_url)
    expect(page.get_by_text("Active: calls start runs")).to_be_visible()
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == hook_url

    page.get_by_role("button", name="Listen for a test event").click()
    wait_for_listening(page)
    answer = httpx.post(hook_url, json=ORDER, timeout=10)
    assert answer.status_code == 200 and answer.json()["captured"] is True, answer.text
    expect(page.get_by_role("tab", name="Test run")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#test-body .cm-content")).to_contain_text('"total": 12')
    assert not Run.objects.filter(flow=live).exists()  # a captured request starts no run


def test_an_unpublished_webhook_says_where_its_url_comes_from_and_listens_once_saved(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    flow_id = flow(team.editor, team.workspace, "Draft hooks", graph(start)).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    hook = designer.drag_from_palette("trigger.webhook", 200, 400)
    designer.select(hook)
    expect(page.get_by_test_id("webhook-url-missing")).to_have_text(
        "Save and publish to get the URL."
    )

    designer.save("Add a webhook")
    designer.expect_saved(2)
    url = page.get_by_label("Webhook URL", exact=True)
    expect(url).to_have_value(re.compile(rf"^{re.escape(server.url)}/hooks/"))
    expect(page.get_by_text("Inactive until the flow is published.")).to_be_visible()
    assert httpx.post(url.input_value(), json=ORDER, timeout=10).status_code == 404

    page.get_by_role("button", name="Listen for a test event").click()
    wait_for_listening(page)
    assert httpx.post(url.input_value(), json=ORDER, timeout=10).status_code == 200
    expect(page.locator("#test-body .cm-content")).to_contain_text('"id": "7"')
    assert Flow.objects.get(pk=flow_id).live_version is None


def test_a_schedule_node_previews_its_next_five_fire_times(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = flow(team.editor, team.workspace, "Nightly", triggers_graph()).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.select("nightly")
    times = page.locator(".tb-cron-next li time")
    expect(times).to_have_count(5)
    moments = times.evaluate_all("items => items.map(item => item.dateTime)")
    assert all(re.search(r"T02:00:00(\+00:00|Z)$", moment) for moment in moments), moments
    assert moments == sorted(set(moments))

    designer.type_into("expression", "every night")
    expect(designer.field("expression").locator(".tb-field-error")).to_contain_text(
        "'every night' is not a cron expression; use five fields"
    )
    designer.type_into("expression", "30 6 * * 1")
    expect(times).to_have_count(5)
    expect(times.first).to_have_attribute("datetime", re.compile(r"T06:30:00"))
