"""The template language: Jinja2's sandbox over event and secrets, never eval."""

from __future__ import annotations

import pytest

from runtime.kinds.templating import (
    TemplateProblem,
    evaluate,
    expression_problem,
    render,
    render_value,
    template_problem,
)

EVENT = {"event": {"trigger": {"body": {"id": 7, "items": [1, 2], "name": "<Ada>"}}}}


def test_a_lone_expression_keeps_its_type() -> None:
    assert render_value(
        {"items": "{{ event.trigger.body.items }}", "n": "#{{ event.trigger.body.id }}"}, EVENT
    ) == {"items": [1, 2], "n": "#7"}


@pytest.mark.parametrize(
    "source", ["{{ event.trigger.body.missing }}", "x {{ event.trigger.nothing.here }}"]
)
def test_an_undefined_name_is_an_error_that_names_it(source: str) -> None:
    with pytest.raises(TemplateProblem, match="default"):
        render_value(source, EVENT)


def test_a_bare_undefined_expression_is_an_error_too() -> None:
    with pytest.raises(TemplateProblem, match="missing"):
        evaluate("event.trigger.body.missing", EVENT)


def test_html_templates_escape_what_they_insert() -> None:
    assert render("<b>{{ event.trigger.body.name }}</b>", EVENT, html=True) == "<b>&lt;Ada&gt;</b>"


@pytest.mark.parametrize(
    "attack",
    [
        "{{ event.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ range(10**9) | list | length }}",
    ],
)
def test_the_sandbox_refuses_internals_and_huge_ranges(attack: str) -> None:
    with pytest.raises(TemplateProblem):
        render(attack, EVENT)


NESTED_LOOPS = "{% for a in [1] %}" * 25 + "x" + "{% endfor %}" * 25


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 100 + "1" + ")" * 100 + " }}",  # Jinja's parser runs out of stack
        "{{ " + " + ".join(["1"] * 5000) + " }}",  # parses, but compiling recurses
        NESTED_LOOPS,  # parses, but Python refuses 25 nested loops
    ],
)
def test_a_template_nested_too_deeply_is_a_problem_not_a_crash(source: str) -> None:
    problem = template_problem(source)
    assert problem is not None and "nested too deeply" in problem


def test_an_expression_nested_too_deeply_is_a_problem_not_a_crash() -> None:
    problem = expression_problem("(" * 100 + "1" + ")" * 100)
    assert problem is not None and "nested too deeply" in problem


@pytest.mark.parametrize(
    "source",
    [
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",  # compiles; recurses when run
        NESTED_LOOPS,
    ],
)
def test_rendering_what_recurses_without_end_raises_a_template_problem(source: str) -> None:
    with pytest.raises(TemplateProblem, match="nested too deeply"):
        render_value({"text": source}, EVENT)


def test_evaluating_an_expression_nested_too_deeply_raises_a_template_problem() -> None:
    with pytest.raises(TemplateProblem, match="nested too deeply"):
        evaluate("(" * 100 + "1" + ")" * 100, EVENT)


def test_a_number_literal_too_long_to_read_is_a_problem_not_a_crash() -> None:
    # Python will not read an int literal of more than 4300 digits: Jinja's lexer raised
    # ValueError, and saving the flow was a 500.
    literal = "9" * 5000
    for problem in (template_problem("{{ " + literal + " }}"), expression_problem(literal)):
        assert problem is not None and "4300 digits" in problem
