"""The one place that publishes live run events, always after the change is committed.

Groups: ``run-<id>`` for a run page, ``flow-<id>`` for a flow's run list. Messages are
hints: a page that missed some re-reads the database on (re)connect.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def flow_group(flow_id: int) -> str:
    return f"flow-{flow_id}"


def publish_run(run: Any) -> None:
    """The run's own state changed (started, finished, cancelled)."""
    event = {"type": "run.changed", "run": _run_data(run)}
    _after_commit([run_group(run.pk), flow_group(run.flow_id)], event)


def publish_step(step: Any, *, flow_id: int) -> None:
    event = {"type": "step.changed", "step": step_data(step)}
    _after_commit([run_group(step.run_id)], event)


def publish_log(*, run_id: int, node_id: str, line: str) -> None:
    """A line printed by a code step, sent at once: it is not stored until the step ends."""
    _send([run_group(run_id)], {"type": "step.log", "node_id": node_id, "line": line})


def step_data(step: Any) -> dict[str, Any]:
    return {
        "id": step.pk,
        "run_id": step.run_id,
        "node_id": step.node_id,
        "status": step.status,
        "attempt": step.attempt,
        "error": step.error,
        "started_at": _iso(step.started_at),
        "finished_at": _iso(step.finished_at),
    }


def _run_data(run: Any) -> dict[str, Any]:
    return {
        "id": run.pk,
        "flow_id": run.flow_id,
        "status": run.status,
        "error": run.error,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _after_commit(groups: list[str], event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _send(groups, event))


def _send(groups: list[str], event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, event)
    except Exception:  # a lost live update must never fail a step; pages re-sync
        logger.warning("Could not publish %s to %s", event["type"], groups, exc_info=True)
