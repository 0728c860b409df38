"""Runs appear where the user looks, without a reload. A run started by a webhook call shows
in the designer's open Runs tab, with a notice whose Show opens it on the canvas; on /runs/
under the filter typed there; and in the flows list's "Last run". Publishing clears the
canvas of the last test run. A list whose socket dropped reads the truth again when it
reconnects.

Two tests print how long a run took from its creation to its row on the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from runtime.models import Run
from runtime.triggers.webhook import kind as webhook
from tests.browser.conftest import ConsoleWatch, Server, log_in
from tests.browser.designer import Designer
from tests.browser.restartable import RestartableServer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.runtime.helpers import chain, publish
from tests.stack import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

# A webhook delivers {body, headers, query, method}: an order without an email fails.
BUILD = (
    "def handler(event, context):\n"
    "    order = event['trigger']['body']\n"
    "    return {'to': order['email'], 'subject': 'Order ' + order['order_id']}\n"
)
# Records when each row with a data-run-id first appears under `scope` (browser clock,
# which is the machine's, as the server's run.created_at is).
SEEN = """scope => {
  window.seenAt = {};
  const note = () => document.querySelectorAll(scope + ' [data-run-id]').forEach((row) => {
    window.seenAt[row.dataset.runId] ??= Date.now();
  });
  new MutationObserver(note).observe(document.body, { childList: true, subtree: true });
  note();
}"""


def order_flow(team: Team, name: str = "Orders") -> Flow:
    return publish(
        team,
        graph(
            node("order", "trigger.webhook", "New order"),
            node("build", "code.python", "Build email", source=BUILD),
            edges=[edge("order", "build")],
        ),
        name=name,
    )


def call_webhook(server: Server, hooked: Flow, body: dict[str, Any]) -> Run:
    """POST to the flow's webhook as curl would; the run it started."""
    token = webhook.endpoint_for(hooked, "order").token
    answer = httpx.post(f"{server.url}/hooks/{token}", json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    return Run.objects.get(pk=answer.json()["run_id"])


def navigations(page: Page) -> list[str]:
    """The URLs the page navigates to from now on (a reload would be one)."""
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url))
    return seen


def report_latency(where: str, page: Page, run: Run) -> None:
    """Print how long the run took from its creation to its row on the page (a figure for
    the record, not a pass mark: this machine's load decides it)."""
    shown = page.evaluate("id => window.seenAt[id]", str(run.pk))
    assert shown, f"the page never noted run #{run.pk}"
    created: datetime = run.created_at
    latency = shown - created.timestamp() * 1000
    print(f"\n{where}: run #{run.pk} shown {latency:.0f} ms after its creation")  # noqa: T201


def test_a_webhook_run_appears_in_the_open_runs_tab_and_its_notice_shows_it_on_the_canvas(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    orders = order_flow(team)
    log_in(context, server, team.editor)
    designer = Designer(page).open(orders.pk)
    designer.tab("Runs")
    expect(page.locator(".tb-runs-panel")).to_contain_text("No runs yet")
    page.evaluate(SEEN, ".tb-runs")
    moved = navigations(page)

    run = call_webhook(server, orders, {"order_id": "1001"})  # no email: the step fails
    row = page.locator(f'.tb-runs tr[data-run-id="{run.pk}"]')
    expect(row).to_be_visible()
    notice = page.locator(f'.tb-run-notice[data-run-id="{run.pk}"]')
    expect(notice).to_have_text(re.compile(rf"^Run #{run.pk} \(webhook\) failed · Show"))
    expect(row.locator(".tb-pill")).to_have_text("failed")
    expect(row).to_contain_text("webhook")
    report_latency("Runs tab", page, run)

    notice.get_by_role("button", name="Show").click()
    designer.expect_status("build", "failed")
    designer.expect_status("order", "succeeded")
    expect(notice).to_have_count(0)
    expect(row).to_have_class(re.compile("tb-current"))
    assert moved == []


def test_publishing_clears_the_canvas_of_the_last_test_run(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    draft = flow(
        team.editor, team.workspace, "Shape", chain(node("shape", "data.transform", value=1))
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(draft.pk)
    designer.set_payload({"total": 1})
    designer.run_test()
    designer.expect_status("shape", "succeeded")
    expect(page.get_by_role("button", name="Clear run")).to_be_visible()

    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_test_id("publish-dialog").get_by_role("button", name="Publish v1").click()
    expect(page.get_by_test_id("live-badge")).to_have_text("Live: v1")
    for node_id in ("start", "shape"):
        status = designer.node(node_id).locator(".tb-node")
        expect(status).not_to_have_attribute("data-status", re.compile(".*"))
    expect(page.get_by_role("button", name="Clear run")).to_have_count(0)
    expect(page.get_by_test_id("run-status")).to_have_count(0)


def test_the_runs_list_shows_a_webhook_run_live_under_the_filter_typed_there(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    orders = order_flow(team)
    earlier = wait_for_run(call_webhook(server, orders, {"order_id": "ORD-1006"}))
    log_in(context, server, team.viewer)
    page.goto("/runs/")
    expect(page.locator(f'#run-rows tr[data-run-id="{earlier.pk}"]')).to_be_visible()
    search = page.get_by_label("Search")
    search.press_sequentially("ORD-1007")
    expect(page).to_have_url(re.compile(r"q=ORD-1007"))
    expect(page.locator("#run-rows")).to_contain_text("No run matches these filters.")
    page.evaluate(SEEN, "#run-rows")
    moved = navigations(page)

    other = call_webhook(server, orders, {"order_id": "ORD-1008", "email": "bo@example.com"})
    wanted = call_webhook(server, orders, {"order_id": "ORD-1007", "email": "ann@example.com"})
    row = page.locator(f'#run-rows tr[data-run-id="{wanted.pk}"]')
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Succeeded")
    expect(row).to_contain_text("webhook")
    report_latency("/runs/", page, wanted)
    wait_for_run(other)
    # The rows were read after the other run was created and finished: it is filtered out.
    expect(page.locator("#run-rows tr[data-run-id]")).to_have_count(1)
    expect(page.locator("#run-rows")).not_to_contain_text("No run matches")
    expect(search).to_have_value("ORD-1007")
    expect(search).to_be_focused()
    expect(page).to_have_url(re.compile(r"q=ORD-1007"))
    assert moved == []


def slow_order_flow(team: Team) -> Flow:
    """Orders that wait a moment before the email is built: runs stay running a while."""
    return publish(
        team,
        graph(
            node("order", "trigger.webhook", "New order"),
            node("wait", "flow.delay", "Wait", seconds=2),
            node("build", "code.python", "Build email", source=BUILD),
            edges=[edge("order", "wait"), edge("wait", "build")],
        ),
        name="Slow orders",
    )


def shown_ids(page: Page) -> list[int]:
    rows = page.locator("#run-rows tr[data-run-id]")
    return rows.evaluate_all("rows => rows.map((row) => Number(row.dataset.runId))")


def test_the_runs_list_keeps_older_pages_and_drops_a_run_that_leaves_its_status_filter(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    slow = slow_order_flow(team)
    assert slow.live_version is not None
    Run.objects.bulk_create(
        Run(flow=slow, version=slow.live_version, status="succeeded", trigger_kind="webhook")
        for _ in range(55)
    )
    log_in(context, server, team.viewer)
    page.goto("/runs/")
    page.get_by_role("link", name="Older runs").click()
    expect(page.locator("#run-rows tr[data-run-id]")).to_have_count(55)
    older = shown_ids(page)

    run = call_webhook(server, slow, {"order_id": "ORD-3", "email": "ann@example.com"})
    row = page.locator(f'#run-rows tr[data-run-id="{run.pk}"]')
    expect(row.locator(".badge")).to_have_text("Running")
    expect(row.locator(".badge")).to_have_text("Succeeded", timeout=30_000)
    assert shown_ids(page) == [run.pk, *older]  # the second page stays, in order
    expect(page.get_by_role("link", name="Older runs")).to_have_count(0)

    page.locator("form.filters").get_by_label("Status").select_option("running")
    expect(page.locator("#run-rows")).to_contain_text("No run matches these filters.")
    watched = call_webhook(server, slow, {"order_id": "ORD-4", "email": "bo@example.com"})
    row = page.locator(f'#run-rows tr[data-run-id="{watched.pk}"]')
    expect(row.locator(".badge")).to_have_text("Running")
    expect(row).to_have_count(0, timeout=30_000)  # finished: no longer a running run
    expect(page.locator("#run-rows")).to_contain_text("No run matches these filters.")
    assert wait_for_run(watched).status == "succeeded"


def test_the_flows_list_shows_a_webhook_runs_status_as_its_last_run(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    orders = order_flow(team)
    order_flow(team, name="Refunds")
    log_in(context, server, team.viewer)
    page.goto("/")
    search = page.get_by_label("Search flows")
    search.press_sequentially("Orders")
    expect(page).to_have_url(re.compile(r"q=Orders"))
    expect(page.locator("#flow-rows tr")).to_have_count(1)
    last_run = page.locator(f"#flow-{orders.pk} td").nth(2)
    expect(last_run).to_have_text("never run")
    moved = navigations(page)

    run = call_webhook(server, orders, {"order_id": "ORD-1", "email": "ann@example.com"})
    expect(last_run.locator(".status")).to_have_text("succeeded")
    expect(page.locator(f"#flow-{orders.pk} svg.sparkline")).to_have_attribute(
        "aria-label", re.compile(r"^1 run in the last 7 days")
    )
    assert wait_for_run(run).status == "succeeded"
    expect(search).to_have_value("Orders")
    expect(search).to_be_focused()
    expect(page.locator("#flow-rows tr")).to_have_count(1)
    assert moved == []


@pytest.fixture
def own_server(server: Server, tmp_path: Any) -> Iterator[RestartableServer]:
    own = RestartableServer(server.env, tmp_path)
    own.start()
    yield own
    own.stop()


def test_lists_whose_socket_dropped_read_the_runs_they_missed_when_they_reconnect(
    page: Page,
    context: BrowserContext,
    server: Server,
    own_server: RestartableServer,
    team: Team,
    console: ConsoleWatch,
    live_stack: object,
) -> None:
    port = own_server.port
    console.expect_errors(rf"WebSocket connection to 'ws://127\.0\.0\.1:{port}/ws/.*' failed")
    console.expect_errors(rf"ERR_CONNECTION_REFUSED.*\(http://127\.0\.0\.1:{port}/")
    orders = order_flow(team)
    log_in(context, own_server.as_server(), team.editor)
    page.goto(f"{own_server.url}/runs/")
    designer_page = console.watch(context.new_page())
    designer = Designer(designer_page)
    designer_page.goto(f"{own_server.url}/flows/{orders.pk}/")
    designer.wait_ready()
    designer.tab("Runs")
    expect(designer_page.locator(".tb-runs-panel")).to_contain_text("No runs yet")
    lists = page.locator("[data-live-runs]")
    expect(lists).to_have_attribute("data-connection", "open")

    own_server.kill()
    expect(lists).to_have_attribute("data-connection", "lost")
    expect(page.locator("[data-live-state]")).to_have_text("Connection lost: reconnecting…")
    missed = wait_for_run(call_webhook(server, orders, {"order_id": "ORD-2"}))
    assert page.locator(f'[data-run-id="{missed.pk}"]').count() == 0

    own_server.start()
    row = page.locator(f'#run-rows tr[data-run-id="{missed.pk}"]')
    expect(row.locator(".badge")).to_have_text("Failed", timeout=30_000)
    expect(page.locator("[data-live-state]")).to_be_hidden()
    expect(designer_page.locator(f'.tb-runs tr[data-run-id="{missed.pk}"]')).to_be_visible(
        timeout=30_000
    )
    notice = designer_page.locator(f'.tb-run-notice[data-run-id="{missed.pk}"]')
    expect(notice).to_contain_text(f"Run #{missed.pk} (webhook) failed")
