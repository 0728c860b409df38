"""Templates and expressions over a run's ``event``: Jinja2's sandboxed environment only.

Users write ``{{ event.trigger.body.email }}`` in step configs and ``event.steps.check.ok``
as branch conditions. Nothing here ever calls ``eval``; the sandbox refuses attribute access
to internals (``__class__``, ``mro``...) and caps ``range``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runtime.kinds.taint import json_default, plain


class _Environment(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, reading ``a.b`` on JSON objects as the key ``b`` first (Jinja tries
    the attribute first, so ``body.items`` would be dict.items, not the order's items)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)


_text_env = _Environment(undefined=StrictUndefined, autoescape=False)
_html_env = _Environment(undefined=StrictUndefined, autoescape=True)
for _env in (_text_env, _html_env):
    # ``| tojson`` on event.steps writes it in full, recorded as read (runtime.kinds.taint).
    _env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": json_default}
# What compiling can raise besides Jinja's own errors. Jinja's parser and code generator
# recurse once per nesting level, so ~100 nested brackets exhaust Python's stack
# (RecursionError); Python's own compiler refuses the generated code for 20 nested loops or
# ~100 nested blocks (SyntaxError, IndentationError).
_COMPILE_ERRORS = (TemplateError, RecursionError, SyntaxError)
# What rendering can raise on top: 1/0, int("x"), a huge range, a macro calling itself...
_RENDER_ERRORS = (
    *_COMPILE_ERRORS,
    ArithmeticError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
)
# "{{ expr }}" and nothing else: rendered as the expression's own value, not its text.
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}\s*$", re.DOTALL)


class TemplateProblem(Exception):
    """A template or expression that does not compile or fails to render; the message says
    where (line) and what, in the user's terms."""


def template_problem(source: str) -> str | None:
    """Why ``source`` is not a valid template, or None. Compiles it rather than only
    parsing it: some templates parse but are refused by Python's compiler at run time."""
    try:
        _text_env.compile(source)
    except _COMPILE_ERRORS as exc:
        return _describe(exc)
    return None


def expression_problem(source: str) -> str | None:
    """Why ``source`` is not a valid expression (e.g. ``event.trigger.total > 100``), or None."""
    if not source.strip():
        return "The expression is empty."
    try:
        _text_env.compile_expression(source)
    except _COMPILE_ERRORS as exc:
        return _describe(exc)
    return None


def render(source: str, context: dict[str, Any], *, html: bool = False) -> str:
    env = _html_env if html else _text_env
    try:
        return env.from_string(source).render(context)
    except _RENDER_ERRORS as exc:
        raise TemplateProblem(_describe(exc)) from None


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    try:
        value = _text_env.compile_expression(expression, undefined_to_none=False)(context)
        if isinstance(value, Undefined):
            # A bare expression returns its Undefined instead of raising: make it raise.
            value._fail_with_undefined_error()
        return plain(value)
    except _RENDER_ERRORS as exc:
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


def _describe(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        # Python's own message ("maximum recursion depth exceeded") means nothing to a user.
        return (
            "This is nested too deeply for the template engine (or a macro calls itself "
            "without end); simplify it."
        )
    if isinstance(exc, SyntaxError):
        # The line is in Jinja's generated Python, not the user's template: leave it out.
        return f"Its blocks are nested too deeply for Python to compile ({exc.msg}); simplify it."
    line = getattr(exc, "lineno", None)
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    if not isinstance(exc, TemplateError):
        message = f"{exc.__class__.__name__}: {message}"
    if "is undefined" in message or "has no attribute" in message:
        message = f"{message} (use | default(...) for optional values)"
    return f"line {line}: {message}" if line else message
