"""How big a value is, and how big what an operation would build could be, in characters.

The estimates run *before* the operation: Python cannot interrupt the C call that builds a
string, so ``"x".ljust(10**9)`` must be refused before it allocates. Each estimate is an
upper bound that is close for the usual case and never smaller than the result. They take
the subject (a str method's receiver, a filter's value), the other arguments and the limit,
past which a walk over a value may stop (see ``measure``). Used by template_bounds.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, ItemsView, KeysView, Mapping, ValuesView
from typing import Any, NamedTuple

from jinja2.utils import Namespace

from runtime.kinds.taint import ReadSteps

# A run may build this many times its largest value in all: many values of allowed size,
# each held by a variable or a buffer, add up to as much memory as one huge value.
WORK_FACTOR = 8
_BITS_PER_DIGIT = math.log2(10)
_SCALARS = (float, type(None))
_CONTAINERS = (set, frozenset, KeysView, ValuesView, ItemsView)


class Measure(NamedTuple):
    size: int  # about len(str(value)); past the limit, only "more than the limit"
    depth: int  # how deeply containers nest
    items: int  # how many values it holds, itself included


def measure(value: Any, limit: int) -> Measure:
    """How big ``value`` is when printed. Walks it without recursion and stops once past
    ``limit``, so the cost is bounded even for ``[x, x]`` nested forty times (2**40 values
    in a few bytes of memory)."""
    total = depth = items = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack and total <= limit:
        item, level = stack.pop()
        items += 1
        depth = max(depth, level)
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int):
            total += digits(item)
        elif isinstance(item, _SCALARS):
            total += 5
        else:
            children = _children(item)
            total += 5 if children is None else 2 + 2 * len(children)
            for child in children or ():
                stack.append((child, level + 1))
    return Measure(total, depth, items)


def _children(item: Any) -> list[Any] | None:
    if isinstance(item, list | tuple):  # the usual containers first: the rest are ABCs
        return list(item)
    if isinstance(item, dict):
        return [part for pair in item.items() for part in pair]
    if isinstance(item, Namespace):
        return _children(item._Namespace__attrs)  # its attributes live there, and only there
    if isinstance(item, ReadSteps):
        return _children(item.peek())  # event.steps: measuring it reads no step's output
    if isinstance(item, _CONTAINERS):
        return list(item)
    return None


def size(value: Any, limit: int) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, int):
        return digits(value)
    if isinstance(value, _SCALARS):
        return 5
    return measure(value, limit).size


def digits(number: int) -> int:
    return int(abs(number).bit_length() / _BITS_PER_DIGIT) + 1


def power_digits(base: Any, exponent: Any) -> float:
    """How many digits ``base ** exponent`` has, for ints (0 for anything cheap: floats
    overflow at once, and 0, 1, -1 or a negative exponent stay small)."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2 or exponent < 1:
        return 0
    if exponent.bit_length() > 64:  # the product below would not fit a float
        return math.inf
    return exponent * math.log10(abs(base)) + 1


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)")
_NUMBER_WIDTH = 320  # "%f" % 1e308 prints 316 characters
_REPR_GROWTH = 10  # !r and %r escape: one character may print as \U0001f600


def percent_size(template: Any, values: Any, limit: int) -> int:
    """``template % values``: every conversion may print the widest value, its width and its
    precision (``*`` takes the largest int given)."""
    if not isinstance(template, str | bytes):
        return 0
    text = template if isinstance(template, str) else template.decode("latin-1")
    widest, star = _widest(values if isinstance(values, tuple) else (values,), limit)
    total = len(text)
    for spec in _PERCENT_SPEC.finditer(text):
        width, precision, conversion = spec.groups()
        for number in (width, precision):
            total += star if number == "*" else int(number or 0)
        total += widest * (_REPR_GROWTH if conversion in ("r", "a") else 1)
        total += 0 if conversion in ("s", "r", "a", "%") else _NUMBER_WIDTH
    return total


def _widest(values: tuple[Any, ...], limit: int) -> tuple[int, int]:
    """The size of the largest value, and the largest int (a ``*`` width may take it)."""
    widest = star = 0
    for value in values:
        widest = max(widest, size(value, limit))
        if isinstance(value, int):
            star = max(star, value)
    return widest, star


def brace_size(template: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], limit: int) -> int:
    """``template.format(*args, **kwargs)``, like ``percent_size``; a ``{}`` nested in a
    spec counts as the largest int given."""
    if not isinstance(template, str):
        return 0
    widest, star = _widest((*args, *kwargs.values()), limit)
    total = len(template)
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if spec and "{" in spec:
            total += 2 * star
        elif spec:
            total += sum(int(number) for number in re.findall(r"\d+", spec)) + _NUMBER_WIDTH
        total += widest * (_REPR_GROWTH if conversion in ("r", "a") else 1)
    return total


Estimate = Callable[[Any, tuple[Any, ...], Mapping[str, Any], int], int]


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _count(value: Any, default: int = 0) -> int:
    """A width or count argument; anything else is left for Python to refuse."""
    return value if isinstance(value, int) else default


def _replaced(s: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    text, old, new, count = s, _arg(a, k, 0, "old"), _arg(a, k, 1, "new"), _arg(a, k, 2, "count")
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _joined(separator: Any, items: Any, limit: int) -> int:
    count = len(items) if isinstance(items, str | bytes | list | tuple | dict) else 0
    return size(items, limit) + count * size(separator, limit)


def _justified(s: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    return max(len(s), _count(_arg(a, k, 0, "width")))


def _expanded(s: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    tabs = s.count("\t" if isinstance(s, str) else b"\t")
    return len(s) + tabs * _count(_arg(a, k, 0, "tabsize"), 8)


def _translated(s: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    table = a[0] if a else None
    values = table.values() if isinstance(table, Mapping) else ()
    return len(s) * max((size(value, limit) for value in values), default=1)


def _formatted_map(s: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    mapping = a[0] if a else None
    return brace_size(s, (), mapping, limit) if isinstance(mapping, Mapping) else 0


# str (and bytes) methods: (receiver, args, kwargs, limit) → characters.
METHODS: dict[str, Estimate] = {
    "ljust": _justified,
    "rjust": _justified,
    "center": _justified,
    "zfill": _justified,
    "expandtabs": _expanded,
    "replace": _replaced,
    "join": lambda s, a, k, limit: _joined(s, _arg(a, k, 0, "iterable"), limit),
    "format": brace_size,
    "format_map": _formatted_map,
    "translate": _translated,
}


def _centered(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    return max(size(v, limit), _count(_arg(a, k, 0, "width")))


def _indented(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    width = _arg(a, k, 0, "width")
    unit = len(width) if isinstance(width, str) else _count(width, 4)
    lines = len(v.splitlines()) + 1 if isinstance(v, str) else 1
    return size(v, limit) + lines * unit  # " " * width is built even for one line


def _wrapped(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    if not isinstance(v, str):
        return 0
    width, wrapstring = _count(_arg(a, k, 0, "width"), 79), _arg(a, k, 2, "wrapstring")
    # Of two lines in a row, the first would have taken the second's first word if it fitted.
    breaks = 2 * len(v) // max(width, 1) + v.count("\n") + 1
    return len(v) + breaks * (len(wrapstring) if isinstance(wrapstring, str) else 1)


def _batched(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    fill = _arg(a, k, 1, "fill_with")
    if fill is None:
        return 0  # the batches hold the items given, no more
    return size(v, limit) + _count(_arg(a, k, 0, "linecount")) * (2 + size(fill, limit))


def _sliced(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    fill = _arg(a, k, 1, "fill_with")
    per_slice = 2 + (0 if fill is None else size(fill, limit))  # it loops once per slice
    return size(v, limit) + _count(_arg(a, k, 0, "slices")) * per_slice


def _summed(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    """Summing lists copies the total so far at every step: about n * size / 2 of work,
    which must fit the run's whole allowance."""
    first = v[0] if isinstance(v, list) and v else None
    if isinstance(_arg(a, k, 1, "start"), list | tuple) or isinstance(first, list | tuple):
        return len(v) * size(v, limit) // (2 * WORK_FACTOR)
    return 0


def _json(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    total, depth, items = measure(v, limit)
    return total + items * depth * _count(_arg(a, k, 0, "indent"))  # indentation per line


def _urlized(v: Any, a: tuple[Any, ...], k: Mapping[str, Any], limit: int) -> int:
    extra = (_arg(a, k, 2, "target"), _arg(a, k, 3, "rel"))  # repeated around every link
    return size(v, limit) * (1 + sum(len(e) for e in extra if isinstance(e, str)))


def to_bytes_size(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``number.to_bytes(length)``."""
    return _count(_arg(args, kwargs, 0, "length"), 1)


def lipsum_size(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """``lipsum(n=5, html=True, min=20, max=100)``: n paragraphs of at most max words."""
    paragraphs, words = (
        _count(_arg(args, kwargs, 0, "n"), 5),
        _count(_arg(args, kwargs, 3, "max"), 100),
    )
    return paragraphs * (words * 16 + 10)


# Filters: (value, the arguments after it, kwargs, limit) → characters. Filters not listed
# build at most a few times what they get (escaping), which is measured after they ran.
FILTERS: dict[str, Estimate] = {
    "center": _centered,
    "indent": _indented,
    "wordwrap": _wrapped,
    "replace": _replaced,
    "join": lambda v, a, k, limit: _joined(_arg(a, k, 0, "d") or "", v, limit),
    "format": lambda v, a, k, limit: percent_size(v, k or a, limit),
    "batch": _batched,
    "slice": _sliced,
    "sum": _summed,
    "tojson": _json,
    "urlize": _urlized,
}
