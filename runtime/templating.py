"""Templates and expressions over a run's ``event``: Jinja2's sandboxed environment only.

Users write ``{{ event.trigger.body.email }}`` in step configs and ``event.steps.check.ok``
as branch conditions. Nothing here ever calls ``eval``; the sandbox refuses attribute access
to internals (``__class__``, ``mro``...) and caps ``range``.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_text_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_html_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
# "{{ expr }}" and nothing else: rendered as the expression's own value, not its text.
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}\s*$", re.DOTALL)


class TemplateProblem(Exception):
    """A template or expression that does not compile or fails to render; the message says
    where (line) and what, in the user's terms."""


def template_problem(source: str) -> str | None:
    """Why ``source`` is not a valid template, or None."""
    try:
        _text_env.parse(source)
    except TemplateError as exc:
        return _describe(exc)
    return None


def expression_problem(source: str) -> str | None:
    """Why ``source`` is not a valid expression (e.g. ``event.trigger.total > 100``), or None."""
    if not source.strip():
        return "The expression is empty."
    try:
        _text_env.compile_expression(source)
    except TemplateError as exc:
        return _describe(exc)
    return None


def render(source: str, context: dict[str, Any], *, html: bool = False) -> str:
    env = _html_env if html else _text_env
    try:
        return env.from_string(source).render(context)
    except TemplateError as exc:
        raise TemplateProblem(_describe(exc)) from None


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    try:
        return _text_env.compile_expression(expression, undefined_to_none=False)(context)
    except TemplateError as exc:
        raise TemplateProblem(_describe(exc)) from None


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render every string in a JSON value. A string that is a single ``{{ expr }}`` becomes
    the expression's value, so ``"{{ event.trigger.body.items }}"`` stays a list."""
    if isinstance(value, str):
        match = _SINGLE_EXPRESSION.match(value)
        if match:
            return evaluate(match.group("expr"), context)
        return render(value, context)
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    return value


def _describe(exc: TemplateError) -> str:
    line = getattr(exc, "lineno", None)
    message = exc.message or exc.__class__.__name__
    if "is undefined" in message or "has no attribute" in message:
        message = f"{message} (use | default(...) for optional values)"
    return f"line {line}: {message}" if line else message
