"""A 300-node flow opens and fits without errors (timed, not asserted: CI machines vary)."""

from __future__ import annotations

import logging
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_300_node_flow_opens_without_errors(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    nodes = [node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}]
    edges = []
    for index in range(1, 300):
        nodes.append(
            node(f"step_{index}", "data.transform", f"Step {index}", value=index)
            | {"position": {"x": 260 * (index // 20 + 1), "y": 100 * (index % 20)}}
        )
        edges.append(edge("start" if index <= 20 else f"step_{index - 20}", f"step_{index}"))
    big = flow(team.editor, team.workspace, "Big", graph(*nodes, edges=edges))
    log_in(context, server, team.editor)

    began = time.monotonic()
    Designer(page).open(big.pk)
    expect(page.locator(".react-flow__minimap-node")).to_have_count(300)
    opened = time.monotonic() - began
    page.get_by_role("button", name="Auto-layout").click()
    expect(page.locator(".react-flow__node").first).to_be_visible()
    laid_out = time.monotonic() - began - opened
    logging.getLogger(__name__).warning(
        "300 nodes: opened in %.2f s, auto-layout in %.2f s", opened, laid_out
    )
