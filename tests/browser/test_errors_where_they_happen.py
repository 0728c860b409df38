"""Errors are explained where they happen: a refused connection says why where the drag
ended, code is checked as it is typed (line and column, in the gutter and under the editor),
and a failed step's message is on its node and at the top of its panel."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Server, log_in
from tests.browser.designer import OUTPUT, Designer
from tests.conftest import Team
from tests.factories import edge, flow, graph, node
from tests.stack import Stack

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_JS = "export async function handler(event, context) {\n  return { ok: true };\n}\n"
BAD_JS = "export async function handler(event, context) {\n  const order = ;\n}\n"
GOOD_PY = "def handler(event, context):\n    return {'ok': True}\n"
BAD_PY = "def handler(event, context):\n    total = = 1\n    return total\n"
# The address comes from the sample: the email step fails on it, and sends nothing.
BUILD = """export async function handler(event, context) {
  return { to: event.trigger.email, subject: "Order " + event.trigger.id };
}
"""


def at(data: dict, x: int, y: int = 0) -> dict:
    return data | {"position": {"x": x, "y": y}}


def input_of(node_id: str) -> str:
    return f'.react-flow__node[data-id="{node_id}"] .react-flow__handle.target'


def drag_to(page: Page, designer: Designer, source: str, target_selector: str) -> None:
    """Drag from the source's output handle and let go over the target element's centre."""
    start = designer.node(source).locator(OUTPUT).bounding_box()
    end = page.locator(target_selector).bounding_box()
    assert start and end
    mouse = page.mouse
    mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    mouse.down()
    mouse.move(end["x"] - 30, end["y"] + end["height"] / 2, steps=6)
    mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=4)
    mouse.up()


def test_a_refused_connection_says_why_where_the_drag_ended(
    page: Page, context: BrowserContext, server: Server, team: Team
) -> None:
    chain = graph(
        at(node("start", "trigger.manual", "Start"), 0),
        at(node("first", "data.transform", "First", value=1), 280),
        at(node("second", "data.transform", "Second", value=2), 560),
        edges=[edge("start", "first"), edge("first", "second")],
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow(team.editor, team.workspace, "Chain", chain).pk)
    refusal = page.get_by_test_id("connect-refusal")

    drag_to(page, designer, "second", input_of("first"))
    expect(refusal).to_have_text("That would make a loop: first already leads to second.")
    expect(refusal).to_have_attribute("role", "status")
    drag_to(page, designer, "second", '.react-flow__node[data-id="start"] .tb-name')
    expect(refusal).to_have_text("Triggers have no inputs: a flow starts at its trigger.")
    drag_to(page, designer, "start", input_of("first"))
    expect(refusal).to_have_text("Already connected: start → first.")
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    expect(refusal).to_have_count(0, timeout=8000)  # it goes away by itself


@pytest.mark.parametrize(
    ("kind", "good", "bad", "expected", "line"),
    [
        (
            "code.javascript",
            GOOD_JS,
            BAD_JS,
            "SyntaxError on line 2, column 17: Unexpected token ';'",
            2,
        ),
        ("code.python", GOOD_PY, BAD_PY, "SyntaxError on line 2, column 13: invalid syntax", 2),
    ],
)
def test_code_is_checked_as_it_is_typed_with_line_and_column(
    page: Page,
    context: BrowserContext,
    server: Server,
    team: Team,
    kind: str,
    good: str,
    bad: str,
    expected: str,
    line: int,
) -> None:
    code = graph(
        at(node("start", "trigger.manual", "Start"), 0),
        at(node("code", kind, "Code", source=good), 280),
        edges=[edge("start", "code")],
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow(team.editor, team.workspace, "Code", code).pk)
    designer.select("code")
    problems = designer.field("source").get_by_test_id("code-problems")
    expect(problems).to_be_empty()

    designer.type_code("source", bad)
    expect(problems).to_have_text(expected)
    error = problems.locator(".tb-field-error")
    expect(error).to_have_attribute("data-line", str(line))
    # The gutter marks the line; the spot itself is underlined.
    gutter = designer.field("source").locator(".cm-gutter-lint .cm-gutterElement")
    expect(gutter.filter(has=page.locator(".cm-lint-marker-error"))).to_have_count(1)
    expect(designer.field("source").locator(".cm-lintRange-error")).to_have_count(1)
    expect(page.get_by_test_id("editing")).to_contain_text("unsaved changes")  # nothing saved

    designer.type_code("source", good)
    expect(problems).to_be_empty()
    expect(designer.field("source").locator(".cm-lint-marker-error")).to_have_count(0)


def test_a_failed_steps_message_is_on_its_node_and_at_the_top_of_its_panel(
    page: Page, context: BrowserContext, server: Server, team: Team, live_stack: Stack
) -> None:
    order = graph(
        at(node("start", "trigger.manual", "Start"), 0),
        at(node("build", "code.javascript", "Build", source=BUILD), 280),
        at(
            node(
                "notify",
                "email.send",
                "Send",
                to="{{ event.steps.build.to }}",
                subject="{{ event.steps.build.subject }}",
                text="Thanks",
            ),
            560,
        ),
        edges=[edge("start", "build"), edge("build", "notify")],
    )
    log_in(context, server, team.editor)
    designer = Designer(page).open(flow(team.editor, team.workspace, "Orders", order).pk)
    designer.set_payload({"id": 7, "email": "not-an-address"})
    designer.run_test()
    designer.expect_status("notify", "failed", timeout=60_000)

    message = "'not-an-address' in 'to' is not an email address."
    on_node = designer.node("notify").locator(".tb-node-error")
    expect(on_node).to_have_text(message)
    expect(on_node).to_have_attribute("title", message)
    designer.select("notify")
    panel = page.locator(".tb-node-panel")
    failure = panel.get_by_test_id("step-failure")
    expect(failure).to_have_text(f"This step failed: {message}")
    # It comes before the form: the first thing under the node's name.
    heading_box = panel.locator(".tb-panel-head").bounding_box()
    failure_box = failure.bounding_box()
    form_box = designer.field("to").bounding_box()
    assert heading_box and failure_box and form_box
    assert heading_box["y"] < failure_box["y"] < form_box["y"]
    # The step that ran feeds the preview now: the field shows what the run used.
    expect(designer.field("to").get_by_test_id("template-preview")).to_have_text(
        "Preview: not-an-address"
    )
