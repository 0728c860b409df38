"""A flow calls another flow from the designer: the picker offers the flows that can be
called, the input form is generated from the callee's declared fields, and the test run
shows the callee's output and links parent and child runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import FlowVersion
from runtime.models import Run
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.runtime.helpers import publish

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER_ID = {
    "name": "customer_id",
    "type": "string",
    "required": True,
    "description": "The CRM id of the customer",
}


def test_a_flow_calls_a_flow_picked_from_the_list_with_a_generated_input_form(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    callee = graph(
        node("called", "trigger.called", "When called", fields=[CUSTOMER_ID]),
        node("find", "data.transform", "Find", value={"found": "{{ event.trigger.customer_id }}"}),
        edges=[edge("called", "find")],
    )
    lookup = publish(team, callee, name="Look up customer")
    flow(team.editor, team.workspace, "Draft lookup", graph_data=callee)  # never published
    caller = flow(
        team.editor,
        team.workspace,
        "Orders",
        graph(node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}),
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(caller.pk)
    step = designer.drag_from_palette("flow.call", 420, 120)
    designer.connect("start", step)
    designer.set_payload({"customer": "c-42"})  # what templates complete from
    designer.tab("Node")  # the new step is still selected

    picker = designer.field("flow").locator("select")
    expect(picker.locator("option", has_text="Look up customer")).to_have_count(1)
    options = picker.locator("option").all_inner_texts()
    assert not any(text.startswith(("Draft lookup", "Orders")) for text in options), options
    picker.select_option(label="Look up customer")

    form = designer.field("input")
    customer = form.get_by_label("customer_id (string) *")
    expect(form.get_by_role("alert")).to_have_text("Look up customer requires customer_id.")
    expect(form).to_contain_text("The CRM id of the customer")
    expect(form.get_by_role("button", name="Add")).to_have_count(0)  # only declared fields
    customer.click()
    customer.type("{{ event.trigger.cust")
    expect(page.locator(".tb-suggestions")).to_contain_text("event.trigger.customer")
    page.keyboard.press("Enter")
    expect(customer).to_have_value("{{ event.trigger.customer }}")
    expect(form.get_by_role("alert")).to_have_count(0)

    designer.tab("Test run")
    designer.run_test()  # saves first, then runs
    designer.expect_status(step, "succeeded")
    saved = FlowVersion.objects.filter(flow=caller).latest("number").graph
    (call_node,) = [n for n in saved["nodes"] if n["type"] == "flow.call"]
    assert call_node["config"]["flow"] == lookup.pk
    assert call_node["config"]["input"] == {"customer_id": "{{ event.trigger.customer }}"}
    designer.tab("Node")
    expect(page.get_by_test_id("step-output")).to_contain_text('"found": "c-42"')

    run = Run.objects.get(flow=caller)
    child = Run.objects.get(parent_step__run=run)
    page.goto(f"/runs/{run.pk}/")
    page.locator("[data-run-children]").get_by_role("link", name=f"run #{child.pk}").click()
    expect(page.locator("[data-run-parent]")).to_contain_text(f"Called by Orders run #{run.pk}")
