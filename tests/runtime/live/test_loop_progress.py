"""A for-each's progress, live: item counts reach the run's page and the flow's canvas as
``step.progress`` frames (throttled, the final one always), and a page that connects
later reads the same counts from the snapshot."""

from __future__ import annotations

import pytest

from runtime.engine.status import RunStatus
from runtime.runs import run_start
from tests.conftest import Team, Web
from tests.factories import edge, node
from tests.runtime.helpers import manual, publish
from tests.runtime.live.client import live, receive, until
from tests.stack import wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_loop_s_item_counts_are_published_as_items_finish(team: Team, web: Web) -> None:
    flow = publish(
        team,
        manual(
            node("loop", "flow.foreach", items="{{ event.trigger.lines }}", concurrency=2),
            node("pause", "flow.delay", seconds=0.3) | {"parent": "loop"},
            edges=[edge("start", "loop")],
        ),
    )
    assert flow.live_version is not None
    with live(web, f"/ws/flows/{flow.pk}/runs/", team.viewer) as socket:
        receive(socket)  # the snapshot
        run = run_start(flow=flow, version=flow.live_version, payload={"lines": list(range(6))})
        frames = until(socket, lambda m: m.get("progress", {}).get("done") == 6)
    progress = [f for f in frames if f["type"] == "step.progress"]
    assert {(f["run_id"], f["node_id"]) for f in progress} == {(run.pk, "loop")}
    assert progress[-1]["progress"] == {"total": 6, "done": 6, "failed": 0, "running": 0}
    assert all(set(f["progress"]) == {"total", "done", "failed", "running"} for f in progress)
    assert all(f["progress"]["running"] <= 2 for f in progress)  # the window holds
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    with live(web, f"/ws/runs/{run.pk}/", team.viewer) as socket:
        steps = {s["node_id"]: s for s in receive(socket)["steps"]}
    assert steps["loop"]["progress"] == {"total": 6, "done": 6, "failed": 0, "running": 0}
    assert steps["start"]["progress"] is None
