"""Waits drawn in the designer: "Wait for event" comes from the palette, its form names the
event and the field that must match, the test run pauses there (waiting, live on the
canvas) and goes on along "received" when the matching event is emitted; an "Approval"
gets its approvers, message and timeout from its form and shows its three outputs."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from designer.models import Flow, FlowVersion
from runtime.models import Run
from runtime.triggers.events import emit
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.runtime.helpers import manual, start
from tests.stack import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


def open_new_flow(
    page: Page, context: BrowserContext, server: Server, team: Team, name: str
) -> tuple[Flow, Designer]:
    """A flow of one manual trigger, opened in the designer by its editor."""
    start = node("start", "trigger.manual", "Start") | {"position": {"x": 0, "y": 0}}
    created = flow(team.editor, team.workspace, name, graph(start))
    log_in(context, server, team.editor)
    return created, Designer(page).open(created.pk)


def test_a_wait_from_the_palette_pauses_the_test_run_until_its_event(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    orders, designer = open_new_flow(page, context, server, team, "Orders")
    wait = designer.drag_from_palette("flow.wait", 380, 60)
    after = designer.drag_from_palette("data.transform", 700, 60)
    designer.connect("start", wait)
    designer.connect(wait, after, "received")
    designer.set_payload({"id": 41})
    designer.select(wait)
    designer.type_into("event_type", "payment.received")
    designer.type_into("match_field", "order_id")
    designer.type_into("match_value", "{{ event.trigger.id }}")
    designer.select(after)
    designer.type_code("value", '"paid"')

    designer.tab("Test run")
    designer.run_test()  # saves first, then runs
    designer.expect_status(wait, "waiting")
    saved = FlowVersion.objects.filter(flow=orders).latest("number").graph
    (wait_node,) = [n for n in saved["nodes"] if n["type"] == "flow.wait"]
    assert wait_node["config"] == {
        "event_type": "payment.received",
        "match_field": "order_id",
        "match_value": "{{ event.trigger.id }}",
    }
    expect(designer.node(after).locator(".tb-node")).not_to_have_attribute(
        "data-status", "succeeded"
    )

    emit("payment.received", {"order_id": 40}, workspaces=[team.workspace])  # another order
    emit("payment.received", {"order_id": 41}, workspaces=[team.workspace])
    designer.expect_status(wait, "succeeded")
    designer.expect_status(after, "succeeded")
    run = Run.objects.get(flow=orders)
    assert run.steps.get(node_id=wait).output["event"]["payload"] == {"order_id": 41}


def test_an_approval_from_the_palette_saves_its_approvers_and_message(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    orders, designer = open_new_flow(page, context, server, team, "Big orders")
    approve = designer.drag_from_palette("flow.approval", 380, 60)
    designer.connect("start", approve)
    designer.select(approve)
    designer.field("roles").get_by_label("admin").check()
    designer.type_into("message", "Order {{ event.trigger.id }}: ship it?")
    designer.type_into("timeout_seconds", "3600")
    for handle in ("approved", "rejected", "timed_out"):
        expect(
            designer.node(approve).locator(f'.react-flow__handle[data-handleid="{handle}"]')
        ).to_have_count(1)
    designer.save("Ask before shipping")
    designer.expect_saved(2)
    saved = FlowVersion.objects.filter(flow=orders).latest("number").graph
    (approval,) = [n for n in saved["nodes"] if n["type"] == "flow.approval"]
    assert approval["config"] == {
        "roles": ["admin"],
        "message": "Order {{ event.trigger.id }}: ship it?",
        "timeout_seconds": 3600,
    }


def test_the_run_page_draws_the_edges_leaving_a_waits_named_outputs(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: object
) -> None:
    run = start(
        team,
        manual(
            node("wait", "flow.wait", "Wait for payment", timeout_seconds=1),
            node("paid", "data.transform", "Paid", value=1),
            node("late", "data.transform", "Late", value=2),
            edges=[
                edge("start", "wait"),
                edge("wait", "paid", "received"),
                edge("wait", "late", "timed_out"),
            ],
        ),
    )
    wait_for_run(run)
    log_in(context, server, team.editor)
    page.goto(f"/runs/{run.pk}/")
    for target, handle in (("paid", "received"), ("late", "timed_out")):
        expect(page.locator(f'.react-flow__edge[data-id="wait->{target}:{handle}"]')).to_have_count(
            1
        )
        expect(
            page.locator(f'.react-flow__node[data-id="wait"] [data-handleid="{handle}"]')
        ).to_have_count(1)
