"""A real loop, watched live: a designer test run of a for-each whose body waits a second
per item, 3 at a time, shows its progress counting up on the canvas while the worker runs
it, ends with every item accounted for (one failed, collected by the `continue` policy), and
the run page lists the failed item."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from runtime.models import Run
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.stack import Stack, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

ITEMS = 9


def at(data: dict, x: int, y: int = 0) -> dict:
    return data | {"position": {"x": x, "y": y}}


def loop_flow() -> dict:
    """start → loop (3 at a time, continue; body: wait 1 s → double, item 4 fails) → count."""
    wait = node("wait", "flow.delay", "Wait", seconds=1)
    double = node(
        "double", "data.transform", "Double", value="{{ item * 2 if item != 4 else nope.x }}"
    )
    return graph(
        at(node("start", "trigger.manual", "Start"), 0),
        at(
            node(
                "loop",
                "flow.foreach",
                "Each item",
                items="{{ event.trigger.items }}",
                concurrency=3,
                on_item_failure="continue",
            ),
            260,
        ),
        wait | {"parent": "loop", "position": {"x": 20, "y": 60}},
        double | {"parent": "loop", "position": {"x": 260, "y": 60}},
        at(node("count", "data.transform", "Count", value="{{ event.steps.loop | length }}"), 900),
        edges=[edge("start", "loop"), edge("wait", "double"), edge("loop", "count")],
    )


def test_a_running_loops_progress_counts_up_on_the_canvas_and_ends_complete(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow(team.editor, team.workspace, "Loop", loop_flow()).pk)
    designer.set_payload({"items": list(range(ITEMS))})
    designer.run_test()

    label = designer.node("loop").locator("[data-progress]")
    # While it runs: some items done, not all (3 at a time, a second each: ~3 s of this).
    expect(label).to_have_text(re.compile(rf"^[1-8]/{ITEMS}\b"), timeout=60_000)
    expect(label).to_have_text(f"{ITEMS}/{ITEMS} · 1 failed", timeout=60_000)
    designer.expect_status("count", "succeeded")

    run = wait_for_run(Run.objects.filter(flow__name="Loop", scope="").latest("id"))
    assert run.status == "succeeded"
    results = run.steps.get(node_id="loop").output
    assert results[:4] == [0, 2, 4, 6] and results[5:] == [10, 12, 14, 16]
    assert results[4]["index"] == 4 and "nope" in results[4]["error"]
    assert run.steps.get(node_id="count").output == ITEMS

    page.goto(f"/runs/{run.pk}/")
    loop = page.locator('[data-step="loop"]')
    expect(loop.locator("[data-progress-text]")).to_have_text(f"{ITEMS}/{ITEMS} done, 1 failed")
    loop.get_by_role("link", name="Failed (1)").click()
    expect(loop.locator("[data-items] tbody tr")).to_have_count(1)
    expect(loop.locator("[data-items] tbody tr").first).to_have_attribute("data-item", "4")
