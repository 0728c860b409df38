"""Template completion in any order of work: {{ offers every upstream step's fields before
any test run (from the kind's declared output, from the object a code step returns), picking
one closes the braces, picking a step not connected yet connects it, and a preview under the
field shows what it gives against the test sample."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from designer.models import Flow
from runtime.services import secret_set
from tests.browser.conftest import Server, log_in
from tests.browser.designer import Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node

pytestmark = pytest.mark.django_db(transaction=True)

BUILD = """export async function handler(event, context) {
  const order = event.trigger.body;
  return { to: order.email, subject: `Order ${order.id}`, customer: { name: order.name } };
}
"""


def at(data: dict, x: int, y: int = 0) -> dict:
    return data | {"position": {"x": x, "y": y}}


def order_flow(team: Team, *, connected: bool = True) -> Flow:
    """webhook → build (JavaScript) → notify (email), and webhook → lookup (HTTP) → notify;
    without `connected`, notify stands alone."""
    links = [edge("hook", "build"), edge("hook", "lookup")]
    if connected:
        links += [edge("build", "notify"), edge("lookup", "notify")]
    return flow(
        team.editor,
        team.workspace,
        "Order email",
        graph(
            at(node("hook", "trigger.webhook", "Order placed"), 0),
            at(node("build", "code.javascript", "Build email", source=BUILD), 280, -80),
            at(node("lookup", "http.request", "Look up", url="https://example.com/x"), 280, 120),
            at(
                node("notify", "email.send", "Send", to="x@example.com", subject="Hi", text="-"),
                600,
            ),
            edges=links,
        ),
    )


def suggestions(page: Page) -> Locator:
    return page.get_by_role("listbox", name="Fields you can use").get_by_role("option")


def field_input(designer: Designer, name: str) -> Locator:
    return designer.field(name).locator("input, textarea").first


def test_braces_offer_upstream_fields_before_any_run_and_picking_closes_them(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    log_in(context, server, team.editor)
    designer = Designer(page).open(order_flow(team).pk)
    designer.select("notify")
    to = field_input(designer, "to")
    to.fill("")
    to.press_sequentially("{{")

    offered = suggestions(page)
    paths = offered.evaluate_all("o => o.map(e => e.dataset.path)")
    # Nearest upstream first; the code step's fields come from its return literal, the HTTP
    # step's from its kind's declared output, the webhook's from the request it delivers.
    for path in (
        "event.steps.build.to",
        "event.steps.build.customer.name",
        "event.steps.lookup.status",
        "event.steps.lookup.body",
        "event.trigger.body",
        "event.trigger.headers",
    ):
        assert path in paths, path
    assert paths.index("event.steps.build") < paths.index("event.trigger")
    expect(offered.filter(has_text="event.steps.build").first).to_contain_text(
        "what the code returns"
    )

    # A field's name finds it wherever it is; Enter picks it and closes the braces.
    to.press_sequentially("to")
    expect(offered.first).to_have_attribute("data-path", "event.steps.build.to")
    to.press("Enter")
    expect(to).to_have_value("{{ event.steps.build.to }}")
    # The caret is after the closing braces: typing goes on outside the expression.
    to.press_sequentially(", shop@example.com")
    expect(to).to_have_value("{{ event.steps.build.to }}, shop@example.com")

    # Inside an expression that is already closed, picking does not close it again.
    subject = field_input(designer, "subject")
    subject.fill("Order {{ event.steps.bu }}")
    subject.press("End")
    for _ in range(3):  # before " }}"
        subject.press("ArrowLeft")
    subject.press_sequentially("i")
    expect(offered.first).to_have_attribute("data-path", "event.steps.build")
    subject.press("Tab")
    expect(subject).to_have_value("Order {{ event.steps.build }}")


def test_picking_a_step_not_connected_connects_it_and_a_loop_is_refused(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    log_in(context, server, team.editor)
    designer = Designer(page).open(order_flow(team, connected=False).pk)
    designer.select("notify")
    subject = field_input(designer, "subject")
    subject.fill("")
    subject.press_sequentially("Order {{ event.steps.build.sub")
    pick = suggestions(page).filter(has_text="event.steps.build.subject")
    expect(pick).to_contain_text("not connected: picking it connects it")
    pick.click()
    expect(subject).to_have_value("Order {{ event.steps.build.subject }}")
    expect(page.locator('.react-flow__edge[data-id="build->notify"]')).to_have_count(1)
    expect(designer.field("subject").get_by_role("status")).to_have_text(
        "Connected build to this step."
    )

    # notify now comes after build: build's own templates cannot read it.
    designer.select("lookup")
    url = field_input(designer, "url")
    designer.connect("lookup", "notify")
    designer.select("lookup")
    url.fill("https://example.com/{{ event.steps.notify.to")
    refused = suggestions(page).filter(has_text="event.steps.notify.to")
    expect(refused).to_contain_text("comes after this step")
    refused.click()
    expect(designer.field("url").get_by_role("status")).to_have_text(
        "notify comes after this step: reading it here would make a loop."
    )
    expect(url).to_have_value("https://example.com/{{ event.steps.notify.to")
    expect(page.locator('.react-flow__edge[data-id="notify->lookup"]')).to_have_count(0)


def test_the_preview_shows_the_value_against_the_test_sample(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    secret_set(workspace=team.workspace, name="SHOP_KEY", value="s3cr3t-value", user=team.admin)
    log_in(context, server, team.editor)
    designer = Designer(page).open(order_flow(team).pk)
    order = {"id": 7, "email": "ada@example.com"}
    designer.set_request(order)
    designer.tab("Node")
    designer.select("notify")
    preview = designer.field("subject").get_by_test_id("template-preview")

    designer.type_into(
        "subject", "Order {{ event.trigger.body.id }} to {{ event.trigger.body.email }}"
    )
    expect(preview).to_have_text("Preview: Order 7 to ada@example.com")
    designer.type_into("subject", "Key {{ secrets.SHOP_KEY }}")
    expect(preview).to_have_text("Preview: Key \u2039secret SHOP_KEY\u203a")
    designer.type_into("subject", "To {{ event.steps.build.to }}")
    expect(preview).to_have_text(
        "Preview fails: event.steps.build has no output yet: run a test to see its value"
    )
    designer.type_into("subject", "{{ event.trigger.body.phone }}")
    expect(preview).to_contain_text("no field 'phone' here")
    assert "s3cr3t-value" not in page.content()
