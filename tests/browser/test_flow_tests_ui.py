"""Flow tests in the browser: a run saved as a test from its page (its refusals shown beside
the field they name, what was typed kept), a draft that breaks it shown as failing in the
designer, publishing it refused with the failing case named — an editor cannot go on, an
admin publishes anyway with a reason — and the reason in the versions page's audit trail;
on the versions page itself, the same refusal and override."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from designer.models import Flow, FlowEvent
from designer.services import flow_version_save
from runtime.models import FlowTest, Run
from runtime.replay import flowtests
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.browser.test_replay import order_email, published_with_runs
from tests.conftest import Team
from tests.fakes import FakeApi
from tests.stack import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

BREAKING = "Hello {{ event.trigger.id }}"


def step_fieldset(page: Page, node_id: str) -> Locator:
    return page.locator(f'#save-test fieldset[data-expect="{node_id}"]')


def save_as_test(page: Page, run: Run, name: str) -> None:
    """On the run page: expect the email's subject (what it sends) and the POST's status."""
    page.goto(f"/runs/{run.pk}/")
    page.locator("#save-test summary").click()
    page.get_by_label("Name").fill(name)
    mail = step_fieldset(page, "mail")
    mail.get_by_label("What to expect").select_option(label="what it sends contains")
    expected = mail.get_by_label("Expected value (JSON)")
    expect(expected).to_have_value(re.compile(rf'"subject": "Order {run.input["id"]}"'))
    expected.fill(json.dumps({"subject": f"Order {run.input['id']}"}))
    notify = step_fieldset(page, "notify")
    notify.get_by_label("What to expect").select_option(label="status")
    expect(notify.get_by_label("Expected status")).to_have_value("succeeded")
    page.locator("#save-test").get_by_role("button", name="Save as test").click()


def test_a_run_saved_as_a_test_holds_back_a_breaking_draft_until_an_admin_says_why(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: object,
    fake_api: FakeApi,
) -> None:
    orders = published_with_runs(team, fake_api, 2)
    run = Run.objects.filter(flow=orders).order_by("id").last()
    assert run is not None
    log_in(context, server, team.editor)

    # A step that sends nothing offers no "what it sends" check.
    page.goto(f"/runs/{run.pk}/")
    page.locator("#save-test summary").click()
    start_checks = step_fieldset(page, "start").get_by_label("What to expect")
    expect(start_checks.locator("option")).to_have_count(4)
    save_as_test(page, run, "order one")
    expect(page.get_by_role("status").filter(has_text="Saved as test")).to_contain_text(
        "Saved as test “order one”"
    )
    [kept] = FlowTest.objects.filter(flow=orders)
    assert kept.expectations == [
        {"node": "notify", "check": "status", "value": "succeeded"},
        {"node": "mail", "check": "subset", "value": {"subject": "Order 1"}, "on": "sent"},
    ]

    # Refused: beside the field it names, with what was typed kept.
    save_as_test(page, run, "order one")
    name_error = page.locator("#test-name-error")
    expect(name_error).to_have_text("This flow already has a test named 'order one'.")
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(step_fieldset(page, "mail").get_by_label("Expected value (JSON)")).to_have_value(
        '{"subject": "Order 1"}'
    )
    # A value that is not JSON is refused before anything is sent.
    step_fieldset(page, "mail").get_by_label("Expected value (JSON)").fill("{subject")
    page.locator("#save-test").get_by_role("button", name="Save as test").click()
    expect(step_fieldset(page, "mail").locator('[data-error-for="value"]')).to_contain_text(
        "This is not JSON"
    )
    assert FlowTest.objects.filter(flow=orders).count() == 1

    # The editor breaks the subject in the designer: the tests run after the save and fail.
    designer = Designer(page).open(orders.pk)
    designer.select("mail")
    designer.type_into("subject", BREAKING)
    designer.save()
    designer.expect_saved(2)
    status = page.get_by_test_id("tests-status")
    expect(status).to_have_text("Tests: 1 failing", timeout=60_000)
    status.click()
    case = page.locator('.tb-tests-popover [data-test-case="order one"]')
    expect(case).to_contain_text("failed")
    expect(case).to_contain_text('Expected a value containing {"subject": "Order 1"}')

    publish(page, 2)
    refused = page.get_by_test_id("tests-refused-dialog")
    expect(refused).to_contain_text("fails 1 of its flow's tests (order one)")
    expect(refused.locator('[data-test-case="order one"]')).to_contain_text("mail")
    expect(refused.get_by_role("button", name="Publish anyway")).to_have_count(0)
    refused.get_by_role("button", name="Close").click()
    orders.refresh_from_db()
    assert orders.live_version is not None and orders.live_version.number == 1

    # An admin may publish it anyway, with a reason.
    log_in(context, server, team.admin)
    designer.open(orders.pk)
    publish(page, 2)
    refused = page.get_by_test_id("tests-refused-dialog")
    refused.get_by_role("button", name="Publish anyway").click()
    expect(refused.locator("#override-reason-error")).to_be_visible()  # the reason is required
    refused.get_by_label("Why publish it anyway?").fill("Marketing wants Hello")
    refused.get_by_role("button", name="Publish anyway").click()
    expect(page.get_by_test_id("live-badge")).to_have_text("Live: v2")

    page.goto(f"/flows/{orders.pk}/versions/")
    override = page.locator(".events [data-tests-overridden]")
    expect(override).to_have_count(1)
    expect(override).to_contain_text("Reason: “Marketing wants Hello”")
    expect(override).to_contain_text("(order one)")
    expect(page.locator('#version-rows tr[data-version="2"]')).to_contain_text("Tests: 1 failing")


def publish(page: Page, number: int) -> None:
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_test_id("publish-dialog").get_by_role("button", name=f"Publish v{number}").click()


def test_the_versions_page_refuses_a_failing_version_and_an_admin_publishes_it_with_a_reason(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    live_stack: object,
    fake_api: FakeApi,
) -> None:
    orders: Flow = published_with_runs(team, fake_api, 1)
    run = Run.objects.get(flow=orders)
    flowtests.test_create(
        run=run,
        name="subject kept",
        expectations=[
            {"node": "mail", "on": "sent", "check": "subset", "value": {"subject": "Order 0"}}
        ],
        user=team.editor,
    )
    good = flow_version_save(
        flow=orders,
        user=team.editor,
        graph=order_email(fake_api, "Order {{ event.trigger.id }}"),
        based_on=1,
    )
    broken = flow_version_save(
        flow=orders, user=team.editor, graph=order_email(fake_api, BREAKING), based_on=2
    )
    log_in(context, server, team.admin)
    page.goto(f"/flows/{orders.pk}/versions/")
    rows = page.locator("#version-rows")
    # Each tested version's tests, read again until they settle.
    expect(rows.locator(f'tr[data-version="{good.number}"]')).to_contain_text(
        "Tests: 1 of 1 passed", timeout=60_000
    )
    expect(rows.locator(f'tr[data-version="{broken.number}"]')).to_contain_text(
        "Tests: 1 failing", timeout=60_000
    )
    expect(rows.locator('tr[data-version="1"]')).to_contain_text("Tests not run on this version")

    page.once("dialog", lambda dialog: dialog.accept())
    rows.get_by_role("button", name=f"Publish v{broken.number}").click()
    refusal = rows.locator(f'.refusal[data-refused="{broken.number}"]')
    expect(refusal).to_contain_text("fails 1 of its flow's tests (subject kept)")
    expect(refusal.locator('[data-test-case="subject kept"]')).to_contain_text(
        'Expected a value containing {"subject": "Order 0"}'
    )
    refusal.get_by_label(f"Why publish v{broken.number} anyway?").fill("A hotfix, tests next")
    refusal.get_by_role("button", name=f"Publish anyway v{broken.number}").click()
    expect(page.locator(".page-head .badge.live")).to_have_text(f"Live: v{broken.number}")
    expect(page.locator(".events [data-tests-overridden]")).to_contain_text(
        "Reason: “A hotfix, tests next”"
    )
    event = wait_until(
        lambda: FlowEvent.objects.filter(flow=orders, to_version=broken.number).first(),
        "the publish event",
    )
    assert event.detail["tests_overridden"] == "A hotfix, tests next"
