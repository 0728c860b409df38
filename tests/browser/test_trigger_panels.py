"""What trigger nodes show: a webhook's URL (copy, listen for a test event) and a schedule's
next fire times.

The endpoints behind them are being built in parallel; until they land, these tests answer
for them with Playwright routes that follow the agreed contract (GET /api/flows/{id}/
triggers/, POST|GET …/listen/, GET /api/cron/preview/), and one test answers 404 for all of
them, as a server without them does, to check the panels degrade to hints.
test_seed_scenario.py exercises the real endpoints.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)

HOOK_URL = "http://127.0.0.1:8000/hooks/3kq9-example-token"
CAPTURED = {"method": "POST", "headers": {}, "query": {}, "body": {"id": "7", "total": 12}}


def triggers_flow(team: Team) -> int:
    hook = node("order", "trigger.webhook", "New order") | {"position": {"x": 0, "y": 0}}
    nightly = node("nightly", "trigger.cron", "Nightly", expression="0 2 * * *")
    return flow(team.editor, team.workspace, "Triggers", graph(hook, nightly)).pk


def json_reply(route: Route, body: object, status: int = 200) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def test_a_webhook_node_shows_its_url_copies_it_and_captures_a_test_event(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = triggers_flow(team)
    listened: list[str] = []

    def triggers(route: Route) -> None:
        json_reply(
            route,
            [{"node_id": "order", "type": "trigger.webhook", "url": HOOK_URL, "active": True}],
        )

    def listen(route: Route) -> None:
        listened.append(route.request.method)
        if route.request.method == "POST":
            json_reply(route, {"status": "waiting", "payload": None})
        else:
            json_reply(route, {"status": "captured", "payload": CAPTURED})

    page.route(f"**/api/flows/{flow_id}/triggers/", triggers)
    page.route(f"**/api/flows/{flow_id}/triggers/order/listen/", listen)
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.select("order")

    url = page.get_by_label("Webhook URL", exact=True)
    expect(url).to_have_value(HOOK_URL)
    expect(page.get_by_text("Active: calls start runs")).to_be_visible()
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == HOOK_URL

    page.get_by_role("button", name="Listen for a test event").click()
    expect(page.get_by_role("tab", name="Test run")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#test-payload .cm-content")).to_contain_text('"total": 12')
    assert listened[:2] == ["POST", "GET"]


def test_a_schedule_node_previews_its_next_five_fire_times(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = triggers_flow(team)
    asked: list[str] = []

    def preview(route: Route) -> None:
        asked.append(route.request.url)
        if "expression=0+2+*+*+*" in route.request.url:
            times = [f"2026-12-0{day}T02:00:00+00:00" for day in range(1, 6)]
            json_reply(route, {"next": times})
        else:
            error = {"field": "expression", "message": "Not a cron expression."}
            json_reply(route, {"detail": "Invalid", "errors": [error]}, status=400)

    page.route(re.compile(r".*/api/cron/preview/\?.*"), preview)
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.select("nightly")
    expect(page.locator(".tb-cron-next li")).to_have_count(5)
    designer.type_into("expression", "every night")
    expect(designer.field("expression").locator(".tb-field-error")).to_have_text(
        "Not a cron expression."
    )


def test_without_the_trigger_endpoints_the_panels_degrade_to_hints(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = triggers_flow(team)
    for pattern in (f"**/api/flows/{flow_id}/triggers/**", re.compile(r".*/api/cron/preview/.*")):
        page.route(pattern, lambda route: json_reply(route, {"detail": "Not found."}, 404))
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.select("order")
    expect(page.get_by_test_id("webhook-url-missing")).to_have_text(
        "Publish the flow to get the URL."
    )
    page.get_by_role("button", name="Listen for a test event").click()
    expect(page.get_by_text("Listening for test events is not available")).to_be_visible()
    designer.select("nightly")
    hint = "The next fire times show once the server offers a preview"
    expect(page.get_by_text(hint)).to_be_visible()
