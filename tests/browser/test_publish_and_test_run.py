"""Publishing asks first and shows the live version; a test run shows each node's status."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from runtime.models import Run
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.fakes import FakeApi

pytestmark = pytest.mark.django_db(transaction=True)

TOTAL = "{{ event.trigger.total }}"
IS_BIG = "event.steps.shape.total > 100"


def routed_flow(team: Team, fake_api: FakeApi) -> Flow:
    def at(data: dict, x: int, y: int) -> dict:
        return data | {"position": {"x": x, "y": y}}

    return flow(
        team.editor,
        team.workspace,
        "Big orders",
        graph(
            at(node("start", "trigger.manual", "Start", sample={"total": 1}), 0, 0),
            at(node("shape", "data.transform", "Shape", value={"total": TOTAL}), 260, 0),
            at(node("big", "logic.branch", "Big?", condition=IS_BIG), 520, 0),
            at(
                node(
                    "notify",
                    "http.request",
                    "Notify",
                    method="POST",
                    url=f"{fake_api.url}/echo",
                    body='{"total": {{ event.steps.shape.total }}}',
                ),
                780,
                -80,
            ),
            at(node("small", "data.transform", "Small", value="small"), 780, 100),
            edges=[
                edge("start", "shape"),
                edge("shape", "big"),
                edge("big", "notify", "true"),
                edge("big", "small", "false"),
            ],
        ),
    )


def test_publish_asks_first_then_shows_the_live_version(
    page: Page, context: BrowserContext, server: Server, team: Team, fake_api: FakeApi
) -> None:
    orders = routed_flow(team, fake_api)
    log_in(context, server, team.editor)
    Designer(page).open(orders.pk)
    expect(page.get_by_test_id("live-badge")).to_have_text("Not published")
    page.get_by_role("button", name="Publish", exact=True).click()
    dialog = page.get_by_test_id("publish-dialog")
    expect(dialog).to_contain_text("Publish version 1?")
    dialog.get_by_role("button", name="Cancel").click()
    orders.refresh_from_db()
    assert orders.live_version is None

    page.get_by_role("button", name="Publish", exact=True).click()
    dialog.get_by_role("button", name="Publish v1").click()
    expect(page.get_by_test_id("live-badge")).to_have_text("Live: v1")
    orders.refresh_from_db()
    assert orders.live_version is not None
    assert orders.live_version.number == 1


def test_a_test_run_shows_each_nodes_status_output_and_saves_first_when_asked(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    fake_api: FakeApi,
    live_stack: object,
) -> None:
    orders = routed_flow(team, fake_api)
    log_in(context, server, team.editor)
    designer = Designer(page).open(orders.pk)

    designer.set_payload({"total": 150})
    designer.run_test()
    for node_id, status in [
        ("shape", "succeeded"),
        ("big", "succeeded"),
        ("notify", "succeeded"),
        ("small", "skipped"),
    ]:
        designer.expect_status(node_id, status)
    expect(page.get_by_test_id("run-status")).to_have_text("succeeded")
    assert fake_api.hits["/echo"] == 1
    run = Run.objects.get(flow=orders)
    assert (run.is_test, run.version.number, run.input) == (True, 1, {"total": 150})

    designer.select("notify")
    expect(page.get_by_test_id("step-output")).to_contain_text('"path": "/echo"')

    # With unsaved changes, the run button says it saves them first, then runs the new version.
    designer.select("small")
    designer.type_into("name", "Small order")
    designer.set_payload({"total": 5})
    expect(page.get_by_test_id("run-test")).to_have_text("Save and run test")
    designer.run_test()
    designer.expect_status("small", "succeeded")
    designer.expect_status("notify", "skipped")
    expect(page.get_by_test_id("editing")).to_have_text("Editing v2")
    latest = Run.objects.filter(flow=orders).latest("id")
    assert latest.version.number == 2
    orders.refresh_from_db()
    assert orders.live_version is None  # testing never publishes
