"""What the server refuses shows where it belongs: on the node, on the field, or in a banner."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)


def test_validation_errors_appear_on_the_nodes_and_fields_they_concern(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    flow_id = flow(team.editor, team.workspace, "Invalid", graph(start)).pk
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow_id)

    email = designer.drag_from_palette("email.send", 450, 250)
    designer.connect("start", email)
    designer.select(email)
    designer.type_into("to", "{{ event.trigger.email }}")
    designer.save()

    banner = page.get_by_role("alert").filter(has_text="Nothing was saved")
    expect(banner).to_be_visible()
    expect(designer.node(email).locator(".tb-node")).to_have_class(css_class("tb-invalid"))
    expect(designer.node(email).locator(".tb-problem")).to_be_visible()
    expect(designer.field("subject")).to_have_class(css_class("tb-field-has-error"))
    required = designer.field("subject").locator(".tb-field-error")
    expect(required).to_have_text("This field is required.")
    expect(page.locator(".tb-node-errors")).to_contain_text("Write a text body, an HTML body")

    # Editing the node clears its outline until the next save; a broken template is
    # reported on its own field.
    designer.type_into("subject", "Hello")
    expect(designer.node(email).locator(".tb-node")).not_to_have_class(css_class("tb-invalid"))
    designer.type_into("text", "Your order")
    designer.type_into("to", "{{ event.trigger.email ")
    designer.save()
    expect(designer.field("to")).to_have_class(css_class("tb-field-has-error"))
    expect(designer.field("to").locator(".tb-field-error")).not_to_be_empty()
    expect(designer.node(email).locator(".tb-node")).to_have_class(css_class("tb-invalid"))
    assert not FlowVersion.objects.filter(flow_id=flow_id, number=2).exists()

    # A problem that belongs to no node (no trigger left) goes to the banner.
    designer.select("start")
    page.keyboard.press("Delete")
    designer.save()
    expect(banner).to_contain_text("A flow needs at least one trigger node")

    # Undo brings the trigger back; with the template fixed, it saves.
    page.keyboard.press("Control+z")
    expect(designer.node("start")).to_have_count(1)
    designer.select(email)
    designer.type_into("to", "{{ event.trigger.email }}")
    designer.save()
    designer.expect_saved(2)


def css_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")
