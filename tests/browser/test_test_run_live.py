"""The designer follows its test run live: a code step's printed lines show in the node's
panel as they are printed (before the step ends), and a retrying step says which attempt
comes next and when."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from runtime.engine.status import StepStatus
from runtime.models import StepRun
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.fakes import FakeApi
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# The pause is what the test watches through: the first line is out, the second is not.
COUNT_STOCK = """import time

def handler(event, context):
    print("checking stock of", event["trigger"]["sku"])
    time.sleep(20)  # long enough for the test to see the first line alone, even on a busy box
    print("stock ok")
    return {"in_stock": True}
"""
BACKOFF = 5  # seconds before the retry: long enough to see the step waiting for it


def at(data: dict, x: int) -> dict:
    return data | {"position": {"x": x, "y": 0}}


def test_a_code_steps_lines_show_in_its_panel_as_they_are_printed(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    flow_id = flow(
        team.editor,
        team.workspace,
        "Stock",
        graph(
            at(node("start", "trigger.manual", "Start"), 0),
            at(node("count", "code.python", "Count stock", source=COUNT_STOCK), 300),
            edges=[edge("start", "count")],
        ),
    ).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.set_payload({"sku": "MUG-1"})
    designer.run_test()
    designer.expect_status("count", "running")
    designer.select("count")

    logs = page.get_by_test_id("step-logs")
    # A worker's first code step starts its sandbox pool: on a loaded machine, seconds.
    expect(logs).to_have_text("checking stock of MUG-1", timeout=30_000)
    # Seen while the step still runs (over the socket, or from the lines the heartbeat
    # stored, whichever came first: the page may have connected after the print).
    step = StepRun.objects.get(run__flow_id=flow_id, node_id="count")
    assert step.status == StepStatus.RUNNING
    assert "stock ok" not in logs.inner_text()

    designer.expect_status("count", "succeeded", timeout=60_000)
    expect(logs).to_have_text("checking stock of MUG-1\nstock ok")


def test_a_retrying_step_says_which_attempt_comes_next_and_when(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: Stack,
    fake_api: FakeApi,
) -> None:
    call = node("notify", "http.request", "Notify", method="GET")
    call["config"]["url"] = f"{fake_api.url}/flaky/designer?fail=1"
    call["settings"] = {"retries": 1, "retry_backoff_seconds": BACKOFF}
    flow_id = flow(
        team.editor,
        team.workspace,
        "Flaky",
        graph(
            at(node("start", "trigger.manual", "Start"), 0),
            at(call, 300),
            edges=[edge("start", "notify")],
        ),
    ).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.set_payload({})
    designer.run_test()

    waiting = wait_until(
        lambda: StepRun.objects.filter(
            run__flow_id=flow_id, node_id="notify", status=StepStatus.WAITING, failures=1
        ).first(),
        "the first failure",
    )
    at_time = page.evaluate(
        "iso => new Date(iso).toLocaleTimeString([], "
        "{hour: '2-digit', minute: '2-digit', second: '2-digit'})",
        waiting.wake_at.isoformat(),
    )
    expected = f"retrying (attempt 2, next at {at_time})"
    expect(page.locator(".tb-test-panel .tb-retry")).to_have_text(expected)
    expect(designer.node("notify").locator(".tb-status")).to_have_text("Retrying: attempt 2")
    designer.select("notify")
    expect(page.get_by_test_id("step-retry")).to_have_text(expected)

    designer.expect_status("notify", "succeeded")
    expect(page.get_by_test_id("step-retry")).to_have_count(0)
    expect(page.locator(".tb-step-result")).to_contain_text("2 attempts")
    expect(page.get_by_test_id("step-output")).to_contain_text(re.compile(r'"ok": true'))
