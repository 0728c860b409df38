"""A table Tributary did not create, flows that watch it, and what is installed on it: for
the database-change trigger tests."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection

from designer.models import Flow
from runtime.models import Run
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish

ROW_SUMMARY = "{{ event.trigger.operation }} {{ (event.trigger.new or event.trigger.old).id }}"


def watch_graph(table: str, **config: Any) -> dict[str, Any]:
    return graph(
        node("rows", "trigger.dbchange", table=table, **config),
        node("shape", "data.transform", value=ROW_SUMMARY),
        edges=[edge("rows", "shape")],
    )


def watch(team: Team, table: str, name: str = "Flow", **config: Any) -> Flow:
    return publish(team, watch_graph(table, **config), name)


def execute(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def installed(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'tributary_capture' "
            "AND tgrelid = %s::regclass",
            [table],
        )
        return cursor.fetchone() is not None


def runs_eventually(count: int, timeout: float = 20) -> list[Run]:
    """All runs, once there are ``count`` of them (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while Run.objects.count() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(Run.objects.order_by("id"))
