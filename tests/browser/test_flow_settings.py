"""The designer's Flow tab edits the flow's settings: a concurrency limit and its key, and
what happens when a run fails (an error flow, alert emails), saved with the next version,
refused on the field when invalid."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import flow, graph, node, simple_graph
from tests.runtime.helpers import publish

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


def test_the_flow_tab_chooses_an_error_flow_and_alert_emails_beside_the_limit(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    handler = publish(team, graph(node("failed", "trigger.error", "A flow failed")), "Alerts")
    flow(team.editor, team.workspace, "Not a handler", simple_graph())  # not offered
    flow_id = flow(team.editor, team.workspace, "Orders", simple_graph()).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.tab("Flow")
    page.get_by_label("Concurrent runs at most").fill("2")
    picker = page.get_by_label("Error flow")
    expect(picker.locator("option")).to_have_text(["— none —", "Alerts"])
    picker.select_option(label="Alerts")
    emails = page.get_by_label("Alert emails")
    emails.fill("ops@example.com, not-an-address")
    designer.save()
    refusal = page.locator(".tb-flow-settings .tb-field-error")
    expect(refusal).to_contain_text("settings.on_failure.alert.emails.1")
    assert not FlowVersion.objects.filter(flow_id=flow_id, number=2).exists()

    emails.fill("ops@example.com, ada@example.com")
    page.get_by_label("At most one alert every (minutes)").fill("30")
    designer.save()
    designer.expect_saved(2)
    assert FlowVersion.objects.get(flow_id=flow_id, number=2).graph["settings"] == {
        "concurrency": {"limit": 2},
        "on_failure": {
            "flow": handler.pk,
            "alert": {"emails": ["ops@example.com", "ada@example.com"], "quiet_minutes": 30},
        },
    }

    # Reopened, the tab shows what was saved; "none" and no address save no on_failure.
    designer.open(flow_id)
    designer.tab("Flow")
    expect(picker).to_have_value(str(handler.pk))
    expect(emails).to_have_value("ops@example.com, ada@example.com")
    picker.select_option(label="— none —")
    emails.fill("")
    designer.save()
    designer.expect_saved(3)
    assert FlowVersion.objects.get(flow_id=flow_id, number=3).graph["settings"] == {
        "concurrency": {"limit": 2}
    }


def test_the_flow_tab_and_a_step_choose_a_worker_queue_among_the_declared_ones(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    flow_id = flow(team.editor, team.workspace, "Nightly report", simple_graph()).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)
    designer.tab("Flow")
    picker = page.get_by_label("Worker queue")
    expect(picker.locator("option")).to_have_text(
        ["By kind of step (light, io, compute)", "light", "io", "compute"]
    )
    picker.select_option("compute")
    designer.select("shape")
    page.get_by_text("Step settings (timeout, retries)").click()
    step_queue = page.locator("#settings-shape-queue")
    expect(step_queue.locator("option")).to_have_text(["—", "light", "io", "compute"])
    step_queue.select_option("io")
    designer.save()
    designer.expect_saved(2)
    saved = FlowVersion.objects.get(flow_id=flow_id, number=2).graph
    assert saved["settings"] == {"queue": "compute"}
    assert next(n for n in saved["nodes"] if n["id"] == "shape")["settings"] == {"queue": "io"}

    # Back to "by kind": the flow saves without settings.
    designer.tab("Flow")
    picker.select_option("")
    designer.save()
    designer.expect_saved(3)
    assert "settings" not in FlowVersion.objects.get(flow_id=flow_id, number=3).graph
