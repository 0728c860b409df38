"""Every rule of the graph contract, one test each, each naming the node it blames."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from designer.graph import GraphInvalid, Problem
from designer.services import graph_validate
from tests.factories import edge, graph, node

TRIGGER = node("start", "trigger.manual")


def problems(data: Any) -> list[Problem]:
    with pytest.raises(GraphInvalid) as caught:
        graph_validate(data)
    return caught.value.problems


def only_problem(data: Any) -> Problem:
    found = problems(data)
    assert len(found) == 1, found
    return found[0]


def with_step(step: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
    return graph(TRIGGER, step, *more, edges=[edge("start", step["id"])])


def test_it_accepts_the_contract_example() -> None:
    parsed = graph_validate(
        graph(
            node("order", "trigger.webhook", "New order"),
            node(
                "notify",
                "code.python",
                "Build email",
                source='def handler(event, context):\n    return {"to": event["trigger"]["body"]}',
            ),
            edges=[edge("order", "notify")],
        )
    )
    assert list(parsed.nodes) == ["order", "notify"]
    assert parsed.as_json()["edges"] == [{"source": "order", "target": "notify"}]


def test_it_rejects_what_is_not_an_object() -> None:
    assert only_problem(["nodes"]).field == "graph"


def test_it_rejects_unknown_top_level_keys() -> None:
    assert "viewport" in only_problem({**graph(TRIGGER), "viewport": {}}).message


def test_it_rejects_nodes_that_are_not_a_list() -> None:
    assert only_problem({"nodes": {}, "edges": []}).field == "nodes"


def test_it_rejects_a_duplicate_node_id() -> None:
    problem = only_problem(graph(TRIGGER, node("start", "trigger.manual")))
    assert (problem.node, problem.field) == ("start", "id")


def test_it_rejects_a_malformed_node_id() -> None:
    problem = only_problem(graph(TRIGGER, node("no spaces", "data.transform", value=1)))
    assert problem.node == "no spaces"
    assert problem.field == "nodes[1].id"


def test_it_rejects_an_unknown_node_type() -> None:
    problem = only_problem(with_step(node("mystery", "ftp.upload")))
    assert (problem.node, problem.field) == ("mystery", "type")
    assert "ftp.upload" in problem.message


def test_it_requires_a_trigger() -> None:
    problem = only_problem(graph(node("shape", "data.transform", value=1)))
    assert "trigger" in problem.message


def test_it_rejects_an_edge_to_a_missing_node() -> None:
    problem = only_problem(graph(TRIGGER, edges=[edge("start", "ghost")]))
    assert (problem.node, problem.field) == ("start", "edges[0].target")
    assert "ghost" in problem.message


def test_it_rejects_an_edge_from_a_missing_node_naming_the_node_it_leads_into() -> None:
    step = node("shape", "data.transform", value=1)
    problem = only_problem(
        graph(TRIGGER, step, edges=[edge("start", "shape"), edge("ghost", "shape")])
    )
    assert (problem.node, problem.field) == ("shape", "edges[1].source")
    assert "ghost" in problem.message


def test_it_rejects_an_edge_between_two_missing_nodes_naming_no_node() -> None:
    problem = only_problem(graph(TRIGGER, edges=[edge("ghost", "phantom")]))
    assert (problem.node, problem.field) == (None, "edges[0].source")


def test_it_rejects_an_edge_into_a_trigger() -> None:
    problem = only_problem(
        graph(TRIGGER, node("later", "trigger.manual"), edges=[edge("start", "later")])
    )
    assert (problem.node, problem.field) == ("later", "edges[0].target")


def test_it_rejects_a_self_loop() -> None:
    step = node("shape", "data.transform", value=1)
    problem = only_problem(
        graph(TRIGGER, step, edges=[edge("start", "shape"), edge("shape", "shape")])
    )
    assert problem.node == "shape"


def test_it_rejects_a_duplicate_edge() -> None:
    step = node("shape", "data.transform", value=1)
    problem = only_problem(graph(TRIGGER, step, edges=[edge("start", "shape")] * 2))
    assert (problem.node, problem.field) == ("start", "edges[1]")
    assert "start → shape" in problem.message


def test_it_rejects_a_cycle_and_names_exactly_the_nodes_on_it() -> None:
    nodes = [node(name, "data.transform", value=1) for name in ("a", "b", "c", "after")]
    found = problems(
        graph(
            TRIGGER,
            *nodes,
            edges=[
                edge("start", "a"),
                edge("a", "b"),
                edge("b", "c"),
                edge("c", "a"),
                edge("c", "after"),
            ],
        )
    )
    assert sorted(p.node for p in found if p.node) == ["a", "b", "c"]
    assert "a → b → c → a" in found[0].message


def test_it_requires_a_handle_on_edges_leaving_a_branch() -> None:
    branch = node("check", "logic.branch", condition="event.trigger.total > 100")
    step = node("big", "data.transform", value=1)
    problem = only_problem(
        graph(TRIGGER, branch, step, edges=[edge("start", "check"), edge("check", "big")])
    )
    assert (problem.node, problem.field) == ("check", "edges[1].sourceHandle")
    assert "true or false" in problem.message


def test_it_accepts_true_and_false_edges_from_a_branch() -> None:
    graph_validate(
        graph(
            TRIGGER,
            node("check", "logic.branch", condition="event.trigger.total > 100"),
            node("big", "data.transform", value=1),
            node("small", "data.transform", value=2),
            edges=[
                edge("start", "check"),
                edge("check", "big", "true"),
                edge("check", "small", "false"),
            ],
        )
    )


def test_it_rejects_a_handle_on_a_single_output_node() -> None:
    problem = only_problem(
        graph(
            TRIGGER,
            node("shape", "data.transform", value=1),
            edges=[edge("start", "shape", "true")],
        )
    )
    assert (problem.node, problem.field) == ("start", "edges[0].sourceHandle")


def test_it_requires_config_fields_of_the_kind_schema() -> None:
    problem = only_problem(with_step(node("call", "http.request")))
    assert (problem.node, problem.field) == ("call", "config.url")
    assert problem.message == "This field is required."


def test_it_rejects_a_config_value_outside_the_schema() -> None:
    problem = only_problem(with_step(node("call", "http.request", url="https://x", method="GOT")))
    assert (problem.node, problem.field) == ("call", "config.method")
    assert '"GET"' in problem.message


def test_it_rejects_unknown_config_fields() -> None:
    problem = only_problem(with_step(node("shape", "data.transform", value=1, colour="red")))
    assert (problem.node, problem.field) == ("shape", "config")
    assert "colour" in problem.message


def test_it_rejects_python_that_does_not_parse() -> None:
    problem = only_problem(
        with_step(node("code", "code.python", source="def handler(event, context):\n  return ("))
    )
    assert (problem.node, problem.field) == ("code", "config.source")
    assert problem.message == "SyntaxError on line 2, column 10: '(' was never closed"


def test_it_requires_a_python_handler_function() -> None:
    problem = only_problem(with_step(node("code", "code.python", source="x = 1\n")))
    assert (problem.node, problem.field) == ("code", "config.source")
    assert "handler(event, context)" in problem.message


def test_it_rejects_javascript_that_does_not_parse_and_says_where() -> None:
    good = node(
        "good",
        "code.javascript",
        source="export async function handler(event) { return event?.a ?? 1 }",
    )
    bad = node("bad", "code.javascript", source="export function handler(event) {\n  return {")
    problem = only_problem(
        graph(TRIGGER, good, bad, edges=[edge("start", "good"), edge("start", "bad")])
    )
    assert (problem.node, problem.field) == ("bad", "config.source")
    assert problem.message == "SyntaxError on line 2, column 11: Unexpected end of input"


def test_it_rejects_a_template_that_does_not_compile() -> None:
    problem = only_problem(
        with_step(
            node(
                "mail",
                "email.send",
                to="{{ event.trigger.email }}",
                subject="Hi {{ name",
                text="x",
            )
        )
    )
    assert (problem.node, problem.field) == ("mail", "config.subject")


def test_it_checks_templates_nested_inside_a_transform_value() -> None:
    problem = only_problem(
        with_step(node("shape", "data.transform", value={"lines": ["ok", "{% for %}"]}))
    )
    assert (problem.node, problem.field) == ("shape", "config.value.lines[1]")


def test_it_rejects_a_branch_condition_that_does_not_compile() -> None:
    problem = only_problem(with_step(node("check", "logic.branch", condition="total >")))
    assert (problem.node, problem.field) == ("check", "config.condition")


def test_it_rejects_an_invalid_cron_expression() -> None:
    problem = only_problem(graph(node("nightly", "trigger.cron", expression="at two")))
    assert (problem.node, problem.field) == ("nightly", "config.expression")


def test_it_rejects_an_unknown_time_zone() -> None:
    problem = only_problem(
        graph(node("nightly", "trigger.cron", expression="0 2 * * *", timezone="Mars/Olympus"))
    )
    assert (problem.node, problem.field) == ("nightly", "config.timezone")


def test_it_requires_a_secret_for_signed_webhooks() -> None:
    problem = only_problem(graph(node("hook", "trigger.webhook", signature="github")))
    assert (problem.node, problem.field) == ("hook", "config.signature_secret")


def test_it_rejects_a_reference_to_a_missing_node() -> None:
    problem = only_problem(
        graph(node("hook", "trigger.webhook", response_mode="wait", response_step="nowhere"))
    )
    assert (problem.node, problem.field) == ("hook", "config.response_step")


def test_it_explains_either_or_fields() -> None:
    problem = only_problem(with_step(node("wait", "flow.delay", seconds=5, until="tomorrow")))
    assert problem.node == "wait"
    assert problem.message == "Set either seconds or until (one of them, not both)."


def test_it_rejects_invalid_step_settings() -> None:
    step = node("shape", "data.transform", value=1) | {"settings": {"retries": -1}}
    problem = only_problem(with_step(step))
    assert (problem.node, problem.field) == ("shape", "settings.retries")


def test_it_rejects_step_settings_on_a_trigger() -> None:
    problem = only_problem(graph(TRIGGER | {"settings": {"retries": 2}}))
    assert (problem.node, problem.field) == ("start", "settings")


def test_it_rejects_an_empty_name() -> None:
    problem = only_problem(with_step(node("shape", "data.transform", "  ", value=1)))
    assert (problem.node, problem.field) == ("shape", "name")


def test_it_rejects_a_malformed_position() -> None:
    step = node("shape", "data.transform", value=1) | {"position": {"x": "left"}}
    problem = only_problem(with_step(step))
    assert (problem.node, problem.field) == ("shape", "position")


@override_settings(TRIBUTARY_MAX_NODES=3)
def test_it_limits_the_number_of_nodes() -> None:
    steps = [node(f"s{i}", "data.transform", value=i) for i in range(3)]
    problem = only_problem(graph(TRIGGER, *steps))
    assert problem.field == "nodes"
    assert "limit is 3" in problem.message


@override_settings(TRIBUTARY_MAX_GRAPH_BYTES=2048)
def test_it_limits_the_size_of_the_graph() -> None:
    problem = only_problem(with_step(node("shape", "data.transform", value="x" * 4000)))
    assert problem.field == "graph"
    assert "limit is 2,048" in problem.message


def test_it_refuses_nul_characters_which_postgres_cannot_store() -> None:
    assert "NUL" in only_problem(with_step(node("shape", "data.transform", value="a\x00b"))).message


def test_it_refuses_nan() -> None:
    assert (
        "NaN"
        in only_problem(with_step(node("shape", "data.transform", value=float("nan")))).message
    )


def test_it_refuses_lone_surrogates_and_says_where() -> None:
    # What json.loads makes of '"\\ud800"': PostgreSQL's jsonb refuses it.
    problem = only_problem(with_step(node("shape", "data.transform", value={"id": "\ud800"})))
    assert problem.field == "graph"
    assert "lone surrogate (\\ud800" in problem.message
    assert "at nodes[1].config.value.id" in problem.message


def test_it_refuses_a_lone_surrogate_in_a_key_before_quoting_any_key() -> None:
    problem = only_problem({"nodes": [TRIGGER], "\udc00": 1})
    assert problem.field == "graph" and "in a key" in problem.message
    assert "\udc00" not in problem.message  # a message quoting it could not be sent


def test_it_names_the_node_and_field_of_a_condition_nested_too_deeply_to_parse() -> None:
    # Jinja's parser recurses once per bracket: 100 levels used to raise RecursionError.
    deep = "(" * 100 + "1" + ")" * 100
    problem = only_problem(with_step(node("check", "logic.branch", condition=deep)))
    assert (problem.node, problem.field) == ("check", "config.condition")
    assert "nested too deeply" in problem.message


def test_it_names_a_template_whose_blocks_python_cannot_compile() -> None:
    # Parses, but Python allows only 20 nested loops in the code Jinja generates.
    nested = "{% for a in [1] %}" * 25 + "x" + "{% endfor %}" * 25
    problem = only_problem(with_step(node("shape", "data.transform", value={"text": nested})))
    assert (problem.node, problem.field) == ("shape", "config.value.text")
    assert "nested too deeply" in problem.message


def test_it_refuses_absurd_nesting() -> None:
    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    assert "nested" in only_problem(with_step(node("shape", "data.transform", value=deep))).message


def test_it_reports_every_problem_at_once() -> None:
    found = problems(
        graph(
            TRIGGER,
            node("call", "http.request"),
            node("code", "code.python", source="("),
            edges=[edge("start", "call"), edge("start", "code")],
        )
    )
    assert {p.node for p in found} == {"call", "code"}
