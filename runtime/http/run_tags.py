"""Template helpers for run pages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def pretty_json(value: Any) -> str:
    """JSON as people read it; plain text stays as it is."""
    if value == "" or isinstance(value, str):
        return str(value)
    return json.dumps(value, indent=2, ensure_ascii=False)
