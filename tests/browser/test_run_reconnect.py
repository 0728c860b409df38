"""An open run page survives its web server going away mid-run: the websocket drops, the
page says it is reconnecting, the run finishes meanwhile, and when the server is back (same
port) the page reconnects and shows the finished run, without a reload.

This module runs its own `manage.py serve` so that it can kill and restart it; the
package's server and worker keep running (the worker finishes the run while the page's
server is down).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run
from runtime.triggers.webhook import kind as webhook
from tests.browser.conftest import ConsoleWatch, Server, log_in
from tests.browser.restartable import RestartableServer
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish
from tests.stack import Stack, wait_for_run, wait_for_step

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough that the page is open and its server killed before the delay ends.
DELAY_SECONDS = 8
RESERVE = (
    "def handler(event, context):\n"
    "    print('reserved', event['trigger']['body']['sku'])\n"
    "    return {'reserved': event['trigger']['body']['sku']}\n"
)


@pytest.fixture(scope="module")
def own_server(
    server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RestartableServer]:
    """Beside the package's server, on the same database, broker and collected static."""
    own = RestartableServer(server.env, tmp_path_factory.mktemp("own-server"))
    own.start()
    yield own
    own.stop()


def slow_order_flow(team: Team) -> Flow:
    return publish(
        team,
        graph(
            node("order", "trigger.webhook", "New order"),
            node("wait", "flow.delay", "Wait for stock", seconds=DELAY_SECONDS),
            node("reserve", "code.python", "Reserve stock", source=RESERVE),
            edges=[edge("order", "wait"), edge("wait", "reserve")],
        ),
    )


def status_of(page: Page, node_id: str) -> str | None:
    return page.locator(f'[data-node-id="{node_id}"]').get_attribute("data-status")


def test_the_open_run_page_reconnects_after_its_server_restarts_and_shows_the_finished_run(
    page: Page,
    context: BrowserContext,
    server: Server,
    own_server: RestartableServer,
    team: Team,
    live_stack: Stack,
    console: ConsoleWatch,
) -> None:
    # While the server is down the browser's reconnect attempts fail, loudly.
    port = own_server.port
    console.expect_errors(
        rf"WebSocket connection to 'ws://127\.0\.0\.1:{port}/ws/runs/\d+/' failed"
    )
    console.expect_errors(rf"ERR_CONNECTION_REFUSED.*\(http://127\.0\.0\.1:{port}/")
    log_in(context, own_server.as_server(), team.editor)
    flow = slow_order_flow(team)
    token = webhook.endpoint_for(flow, "order").token
    answer = httpx.post(f"{server.url}/hooks/{token}", json={"sku": "MUG-1"}, timeout=10)
    assert answer.status_code == 202, answer.text
    run = Run.objects.get(pk=answer.json()["run_id"])
    wait_for_step(run, "wait", StepStatus.WAITING)

    page.goto(f"{own_server.url}/runs/{run.pk}/")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    root = page.locator("#run")
    expect(root).to_have_attribute("data-connection", "open")
    expect(page.locator('[data-node-id="wait"]')).to_have_attribute("data-status", "waiting")
    # What the page still loads (the step catalog, the icon) must not be cut by the kill:
    # that would be a reset the test did not mean to cause.
    page.wait_for_load_state("networkidle")

    own_server.kill()
    expect(root).to_have_attribute("data-connection", "lost")
    expect(page.locator("[data-live-state]")).to_have_text("Connection lost: reconnecting…")
    finished = wait_for_run(run, timeout=DELAY_SECONDS + 30)
    assert finished.status == RunStatus.SUCCEEDED
    # The run is over, but nothing could tell this page: it still shows the old state.
    assert status_of(page, "reserve") == "pending"
    expect(page.locator("[data-run-status]")).to_have_text("Running")

    own_server.start()
    expect(page.locator('[data-node-id="reserve"]')).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    expect(page.locator('[data-node-id="wait"]')).to_have_attribute("data-status", "succeeded")
    expect(page.locator("[data-run-status]")).to_have_text("Succeeded")
    expect(page.locator("[data-done]")).to_have_text("3")
    expect(page.locator("[data-live-state]")).to_be_hidden()
    reserve = page.locator('[data-step="reserve"]')
    expect(reserve.locator("[data-step-output]")).to_contain_text('"reserved": "MUG-1"')
    expect(reserve.locator("[data-step-logs]")).to_have_text("reserved MUG-1")
    expect(page.get_by_role("button", name="Re-run")).to_be_visible()
    assert navigations == []  # no reload: the page reconnected by itself
