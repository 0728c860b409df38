"""The flow list: log in, create a flow (it opens in the designer), search, archive."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow
from tests.browser.conftest import Server, log_in, set_server_password
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import flow

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_user_logs_in_creates_a_flow_and_lands_in_the_designer(page: Page, team: Team) -> None:
    set_server_password(team.editor, "a long test password")
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")
    page.get_by_label("Username").fill("eddie")
    page.get_by_label("Password").fill("a long test password")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Flows")).to_be_visible()

    page.get_by_label("Name").fill("Refund requests")
    page.get_by_role("button", name="Create and open").click()

    designer = Designer(page)
    designer.wait_ready()
    created = Flow.objects.get(name="Refund requests")
    assert page.url.endswith(f"/flows/{created.pk}/")
    assert designer.node_ids() == []  # blank: the canvas asks how the flow starts
    expect(page.get_by_test_id("empty-canvas")).to_contain_text("Choose how this flow starts")
    expect(page.get_by_test_id("live-badge")).to_have_text("Not published")
    expect(page.get_by_test_id("editing")).to_have_text("Never saved")
    assert not created.versions.exists()


def test_the_list_searches_with_htmx_and_archives_and_restores_flows(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    orders = flow(team.editor, team.workspace, "Order emails")
    flow(team.editor, team.workspace, "Refunds")
    log_in(context, server, team.editor)
    page.goto("/")
    rows = page.locator("#flow-rows tr")
    expect(rows).to_have_count(2)

    page.get_by_label("Search flows").fill("refu")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Refunds")
    expect(page).to_have_url("/?q=refu")
    page.get_by_label("Search flows").fill("")
    expect(rows).to_have_count(2)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Archive Order emails").click()
    expect(rows).to_have_count(1)
    orders.refresh_from_db()
    assert orders.archived_at is not None

    page.get_by_label("Archived").check()
    expect(rows).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Restore Order emails").click()
    expect(rows).to_have_count(0)
    orders.refresh_from_db()
    assert orders.archived_at is None
