"""The test panel edits what a live run of the flow's trigger receives, and nothing runs
until its Run button is pressed: a webhook's test input is a request (prefilled from the
last captured one, with listening offered right there); every other trigger kind's panel
starts from exactly the keys its live firing delivers. A webhook URL that names another
address than the page's says so."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from designer.models import Flow
from runtime.models import Run, WebhookCapture
from runtime.triggers.webhook import kind as webhook
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.stack import Stack, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"id": 1001, "email": "ada@example.com"}


def hook_flow(team: Team, name: str = "Orders") -> Flow:
    """Saved (version 1) and never published, as a flow is while it is being built."""
    return flow(
        team.editor,
        team.workspace,
        name,
        graph(
            node("order", "trigger.webhook", "New order") | {"position": {"x": 0, "y": 0}},
            node("shape", "data.transform", "Shape", value="{{ event.trigger.body.id }}")
            | {"position": {"x": 300, "y": 0}},
            edges=[edge("order", "shape")],
        ),
    )


LINES = "content => [...content.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n')"


def editor_text(page: Page, editor_id: str) -> str:
    return str(page.locator(f"#{editor_id} .cm-content").evaluate(LINES))


def test_test_opens_the_request_and_only_the_panels_button_runs_it(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    orders = hook_flow(team)
    log_in(context, server, team.editor)
    Designer(page).open(orders.pk)

    page.get_by_role("button", name="Test", exact=True).click()
    panel = page.locator(".tb-test-panel")
    expect(panel.get_by_text("The request (event.trigger)")).to_be_visible()
    expect(panel.get_by_label("Method", exact=True)).to_have_value("POST")
    # The flow is saved and its URL serves no live runs yet: Test also listens.
    expect(panel.get_by_text("Waiting for a request to the URL…")).to_be_visible()
    expect(panel.get_by_test_id("run-test")).to_have_text("Run test")
    assert not Run.objects.exists()  # opening the test ran nothing

    # The body editor has the focus, its text selected: typing replaces it.
    page.keyboard.insert_text(json.dumps(ORDER))
    panel.get_by_test_id("run-test").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=30_000)
    run = wait_for_run(Run.objects.get(flow=orders))
    token = webhook.endpoint_for(orders, "order").token
    assert (run.is_test, run.trigger_kind, run.output) == (True, "webhook", 1001)
    assert {key: run.input[key] for key in ("method", "path", "query", "body")} == {
        "method": "POST",
        "path": f"/hooks/{token}",
        "query": {},
        "body": ORDER,
    }
    assert run.input["headers"]["content-type"] == "application/json"
    # Running with the typed request stopped listening, on the server too.
    assert not WebhookCapture.objects.filter(captured_at__isnull=True).exists()
    page.get_by_text("What the run received (event.trigger)").click()
    expect(page.get_by_test_id("run-input")).to_contain_text(f'"path": "/hooks/{token}"')


def test_a_request_captured_from_the_panel_is_the_test_input_until_confirmed(
    page: Page,
    context: BrowserContext,
    browser: Browser,
    server: Server,
    team: Team,
    live_stack: Stack,
) -> None:
    orders = hook_flow(team)
    log_in(context, server, team.editor)
    Designer(page).open(orders.pk)
    page.get_by_role("button", name="Test", exact=True).click()
    panel = page.locator(".tb-test-panel")
    url = panel.get_by_test_id("listen-url")
    expect(url).to_have_text(re.compile(rf"^{re.escape(server.url)}/hooks/"))
    sent = httpx.post(url.inner_text() + "?source=shop", json=ORDER, headers={"X-Shop": "demo"})
    assert sent.json()["captured"] is True

    expect(panel.get_by_test_id("test-origin")).to_contain_text("The request captured at")
    expect(
        panel.get_by_text("Captured. Check the request above, then run the test.")
    ).to_be_visible()
    assert json.loads(editor_text(page, "test-body")) == ORDER
    assert not Run.objects.exists()  # a capture is not a run
    panel.get_by_test_id("run-test").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=30_000)
    (capture,) = WebhookCapture.objects.filter(endpoint__flow=orders)
    assert Run.objects.get(flow=orders).input == capture.payload  # what a live call got

    # Another browser (no stored input) starts from the last captured request.
    other = browser.new_context(base_url=server.url)
    try:
        _log_in_context(other, server, team.editor)
        fresh = other.new_page()
        Designer(fresh).open(orders.pk)
        fresh.get_by_role("button", name="Test", exact=True).click()
        expect(fresh.get_by_test_id("test-origin")).to_contain_text("The request captured at")
        # The editor takes the captured body a render after the origin line shows.
        expect(fresh.locator("#test-body .cm-content")).to_contain_text("ada@example.com")
        assert json.loads(editor_text(fresh, "test-body")) == ORDER
        fresh.get_by_text("Query and headers").click()
        assert json.loads(editor_text(fresh, "test-query")) == {"source": "shop"}
        assert json.loads(editor_text(fresh, "test-headers"))["x-shop"] == "demo"
        # A captured request is kept as the input: no listening is started over it.
        expect(fresh.get_by_role("button", name="Listen for a test event")).to_be_visible()
    finally:
        other.close()


def _log_in_context(context: BrowserContext, server: Server, user: User) -> None:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": server.url}])


TRIGGERS: dict[str, tuple[dict[str, Any], str]] = {
    "cron": (
        node("start", "trigger.cron", "Nightly", expression="0 2 * * *", timezone="Europe/Paris"),
        "The schedule's firing (event.trigger)",
    ),
    "event": (
        node("start", "trigger.event", "Order created", event_type="order.created"),
        "The event (event.trigger)",
    ),
    "dbchange": (
        node("start", "trigger.dbchange", "Row", table="public.orders", operations=["update"]),
        "The row change (event.trigger)",
    ),
    "queue": (
        node("start", "trigger.queue", "Message", connection="bus", source="orders"),
        "The message (event.trigger)",
    ),
    "manual": (
        node("start", "trigger.manual", "Start", sample={"n": 1}),
        "The payload (event.trigger)",
    ),
}
# Filled in when the run starts, so they differ from the panel's by a few moments.
MOMENTS = {"fired_at", "scheduled_for", "emitted_at", "changed_at", "received_at"}


@pytest.mark.parametrize("kind", sorted(TRIGGERS))
def test_each_triggers_panel_starts_from_the_shape_its_live_run_gets(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack, kind: str
) -> None:
    trigger, label = TRIGGERS[kind]
    probe = node("probe", "data.transform", "Probe", value="ok")
    tested = flow(
        team.editor,
        team.workspace,
        f"Probe {kind}",
        graph(
            trigger | {"position": {"x": 0, "y": 0}},
            probe | {"position": {"x": 300, "y": 0}},
            edges=[edge("start", "probe")],
        ),
    )
    log_in(context, server, team.editor)
    Designer(page).open(tested.pk)
    page.get_by_role("button", name="Test", exact=True).click()
    panel = page.locator(".tb-test-panel")
    expect(panel.locator("label[for=test-payload]")).to_have_text(label)
    shown = json.loads(editor_text(page, "test-payload"))
    panel.get_by_test_id("run-test").click()
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded", timeout=30_000)
    received = Run.objects.get(flow=tested).input
    assert _without_moments(received) == _without_moments(shown)


def _without_moments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "(a time)" if k in MOMENTS else _without_moments(v) for k, v in value.items()}
    return value


def test_a_webhook_url_on_another_address_than_the_page_says_so(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    orders = hook_flow(team)
    designer = Designer(page)
    log_in(context, server, team.editor)
    designer.open(orders.pk)
    designer.select("order")
    expect(page.get_by_label("Webhook URL", exact=True)).to_have_value(
        re.compile(rf"^{re.escape(server.url)}/hooks/")
    )
    expect(page.get_by_test_id("webhook-url-mismatch")).to_have_count(0)

    # The same server reached as localhost: its TRIBUTARY_PUBLIC_URL names 127.0.0.1.
    other = server.url.replace("127.0.0.1", "localhost")
    name = settings.SESSION_COOKIE_NAME
    session = next(c for c in context.cookies(server.url) if c["name"] == name)
    context.add_cookies([{"name": name, "value": session["value"], "url": other}])
    page.goto(f"{other}/flows/{orders.pk}/")
    designer.wait_ready()
    designer.select("order")
    warning = page.get_by_test_id("webhook-url-mismatch")
    expect(warning).to_contain_text(f"This URL points at {server.url}")
    expect(warning).to_contain_text(f"you opened Tributary at {other}")
    expect(warning).to_contain_text("TRIBUTARY_PUBLIC_URL")
