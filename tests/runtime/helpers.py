"""Build flows and start runs for runtime tests."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User

from designer.models import Flow
from designer.services import flow_create, flow_publish
from runtime.models import Run
from runtime.runs import run_start
from tests.conftest import Team
from tests.factories import edge, graph, node


def manual(*steps: dict[str, Any], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return graph(node("start", "trigger.manual"), *steps, edges=edges)


def chain(*steps: dict[str, Any]) -> dict[str, Any]:
    """start → steps[0] → steps[1] → ..."""
    ids = ["start", *(step["id"] for step in steps)]
    return manual(*steps, edges=[edge(a, b) for a, b in itertools.pairwise(ids)])


def with_settings(step: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return step | {"settings": settings}


def publish(team: Team, graph_data: dict[str, Any], name: str = "Flow") -> Flow:
    flow = flow_create(user=team.editor, workspace=team.workspace, name=name, graph=graph_data)
    flow_publish(flow=flow, user=team.editor, number=1)
    flow.refresh_from_db()
    return flow


def start(team: Team, graph_data: dict[str, Any], payload: Any = None) -> Run:
    return start_live(publish(team, graph_data), payload, started_by=team.editor)


def start_live(flow: Flow, payload: Any = None, started_by: User | None = None) -> Run:
    """A run of ``flow``'s live version, as a test starts it."""
    assert flow.live_version is not None
    return run_start(
        flow=flow,
        version=flow.live_version,
        payload=payload or {},
        started_by=started_by,
        origin="test",
    )


def outputs(run: Run) -> dict[str, Any]:
    return {step.node_id: step.output for step in run.steps.all()}


def statuses(run: Run) -> dict[str, str]:
    return {step.node_id: step.status for step in run.steps.all()}
