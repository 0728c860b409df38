"""Bounds on what a template or expression may compute: numbers, values, output and time.

Jinja's sandbox keeps templates away from Python's internals, not from burning CPU or memory:
``9 ** (9 ** 8)`` is one C call of minutes, ``"x" * 10**10`` one allocation of 10 GB, and
Jinja's compiler even runs such constant expressions while *compiling* (its optimizer folds
them), that is while a flow is being saved. Python cannot interrupt a C call, so:

- what could build a big value is estimated (template_sizes) *before* it runs: the binary
  operators (intercepted by the environment; Jinja never folds an intercepted operator),
  filters, calls of str methods and ``lipsum``, ``~``;
- what each operation builds is measured and charged to the run, which may build
  ``WORK_FACTOR`` times the largest value in all (many allowed values add up too);
- template code runs under a thread-local trace function that stops it when its time is up
  (a loop that builds nothing);
- filters refuse to run while a template compiles, so Jinja leaves constant filter calls
  for run time (template_compiling runs a template's constant parts under the bounds when
  it is saved, so that the save names the bomb rather than the run).

Limits come from settings (``TRIBUTARY_TEMPLATE_*``), read when a budget starts.
"""

from __future__ import annotations

import functools
import io
import pprint
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

from django.conf import settings
from jinja2.runtime import LoopContext, markup_join, str_join
from jinja2.utils import Namespace as JinjaNamespace
from jinja2.utils import generate_lorem_ipsum

from runtime.kinds import template_sizes as sizes

T = TypeVar("T")
TEMPLATE_FILE = "<template>"  # the file name Jinja gives the code it compiles from a string
# How deeply macros (and recursive loops) may call each other, and values may nest. Both keep
# Python's stack far from its limit: a RecursionError raised inside the trace function would
# remove it (CPython drops a tracer that fails), and code that catches the error would run on
# untimed.
MAX_CALL_DEPTH = 32
MAX_NESTING = 100


class TemplateLimitError(Exception):
    """A template or expression went past a bound; the message says which, in user terms."""

    lineno: int | None = None  # the template's line, when known


class TemplateTooSlow(BaseException):  # a BaseException, see _tracer
    """Raised by the trace function when a run's time is up."""


@dataclass(frozen=True)
class Limits:
    max_digits: int
    max_chars: int
    seconds: float

    @classmethod
    def current(cls) -> Limits:
        return cls(
            max_digits=settings.TRIBUTARY_TEMPLATE_MAX_DIGITS,
            max_chars=settings.TRIBUTARY_TEMPLATE_MAX_CHARS,
            seconds=settings.TRIBUTARY_TEMPLATE_TIME_BUDGET_MS / 1000,
        )


@dataclass
class _Budget:
    limits: Limits
    remaining: float  # seconds of template code left to run
    charged: int = 0  # characters built so far
    running: bool = False
    depth: int = 0  # calls within calls


class _Local(threading.local):
    budget: _Budget | None = None


_local = _Local()


def _limits() -> Limits:
    current = _local.budget
    return current.limits if current else Limits.current()


@contextmanager
def budget() -> Iterator[None]:
    """One budget of time and work for every template run inside; a nested ``budget()``
    shares the outer one (a whole save, a whole data.transform value)."""
    if _local.budget is not None:
        yield
        return
    limits = Limits.current()
    _local.budget = _Budget(limits, remaining=limits.seconds)
    try:
        yield
    finally:
        _local.budget = None


def run(code: Callable[[], T]) -> T:
    """Run template code (a render, an expression) within the current budget (or a budget of
    its own), stopped by TemplateTooSlow once the budget's time is spent. Compiling stays
    outside: it runs no user code, and filters refuse to run there."""
    with budget():
        current = _local.budget
        assert current is not None
        if current.running:
            return code()  # render_value → evaluate
        started = time.monotonic()
        previous = sys.gettrace()
        current.running = True
        # A plain try/finally: the finally runs in this frame, which started before the
        # tracer, so the tracer cannot raise in the middle of the clean-up.
        sys.settrace(_tracer(started + current.remaining, current.limits))
        try:
            return code()
        finally:
            sys.settrace(previous)
            current.running = False
            current.remaining -= time.monotonic() - started


def _tracer(deadline: float, limits: Limits) -> Callable[[FrameType, str, Any], Any]:
    """Checks the clock on every call (so Python code behind a filter stops too) and on every
    line of template code; other frames get no line events, which keeps the cost low.

    It raises a BaseException: CPython removes a trace function that raised, so an
    ``except Exception`` in Python code between the template and the tracer (there is one
    in Jinja's ``is sequence`` test) must not be able to swallow it and run on untimed."""
    clock = time.monotonic

    def lines(frame: FrameType, event: str, arg: Any) -> Any:
        if clock() > deadline:
            raise TemplateTooSlow(_too_slow(limits))
        return lines

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        if clock() > deadline:
            raise TemplateTooSlow(_too_slow(limits))
        return lines if frame.f_code.co_filename == TEMPLATE_FILE else None

    return calls


def _too_slow(limits: Limits) -> str:
    return f"took too long: templates may run for {limits.seconds * 1000:,.0f} ms at most"


def template_line(exc: BaseException) -> int | None:
    """The template line an error was raised at, once Jinja rewrote its traceback (it does
    when rendering a template, not when evaluating an expression)."""
    line, trace = None, exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == TEMPLATE_FILE:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


# --- Checking and charging what templates build ---------------------------------------


def checked(value: T) -> T:
    """``value`` if it is within the limits, charged to the run; TemplateLimitError if not.
    Every value a template builds comes through here: the environment's finalize (``{{ }}``),
    its calls and filters, literals and slices."""
    current = _local.budget
    limits = current.limits if current else Limits.current()
    if isinstance(value, str):
        size = len(value)
    elif isinstance(value, int):
        size = sizes.digits(value)
        if size > limits.max_digits:
            raise _too_large(size, limits)
    elif isinstance(value, float | None):
        size = 5  # printed shorter than the limit, whatever their value
    else:
        size, depth, _ = sizes.measure(value, limits.max_chars)
        if depth > MAX_NESTING:
            raise TemplateLimitError(
                f"nested too deeply: values may nest {MAX_NESTING} levels deep at most"
            )
    if size > limits.max_chars:  # measure() stops counting there: no "about" for this one
        raise TemplateLimitError(
            f"{_kind(value)} too long: more than the limit of {limits.max_chars:,} characters"
        )
    if current is not None:
        current.charged += size
        if current.charged > limits.max_chars * sizes.WORK_FACTOR:
            raise TemplateLimitError(
                f"too much built: more than {limits.max_chars * sizes.WORK_FACTOR:,} "
                "characters in all"
            )
    return value


def _require(size: float, limits: Limits, kind: str) -> None:
    if size > limits.max_chars:
        raise _too_long(size, limits, kind)


def _kind(value: Any) -> str:
    if isinstance(value, str | bytes):
        return "string"
    return "list" if isinstance(value, list | tuple) else "value"


def _too_long(size: float, limits: Limits, kind: str) -> TemplateLimitError:
    return TemplateLimitError(
        f"{kind} too long: about {size:,.0f} characters; the limit is {limits.max_chars:,}"
    )


def _too_large(count: float, limits: Limits) -> TemplateLimitError:
    return TemplateLimitError(
        f"number too large: about {count:,.0f} digits; the limit is {limits.max_digits:,}"
    )


def join(parts: Iterable[str]) -> str:
    """The environment's ``concat``: a template's output, and the bodies of macros, blocks
    and ``{% set %}`` blocks, refused as soon as they pass the limit."""
    limits = _limits()
    pieces: list[str] = []
    total = 0
    for piece in parts:
        total += len(piece)
        if total > limits.max_chars:
            raise TemplateLimitError(f"output too long: more than {limits.max_chars:,} characters")
        pieces.append(piece)
    return checked("".join(pieces))


def concat(autoescape: bool, parts: tuple[Any, ...]) -> str:
    """``a ~ b ~ c``: Jinja joins the parts' str() in one C call, so size them first."""
    limits = _limits()
    _require(sum(sizes.size(part, limits.max_chars) for part in parts), limits, "string")
    return checked(markup_join(parts) if autoescape else str_join(parts))


class Namespace(JinjaNamespace):
    """``namespace()``, whose attributes templates set freely: printing one is measured
    first, or ``{% set ns.a = previous %}`` in a loop could nest a repr of 2**n values."""

    def __repr__(self) -> str:
        checked(self)
        return super().__repr__()


# --- Operators, calls and filters ------------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)


def binop(operator: str, left: Any, right: Any, apply: Callable[[Any, Any], Any]) -> Any:
    """``left <operator> right``, once its result is known to fit."""
    limits = _limits()
    if operator == "**":
        count = sizes.power_digits(left, right)
        if count > limits.max_digits:
            raise _too_large(count, limits)
    elif operator == "*" and isinstance(left, int) != isinstance(right, int):
        sequence, times = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(sequence, _SEQUENCES):
            size = sizes.size(sequence, limits.max_chars) * max(times, 0)
            _require(size, limits, _kind(sequence))
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        total = sizes.size(left, limits.max_chars) + sizes.size(right, limits.max_chars)
        _require(total, limits, _kind(left))
    elif operator == "%":
        _require(sizes.percent_size(left, right, limits.max_chars), limits, "string")
    # Other int operations on bounded ints are cheap; checked() bounds what they return.
    return checked(apply(left, right))


def call(
    invoke: Callable[..., Any], obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Any:
    """``invoke(obj, *args, **kwargs)`` (the sandbox's call) once its result is known to fit,
    and not deeper than MAX_CALL_DEPTH calls within calls."""
    args = _check_call(obj, args, kwargs)
    current = _local.budget
    if current is None:
        return checked(invoke(obj, *args, **kwargs))
    if current.depth >= MAX_CALL_DEPTH:
        raise TemplateLimitError(
            f"nested too deeply: macros may call each other {MAX_CALL_DEPTH} levels deep at most"
        )
    current.depth += 1
    try:
        return checked(invoke(obj, *args, **kwargs))
    finally:
        current.depth -= 1


def _check_call(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    """Refuse a call whose result could not fit; returns the arguments to call with. All of
    them together must fit one value (a macro keeps its ``varargs`` as one tuple)."""
    limits = _limits()
    receiver = getattr(obj, "__self__", None)
    if receiver is None:  # the sandbox wraps str.format in a function of its own
        receiver = getattr(getattr(obj, "__wrapped__", None), "__self__", None)
    name = getattr(obj, "__name__", "")
    if name == "join" and isinstance(receiver, str | bytes) and args:
        args = (_materialized(args[0]), *args[1:])
    if isinstance(receiver, str | bytes) and name in sizes.METHODS:
        size = sizes.METHODS[name](receiver, args, kwargs, limits.max_chars)
        _require(size, limits, "string")
    elif isinstance(receiver, int) and name == "to_bytes":
        _require(sizes.to_bytes_size(args, kwargs), limits, "string")
    elif obj is generate_lorem_ipsum:
        _require(sizes.lipsum_size(args, kwargs), limits, "string")
    if args or kwargs:
        _require(sizes.measure((args, kwargs), limits.max_chars).size, limits, "arguments")
    return args


def _materialized(value: Any) -> Any:
    # A generator's items are only known by running it. LoopContext is an iterator too, but
    # consuming the loop a template is in would change what it renders.
    if isinstance(value, Iterator) and not isinstance(value, LoopContext):
        return list(value)
    return value


# Filters that neither copy nor print what they get: nothing to measure after.
_PASS_THROUGH = frozenset(
    {"length", "count", "first", "last", "random", "default", "d", "attr", "min", "max"}
    | {"abs", "int", "float", "round", "filesizeformat", "map", "select", "reject"}
    | {"selectattr", "rejectattr", "items"}
)
_CONSUMING = frozenset({"join", "sum"})  # they consume an iterator whole: count it first
_LISTS = frozenset({"batch", "slice", "sum"})  # what the others build is a string


def bounded_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    bounded = {name: _bounded_filter(name, func) for name, func in filters.items()}
    bounded["pprint"] = _bounded_filter("pprint", _pprint)
    return bounded


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    estimate = sizes.FILTERS.get(name)
    # A @pass_context (@pass_eval_context, @pass_environment) filter gets that first.
    skip = 1 if getattr(func, "jinja_pass_arg", None) else 0

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        current = _local.budget
        if current is None or not current.running:
            # Jinja folds constant filter calls while compiling, outside every budget:
            # refusing makes it leave the call for run time, under the bounds.
            raise TemplateLimitError("filters run only while a template runs")
        if name in _CONSUMING and len(args) > skip:
            args = (*args[:skip], _materialized(args[skip]), *args[skip + 1 :])
        if estimate is not None and len(args) > skip:
            size = estimate(args[skip], args[skip + 1 :], kwargs, current.limits.max_chars)
            _require(size, current.limits, "list" if name in _LISTS else "string")
        result = func(*args, **kwargs)
        return result if name in _PASS_THROUGH else checked(result)

    return bounded


def _pprint(value: Any) -> str:
    """``pformat(value)``, written to a stream that refuses to grow past the limit (pprint
    indents by the length of keys, which no estimate captures well)."""
    stream = _CappedText(_limits())
    pprint.PrettyPrinter(stream=stream).pprint(value)
    return stream.getvalue()[:-1]  # pprint() ends with a newline, pformat() does not


class _CappedText(io.StringIO):
    def __init__(self, limits: Limits):
        super().__init__()
        self.limits = limits

    def write(self, text: str) -> int:
        _require(self.tell() + len(text), self.limits, "string")
        return super().write(text)
