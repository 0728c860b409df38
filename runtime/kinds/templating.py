"""Templates and expressions over a run's ``event``: Jinja2's sandboxed environment only.

Users write ``{{ event.trigger.body.email }}`` in step configs and ``event.steps.check.ok``
as branch conditions. Nothing here ever calls ``eval``; the sandbox refuses attribute access
to internals (``__class__``, ``mro``...) and caps ``range``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runtime.kinds import template_bounds as bounds
from runtime.kinds.taint import json_default, plain
from runtime.kinds.template_bounds import TemplateLimitError, TemplateTooSlow
from runtime.kinds.template_compiling import BoundedCodeGenerator, constant_problem


class _Environment(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, reading ``a.b`` on JSON objects as the key ``b`` first (Jinja tries
    the attribute first, so ``body.items`` would be dict.items, not the order's items), and
    bounded (template_bounds): every operator, filter, call, literal and output is sized,
    and constant parts are checked on save (template_compiling)."""

    code_generator_class = BoundedCodeGenerator
    # Intercepted operators go through call_binop, and Jinja never folds them at compile time.
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options: Any):
        super().__init__(finalize=bounds.checked, **options)
        self.filters = bounds.bounded_filters(self.filters)
        self.globals["namespace"] = bounds.Namespace

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) or isinstance(obj, Mapping):  # noqa: SIM101  # dict: no ABC check
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return bounds.binop(operator, left, right, self.binop_table[operator])

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        invoke = functools.partial(super().call, context)
        return bounds.call(invoke, obj, args, kwargs)

    def concat(self, parts: Iterable[str]) -> str:
        """Joins a template's output and the bodies of macros and blocks."""
        return bounds.join(parts)

    # Called by the code BoundedCodeGenerator writes.
    checked = staticmethod(bounds.checked)
    concat_parts = staticmethod(bounds.concat)


class _Missing(StrictUndefined):
    """A missing field says which fields there are: "'dict object' has no attribute 'to'"
    told a user nothing about the step whose output lacked it (a JavaScript step returning
    ``{to: undefined}`` drops the key). Only plain JSON objects list their keys: a secrets
    mapping never lists the names it holds."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if type(obj) is dict and isinstance(name, str):
            keys = sorted(str(key) for key in obj)
            shown = ", ".join(keys[:12]) + (f" and {len(keys) - 12} more" if len(keys) > 12 else "")
            return f"no field {name!r} here: this object has " + (shown or "no fields")
        if type(obj) is list and isinstance(name, str):
            return f"no field {name!r} here: this is a list of {len(obj)}, pick one as [0].{name}"
        return str(super()._undefined_message)


_text_env = _Environment(undefined=_Missing, autoescape=False)
_html_env = _Environment(undefined=_Missing, autoescape=True)
for _env in (_text_env, _html_env):
    # ``| tojson`` on event.steps writes it in full, recorded as read (runtime.kinds.taint).
    _env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": json_default}
# What compiling can raise besides Jinja's own errors. Jinja's parser and code generator
# recurse once per nesting level, so ~100 nested brackets exhaust Python's stack
# (RecursionError); Python's own compiler refuses the generated code for 20 nested loops or
# ~100 nested blocks (SyntaxError, IndentationError); Python will not read a number literal
# of more than 4300 digits (ValueError). Checking a template also runs its constant parts,
# which may hit a bound.
_COMPILE_ERRORS = (
    TemplateError,
    RecursionError,
    SyntaxError,
    ValueError,
    TemplateLimitError,
    TemplateTooSlow,
)
# What rendering can raise on top: 1/0, int("x"), a huge range, a macro calling itself...
_RENDER_ERRORS = (
    *_COMPILE_ERRORS,
    ArithmeticError,
    TypeError,
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
    parsing it: some templates parse but are refused by Python's compiler at run time.
    Then runs its constant parts under the bounds (``{{ 9 ** (9 ** 7) }}`` is refused here)."""
    try:
        tree = _text_env.parse(source)
        _text_env.compile(tree)  # folds what is safe to fold in the tree, which is fine here
        return constant_problem(_text_env, tree, _RENDER_ERRORS)
    except _COMPILE_ERRORS as exc:
        return _describe(exc)


def expression_problem(source: str) -> str | None:
    """Why ``source`` is not a valid expression (e.g. ``event.trigger.total > 100``), or None."""
    if not source.strip():
        return "The expression is empty."
    try:
        _text_env.compile_expression(source)
        tree = Parser(_text_env, source, state="variable").parse_expression()
        return constant_problem(_text_env, tree, _RENDER_ERRORS)
    except _COMPILE_ERRORS as exc:
        return _describe(exc)


def render(source: str, context: dict[str, Any], *, html: bool = False) -> str:
    env = _html_env if html else _text_env
    try:
        with bounds.budget():
            template = env.from_string(source)
            return bounds.run(lambda: template.render(context))
    except _RENDER_ERRORS as exc:
        if isinstance(exc, TemplateLimitError):
            exc.lineno = bounds.template_line(exc)
        raise TemplateProblem(_describe(exc)) from None


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    try:
        with bounds.budget():
            compiled = _text_env.compile_expression(expression, undefined_to_none=False)
            value = bounds.run(lambda: bounds.checked(compiled(context)))
        if isinstance(value, Undefined):
            # A bare expression returns its Undefined instead of raising: make it raise.
            value._fail_with_undefined_error()
        return plain(value)
    except _RENDER_ERRORS as exc:
        raise TemplateProblem(_describe(exc)) from None


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render every string in a JSON value. A string that is a single ``{{ expr }}`` becomes
    the expression's value, so ``"{{ event.trigger.body.items }}"`` stays a list. The whole
    value shares one budget of time and work."""
    with bounds.budget():
        return _render_value(value, context)


def _render_value(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        match = _SINGLE_EXPRESSION.match(value)
        if match:
            return evaluate(match.group("expr"), context)
        return render(value, context)
    if isinstance(value, list):
        return [_render_value(item, context) for item in value]
    if isinstance(value, dict):
        return {key: _render_value(item, context) for key, item in value.items()}
    return value


def _describe(exc: BaseException) -> str:
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
    if not isinstance(exc, TemplateError | TemplateLimitError | TemplateTooSlow):
        message = f"{exc.__class__.__name__}: {message}"
    if "is undefined" in message or "has no attribute" in message or "no field" in message:
        message = f"{message} (use | default(...) for optional values)"
    return f"line {line}: {message}" if line else message
