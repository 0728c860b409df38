"""The template language: Jinja2's sandbox over event and secrets, never eval."""

from __future__ import annotations

import pytest

from runtime.templating import TemplateProblem, evaluate, render, render_value

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
