"""The run page, live: a webhook starts a run and the open page colours its nodes as the
steps finish and fills in their input and output, without a reload; failures turn red with
their error and traceback; a retrying step says which attempt comes next and when; a page
opened mid-run shows the right state; retry from the failed step after fixing the code."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from designer.services import flow_publish, flow_version_save
from runtime.engine.status import StepStatus
from runtime.models import Run, StepRun
from runtime.triggers.webhook import kind as webhook
from tests.browser.conftest import Server, log_in
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.fakes import FakeApi
from tests.runtime.helpers import publish
from tests.stack import Stack, wait_for_run, wait_for_step, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

FAILING = (
    "def handler(event, context):\n"
    "    raise ValueError('no stock for ' + event['trigger']['body']['sku'])\n"
)
# Long enough for the page to see the step waiting between its attempts.
BACKOFF = 5
FIXED = "def handler(event, context):\n    return {'reserved': event['trigger']['body']['sku']}\n"


def order_flow(team: Team, code: str = FIXED, wait: float = 1.5) -> Flow:
    return publish(
        team,
        graph(
            node("order", "trigger.webhook", "New order"),
            node("wait", "flow.delay", "Wait a moment", seconds=wait),
            node("reserve", "code.python", "Reserve stock", source=code),
            edges=[edge("order", "wait"), edge("wait", "reserve")],
        ),
    )


def flaky_graph(fake_api: FakeApi) -> dict[str, Any]:
    """The first call answers 503, the retry (after about BACKOFF seconds) 200."""
    call = node("notify", "http.request", "Notify the warehouse", method="GET")
    call["config"]["url"] = f"{fake_api.url}/flaky/warehouse?fail=1"
    call["settings"] = {"retries": 2, "retry_backoff_seconds": BACKOFF}
    return graph(
        node("order", "trigger.webhook", "New order"), call, edges=[edge("order", "notify")]
    )


def fire(server: Server, flow: Flow) -> Run:
    token = webhook.endpoint_for(flow, "order").token
    response = httpx.post(f"{server.url}/hooks/{token}", json={"sku": "MUG-1"})
    assert response.status_code == 202, response.text
    return Run.objects.get(pk=response.json()["run_id"])


def status_of(page: Page, node_id: str) -> str | None:
    return page.locator(f'[data-node-id="{node_id}"]').get_attribute("data-status")


def test_the_open_run_page_turns_nodes_green_without_reloading(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    log_in(context, server, team.editor)
    run = fire(server, order_flow(team))
    page.goto(f"/runs/{run.pk}/")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    reserve = page.locator('[data-step="reserve"]')
    expect(page.locator('[data-node-id="reserve"]')).not_to_have_attribute(
        "data-status", "succeeded"
    )
    expect(reserve.locator("[data-step-input]")).to_have_text("")
    expect(page.locator('[data-node-id="reserve"]')).to_have_attribute(
        "data-status", "succeeded", timeout=20_000
    )
    expect(page.locator('[data-node-id="wait"]')).to_have_attribute("data-status", "succeeded")
    expect(page.locator("[data-run-status]")).to_have_text("Succeeded")
    expect(page.locator("[data-done]")).to_have_text("3")
    expect(reserve.locator("[data-step-output]")).to_contain_text('"reserved": "MUG-1"')
    expect(reserve.locator("[data-step-input]")).to_contain_text('"sku": "MUG-1"')
    expect(page.get_by_role("button", name="Re-run")).to_be_visible()
    assert navigations == []  # live: no reload


def test_a_failed_step_turns_red_and_shows_its_error(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    log_in(context, server, team.editor)
    run = fire(server, order_flow(team, FAILING))
    page.goto(f"/runs/{run.pk}/")
    reserve = page.locator('[data-step="reserve"]')
    expect(page.locator('[data-node-id="reserve"]')).not_to_have_attribute("data-status", "failed")
    expect(reserve.locator("[data-step-detail]")).to_be_hidden()
    expect(page.locator('[data-node-id="reserve"]')).to_have_attribute(
        "data-status", "failed", timeout=20_000
    )
    expect(reserve.locator("[data-step-error]")).to_contain_text("ValueError: no stock for MUG-1")
    # The traceback comes with the next read of the run, still without a reload.
    expect(reserve.locator("[data-step-detail]")).to_be_visible()
    expect(reserve.locator("[data-step-detail]")).to_contain_text("Traceback")
    expect(reserve.locator("[data-step-input]")).to_contain_text('"sku": "MUG-1"')
    expect(page.locator("[data-run-status]")).to_have_text("Failed")
    expect(page.get_by_role("button", name="Retry from failed step")).to_be_visible()


def test_a_retrying_step_says_which_attempt_comes_next_and_when_then_its_attempts(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: Stack,
    fake_api: FakeApi,
) -> None:
    log_in(context, server, team.editor)
    flow = publish(team, flaky_graph(fake_api))
    run = fire(server, flow)
    page.goto(f"/runs/{run.pk}/")
    notify = page.locator('[data-step="notify"]')
    retry = notify.locator("[data-step-retry]")
    waiting = wait_until(
        lambda: StepRun.objects.filter(
            run=run, node_id="notify", status=StepStatus.WAITING, failures=1
        ).first(),
        "the first failure",
    )
    at = page.evaluate(
        "iso => new Date(iso).toLocaleTimeString([], "
        "{hour: '2-digit', minute: '2-digit', second: '2-digit'})",
        waiting.wake_at.isoformat(),
    )
    expect(retry).to_have_text(f"retrying (attempt 2, next at {at})")
    expect(notify.locator("[data-step-error]")).to_contain_text("HTTP 503")
    expect(page.locator('[data-node-id="notify"] .tb-status')).to_have_text("Retrying: attempt 2")

    expect(page.locator('[data-node-id="notify"]')).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    expect(retry).to_be_hidden()
    expect(notify.locator("[data-step-error]")).to_be_hidden()
    expect(notify.locator("[data-step-attempts]")).to_have_text("2 attempts")
    expect(page.locator('[data-node-id="notify"] .tb-status')).to_have_text("Succeeded")


def test_a_page_opened_mid_run_shows_the_current_state_then_follows(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    log_in(context, server, team.viewer)
    # Long enough that a loaded machine still opens the page while the delay holds.
    run = fire(server, order_flow(team, wait=5))
    wait_for_step(run, "wait", StepStatus.WAITING)
    page.goto(f"/runs/{run.pk}/")
    assert status_of(page, "order") == "succeeded"
    assert status_of(page, "wait") == "waiting"
    assert status_of(page, "reserve") == "pending"
    expect(page.locator('[data-node-id="reserve"]')).to_have_attribute(
        "data-status", "succeeded", timeout=20_000
    )


def test_retry_from_the_failed_step_after_fixing_the_code(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    log_in(context, server, team.editor)
    flow = order_flow(team, FAILING)
    failed = wait_for_run(fire(server, flow), timeout=30)
    assert failed.status == "failed"
    fixed = graph(
        node("order", "trigger.webhook", "New order"),
        node("wait", "flow.delay", "Wait a moment", seconds=1.5),
        node("reserve", "code.python", "Reserve stock", source=FIXED),
        edges=[edge("order", "wait"), edge("wait", "reserve")],
    )
    version = flow_version_save(flow=flow, user=team.editor, graph=fixed, message="Fix stock")
    flow_publish(flow=flow, user=team.editor, number=version.number)
    page.goto(f"/runs/{failed.pk}/")
    page.get_by_role("button", name=f"Retry on live v{version.number}").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    retry = Run.objects.get(rerun_of=failed)
    assert page.url.endswith(f"/runs/{retry.pk}/")
    expect(page.locator("[data-run-status]")).to_have_text("Succeeded", timeout=20_000)
    reused = retry.steps.get(node_id="wait")
    assert reused.reused  # the delay was not waited again
    expect(page.locator('[data-step="wait"]')).to_contain_text("reused from the earlier run")
