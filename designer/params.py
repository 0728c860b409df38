"""Reading ids and search terms from query strings and forms, for the API and the pages.

``str.isdigit`` is no guard before ``int()``: it is True for "²" and other Unicode digits
that ``int`` refuses (a 500), and a 30-digit id overflows the database's bigint. NUL
characters reach PostgreSQL, which refuses them in text (another 500).
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework.exceptions import ValidationError

MAX_ID = 2**63 - 1  # PostgreSQL's bigint


def positive_int(value: object) -> int | None:
    """``value`` as a positive id (ASCII digits, within bigint), else None."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def id_param(params: Mapping[str, str], name: str) -> int | None:
    """The query parameter ``name`` as an id; None when it is absent or empty. Anything
    else is a 400 (DRF's ValidationError) naming the parameter."""
    value = params.get(name, "")
    if value == "":
        return None
    number = positive_int(value)
    if number is None:
        raise ValidationError({name: [f"{name} must be a positive whole number (an id)."]})
    return number


def search_param(params: Mapping[str, str], name: str = "q", *, limit: int = 200) -> str:
    """Search text: NUL characters dropped (PostgreSQL cannot compare them), trimmed,
    at most ``limit`` characters."""
    return params.get(name, "").replace("\x00", "").strip()[:limit]
