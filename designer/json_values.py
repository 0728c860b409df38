"""What a JSON column can hold faithfully: the checks the graph, run inputs and step
outputs share (NUL characters, lone surrogates, NaN, absurd nesting)."""

from __future__ import annotations

import re
from typing import Any

MAX_JSON_DEPTH = 64


def json_problem(
    value: Any, *, what: str = "The graph", max_depth: int = MAX_JSON_DEPTH
) -> str | None:
    """Why ``value`` cannot be stored faithfully in a JSON column, or None: NUL characters
    and lone surrogates (``json.loads`` accepts ``"\\ud800"``), which PostgreSQL refuses;
    NaN and Infinity, which JSON lacks; absurd nesting. The message says where."""
    if _find_problem(value, max_depth, trails=False) is None:
        return None
    # Walk again noting paths: the common, clean case never pays for building them.
    found = _find_problem(value, max_depth, trails=True)
    assert found is not None
    problem, trail, ending = found
    return f"{what} {problem}{_where(trail)}{ending}"


# The way back from a value to the root: (parent's trail, key or index), None at the root.
_Trail = tuple[Any, str | int] | None
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = ", which cannot be stored."


def _find_problem(value: Any, max_depth: int, *, trails: bool) -> tuple[str, _Trail, str] | None:
    """The first problem as (what is wrong, where, the end of the sentence)."""
    stack: list[tuple[Any, int, _Trail]] = [(value, 0, None)]
    while stack:
        current, depth, trail = stack.pop()
        if depth > max_depth:
            return f"is nested more than {max_depth} levels deep", None, "."
        if isinstance(current, str):
            problem = text_problem(current)
            if problem:
                return f"contains {problem}", trail, _UNSTORABLE
        elif isinstance(current, float):
            if current != current or current in (float("inf"), float("-inf")):
                return "contains NaN or Infinity", trail, ", which JSON does not allow."
        elif isinstance(current, dict):
            for key, item in current.items():
                if not isinstance(key, str):
                    return f"contains a key that is not text ({key!r})", trail, "."
                problem = text_problem(key)
                if problem:
                    return f"contains {problem} in a key", trail, _UNSTORABLE
                # A trail only holds keys already found clean: messages never quote bad ones.
                stack.append((item, depth + 1, (trail, key) if trails else None))
        elif isinstance(current, list | tuple):
            if trails:
                stack.extend((item, depth + 1, (trail, i)) for i, item in enumerate(current))
            else:
                stack.extend((item, depth + 1, None) for item in current)
        elif current is not None and not isinstance(current, bool | int):
            return f"contains a value JSON cannot hold ({type(current).__name__})", trail, "."
    return None


def text_problem(text: str) -> str | None:
    """What in ``text`` PostgreSQL cannot store (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    surrogate = None if text.isascii() else _SURROGATE.search(text)  # isascii: a fast path
    if surrogate:
        return f"a lone surrogate (\\u{ord(surrogate.group()):04x}, half of a UTF-16 pair)"
    return None


def _where(trail: _Trail) -> str:
    parts: list[str] = []
    while trail is not None:
        trail, key = trail
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    path = "".join(reversed(parts)).lstrip(".")
    return f" at {path[:200]}" if path else ""
