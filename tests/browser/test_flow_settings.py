"""The designer's Flow tab edits the flow's settings: a concurrency limit and its key,
saved with the next version, refused on the field when invalid."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import flow, simple_graph

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_flow_tab_sets_a_concurrency_limit_per_key_and_shows_a_refusal_there(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = flow(team.editor, team.workspace, "Orders", simple_graph()).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.tab("Flow")
    limit = page.get_by_label("Concurrent runs at most")
    key = page.get_by_label("Per key (optional)")
    limit.fill("2")
    key.fill("{{ event.trigger.body.customer_id ")  # unclosed: the server refuses it
    designer.save()
    refusal = page.locator(".tb-flow-settings .tb-field-error")
    expect(refusal).to_contain_text("settings.concurrency.key")
    assert not FlowVersion.objects.filter(flow_id=flow_id, number=2).exists()

    key.fill("{{ event.trigger.body.customer_id }}")
    designer.save()
    designer.expect_saved(2)
    saved = FlowVersion.objects.get(flow_id=flow_id, number=2).graph
    assert saved["settings"] == {
        "concurrency": {"limit": 2, "key": "{{ event.trigger.body.customer_id }}"}
    }

    # Reopened, the tab shows what was saved; clearing the limit saves a flow without one.
    designer.open(flow_id)
    designer.tab("Flow")
    expect(limit).to_have_value("2")
    expect(key).to_have_value("{{ event.trigger.body.customer_id }}")
    limit.fill("")
    designer.save()
    designer.expect_saved(3)
    assert "settings" not in FlowVersion.objects.get(flow_id=flow_id, number=3).graph
