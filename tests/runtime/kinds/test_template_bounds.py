"""Templates and expressions cannot burn CPU or memory: every bomb is refused, quickly, with
an error that says which bound it hit, on save (template_problem / expression_problem) and at
run time (render, evaluate, render_value); ordinary arithmetic and string building still work.

The limits on size are lowered here (10,000 characters), so that a bomb that slips through
fills memory slowly enough for the timeout to catch it; the time budget is raised (2 s), so
that a loaded machine does not turn a size bound into a time one."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.kinds.taint import ReadSteps
from runtime.kinds.templating import (
    TemplateProblem,
    evaluate,
    expression_problem,
    render,
    render_value,
    template_problem,
)

pytestmark = pytest.mark.timeout(20)
EVENT: dict[str, Any] = {"event": {"trigger": {"n": 9**7, "items": [1, 2, 3], "big": "x" * 6000}}}


@pytest.fixture(autouse=True)
def _small_limits(settings: SettingsWrapper) -> None:
    settings.TRIBUTARY_TEMPLATE_MAX_DIGITS = 4300
    settings.TRIBUTARY_TEMPLATE_MAX_CHARS = 10_000
    settings.TRIBUTARY_TEMPLATE_TIME_BUDGET_MS = 2000


# Expressions whose value would be too big, and the bound each one hits.
EXPRESSION_BOMBS = [
    ("9 ** (9 ** 7) > 1", "number too large"),
    ("(9 ** 9) ** (9 ** 9)", "number too large"),
    ("10 ** 5000", "number too large"),
    ("(10 ** 3000) * (10 ** 3000)", "number too large"),
    ('"ab" * 10 ** 9', "string too long"),
    ("[1, 2] * 999999999", "list too long"),
    ('("x" * 6000) + ("y" * 6000)', "string too long"),
    ('"%0999999999d" % 1', "string too long"),
    ('"%*d" % (999999999, 1)', "string too long"),
    ('"%s%s" % ("x" * 6000, "y")', "string too long"),
    ('"x" | center(999999999)', "string too long"),
    ('"a\\nb" | indent(999999999)', "string too long"),
    ('"a b c d" | wordwrap(1, wrapstring="-" * 5000)', "string too long"),
    ('"%0999999999d" | format(1)', "string too long"),
    ('"ab" | replace("", "x" * 5000)', "string too long"),
    ('["a", "b", "c"] | join("x" * 6000)', "string too long"),
    ('"x" * 6000 ~ "y" * 6000', "string too long"),
    ("[1] | batch(999999999, 0) | list", "list too long"),
    ("[1] | slice(999999999) | list", "list too long"),
    ('{"a": [1, 2]} | tojson(indent=999999999)', "string too long"),
    ('"x".ljust(999999999)', "string too long"),
    ('"x".rjust(999999999)', "string too long"),
    ('"x".center(999999999)', "string too long"),
    ('"1".zfill(999999999)', "string too long"),
    ('"\\t".expandtabs(999999999)', "string too long"),
    ('"{:>999999999}".format(1)', "string too long"),
    ('"{0:{1}}".format(1, 999999999)', "string too long"),
    ('"{}{}".format("x" * 6000, "y" * 6000)', "string too long"),
    ('"ab".replace("", "x" * 5000)', "string too long"),
    ('("x" * 5000).join("abc")', "string too long"),
    ('"-".join(range(99999) | map("string"))', "too much built"),  # each item counts
    ("(1).to_bytes(999999999, 'big')", "string too long"),
    ("lipsum(999999)", "string too long"),
    ("range(99999) | list", "list too long"),
    ("[range(9999) | list, range(9999) | list]", "list too long"),
]


@pytest.mark.parametrize(("expression", "bound"), EXPRESSION_BOMBS)
def test_saving_a_constant_bomb_names_the_bound_it_hits(expression: str, bound: str) -> None:
    assert bound in (expression_problem(expression) or "")
    assert bound in (template_problem("before\n{{ " + expression + " }}") or "")
    assert (template_problem("{{ " + expression + " }}") or "").startswith("line 1: ")


@pytest.mark.parametrize(("expression", "bound"), EXPRESSION_BOMBS)
def test_running_a_bomb_fails_with_the_bound_it_hits(expression: str, bound: str) -> None:
    with pytest.raises(TemplateProblem, match=bound):
        evaluate(expression, EVENT)
    with pytest.raises(TemplateProblem, match=f"line 2: {bound}"):
        render("before\n{{ " + expression + " }}", EVENT)
    with pytest.raises(TemplateProblem, match=bound):
        render_value({"a": ["{{ " + expression + " }}"]}, EVENT)


# Statements: bombs that no expression holds, refused when they run.
TEMPLATE_BOMBS = [
    (
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "took too long",
    ),
    ("{% macro f(n) %}{{ f(n) ~ f(n) }}{% endmacro %}{{ f(1) }}", "nested too deeply"),
    ("{% for i in range(99999) %}0123456789{% endfor %}", "output too long"),
    ("{% for i in range(99999) %}{{ event.trigger.big }}{% endfor %}", "output too long"),
    (
        "{% macro m() %}{% for i in range(99999) %}{{ 'x' * 100 }}{% endfor %}{% endmacro %}"
        "{{ m() | length }}",
        "too (long|much built)",
    ),
    (
        "{% set x %}{% for i in range(99999) %}ab{% endfor %}{% endset %}{{ x | length }}",
        "too long",
    ),
    (
        "{% for i in range(99999) %}{% set x = event.trigger.big ~ i %}{% endfor %}",
        "too much built: more than 80,000 characters in all",
    ),
    (
        # [x, x] doubles what a list holds without allocating: 2**40 values in a few bytes.
        "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = [ns.x, ns.x] %}"
        "{% endfor %}{{ ns.x == [1] }}",
        "list too long",
    ),
    (
        # The same through namespaces, whose attributes nothing checks when they are set.
        "{% set ns = namespace(x=1) %}{% for i in range(40) %}{% set n = namespace() %}"
        "{% set n.a = ns.x %}{% set n.b = ns.x %}{% set ns.x = n %}{% endfor %}"
        "{{ ns.x | string | length }}",
        "value too long",
    ),
    ("{{ 9 ** event.trigger.n }}", "number too large"),  # saves; known only at run time
    ("{{ event.trigger.big * 2 }}", "string too long"),
]


@pytest.mark.parametrize(("source", "bound"), TEMPLATE_BOMBS)
def test_rendering_a_template_bomb_fails_with_the_bound_it_hits(source: str, bound: str) -> None:
    with pytest.raises(TemplateProblem, match=bound):
        render(source, EVENT)
    with pytest.raises(TemplateProblem, match=bound):
        render_value({"a": source}, EVENT)


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "{{ 9 ** event.trigger.n }}",
        "{{ event.trigger.big * 2 }}",
    ],
)
def test_a_bomb_that_needs_running_or_data_saves(source: str) -> None:
    assert template_problem(source) is None


def test_event_steps_are_measured_without_being_read() -> None:
    steps = ReadSteps({"a": "x" * 4000, "b": "y" * 4000})
    context = {"event": {"trigger": {}, "steps": steps}}
    assert render("{{ [event.steps, 1] | length }}", context) == "2"
    assert steps.read == set()  # sized, not read: a viewer may still see this step
    with pytest.raises(TemplateProblem, match="list too long: more than the limit of 10,000"):
        render("{{ [event.steps, event.steps] | length }}", context)
    larger = {"event": {"trigger": {}, "steps": ReadSteps({"a": "x" * 6000, "b": "y" * 6000})}}
    with pytest.raises(TemplateProblem, match="value too long"):
        render("{{ event.steps }}", larger)


def test_html_templates_are_bounded_too() -> None:
    with pytest.raises(TemplateProblem, match="output too long"):
        render("{% for i in range(99999) %}{{ '<' }}{% endfor %}", EVENT, html=True)


def test_a_data_transform_shares_one_time_budget_across_its_strings(
    settings: SettingsWrapper,
) -> None:
    settings.TRIBUTARY_TEMPLATE_TIME_BUDGET_MS = 300
    # One string spins for about 15 ms, well within the budget of 0.3 s; sixty do not.
    spin = "{% for i in range(3) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    assert render_value({"a": spin}, EVENT) == {"a": ""}
    with pytest.raises(TemplateProblem, match="took too long"):
        render_value({str(key): spin for key in range(60)}, EVENT)


@pytest.mark.parametrize(
    ("source", "output"),
    [
        ("{{ 2**10 }}", "1024"),
        ('{{ "ab" * 3 }}', "ababab"),
        ('{{ "%05d" % 42 }}', "00042"),
        ('{{ "%s and %s" % ("a", "b") }}', "a and b"),
        ("{{ (2 ** 14000) > 0 }}", "True"),  # 4,215 digits
        ("{{ 7 // 2 }} {{ 7 / 2 }} {{ 7 % 2 }} {{ 2 - 5 }} {{ -(3) }}", "3 3.5 1 -3 -3"),
        ('{{ "x" | center(5) }}|{{ "a\nb" | indent(2) }}', "  x  |a\n  b"),
        ('{{ "a,b" | replace(",", ";") }} {{ [1, 2] | join("-") }}', "a;b 1-2"),
        (
            '{{ "{:>4}".format(1) }} {{ "ab".ljust(4, ".") }} {{ "-".join(["a", "b"]) }}',
            "   1 ab.. a-b",
        ),
        ('{{ "hello world" | truncate(999999999) }}', "hello world"),
        (
            "{{ event.trigger.items | sum }} {{ [1] + [2] }} {{ range(3) | list }}",
            "6 [1, 2] [0, 1, 2]",
        ),
        ('{{ {"a": 1} | tojson(indent=2) }}', '{\n  "a": 1\n}'),
        ("{{ event.trigger.items | batch(2, 0) | list }}", "[[1, 2], [3, 0]]"),
        (
            "{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}"
            "{% endfor %}{{ ns.n }} {{ ns }}",
            "10 <Namespace {'n': 10}>",
        ),
        ('{{ "a" ~ 1 ~ [2] }} {{ "abc"[1:] }} {{ (1, 2)[0] }}', "a1[2] bc 1"),
        ("{{ event.trigger.big | length }}", "6000"),
        ("{{ {'a': [1, 2]} | pprint }}", "{'a': [1, 2]}"),
    ],
)
def test_ordinary_arithmetic_and_string_building_still_work(source: str, output: str) -> None:
    assert template_problem(source) is None
    assert render(source, EVENT) == output


def test_a_lone_expression_keeps_its_value_within_the_bounds() -> None:
    assert render_value({"n": "{{ 2 ** 10 }}", "s": "{{ 'ab' * 2 }}"}, EVENT) == {
        "n": 1024,
        "s": "abab",
    }
    assert evaluate("event.trigger.items | sum > 5", EVENT) is True


def test_a_value_from_the_event_may_be_as_long_as_the_limit(settings: SettingsWrapper) -> None:
    settings.TRIBUTARY_TEMPLATE_MAX_CHARS = 6000
    assert render_value("{{ event.trigger.big }}", EVENT) == "x" * 6000


def test_the_settings_move_the_bounds(settings: SettingsWrapper) -> None:
    assert render("{{ 10 ** 20 }}", EVENT) == str(10**20)
    settings.TRIBUTARY_TEMPLATE_MAX_DIGITS = 10
    assert "number too large: about 21 digits; the limit is 10" in (
        template_problem("{{ 10 ** 20 }}") or ""
    )
    settings.TRIBUTARY_TEMPLATE_MAX_CHARS = 1000
    with pytest.raises(TemplateProblem, match="the limit is 1,000"):
        render("{{ 'x' * 1001 }}", EVENT)
    settings.TRIBUTARY_TEMPLATE_TIME_BUDGET_MS = 50
    with pytest.raises(TemplateProblem, match="for 50 ms at most"):
        render(
            "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", EVENT
        )
