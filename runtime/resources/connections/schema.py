"""The config field that names a connection, shared by the kinds that use one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"


def connection_field(kinds: Sequence[str], title: str = "Connection") -> dict[str, Any]:
    """A connection's name. The designer offers the workspace's connections of ``kinds``
    (``x-widget: connection``); anything else can still type the name."""
    return {
        "type": "string",
        "title": title,
        "pattern": NAME_PATTERN,
        "x-widget": "connection",
        "x-connection-kinds": list(kinds),
        "description": "The name of a connection an admin defined for this workspace.",
    }
