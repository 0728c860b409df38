"""Live run status over websockets, against the real ASGI server, worker and Redis
channel layer: snapshot then stream, permission and origin checks, reconnects."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from runtime.engine.status import StepStatus
from runtime.models import Run
from runtime.services import secret_set
from tests.conftest import Team, Web
from tests.factories import node
from tests.runtime.helpers import chain, publish, start
from tests.runtime.live.client import live, receive, until
from tests.stack import wait_for_run, wait_for_step

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def slow_flow() -> dict[str, Any]:
    return chain(
        node("wait", "flow.delay", seconds=1.5), node("shape", "data.transform", value="done")
    )


def test_a_run_page_gets_the_state_then_every_change(team: Team, web: Web) -> None:
    run = start(team, slow_flow())
    with live(web, f"/ws/runs/{run.pk}/", team.viewer) as socket:
        snapshot = receive(socket)
        assert snapshot["type"] == "snapshot" and snapshot["run"]["id"] == run.pk
        assert {s["node_id"] for s in snapshot["steps"]} == {"start", "wait", "shape"}
        events = until(
            socket, lambda m: m["type"] == "run.changed" and m["run"]["status"] == "succeeded"
        )
    changes = [
        (e["step"]["node_id"], e["step"]["status"]) for e in events if e["type"] == "step.changed"
    ]
    assert ("shape", "running") in changes and ("shape", "succeeded") in changes
    assert changes.index(("shape", "running")) < changes.index(("shape", "succeeded"))


def test_reconnecting_mid_run_gets_the_current_state(team: Team, web: Web) -> None:
    run = start(team, slow_flow())
    wait_for_step(run, "wait", StepStatus.WAITING)
    with live(web, f"/ws/runs/{run.pk}/", team.editor) as socket:
        states = {s["node_id"]: s["status"] for s in receive(socket)["steps"]}
    assert states == {"start": "succeeded", "wait": "waiting", "shape": "pending"}
    wait_for_run(run)
    with live(web, f"/ws/runs/{run.pk}/", team.editor) as socket:
        snapshot = receive(socket)
    assert snapshot["run"]["status"] == "succeeded"
    assert {s["status"] for s in snapshot["steps"]} == {"succeeded"}


def test_a_flow_socket_streams_its_runs(team: Team, web: Web) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    with live(web, f"/ws/flows/{flow.pk}/runs/", team.viewer) as socket:
        assert receive(socket) == {"type": "snapshot", "runs": []}
        response = team.client(team.editor).post(f"/api/flows/{flow.pk}/runs/", {}, format="json")
        run_id = response.json()["id"]
        events = until(
            socket, lambda m: m["type"] == "run.changed" and m["run"]["status"] == "succeeded"
        )
    assert {e["run"]["id"] for e in events} == {run_id}


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
def test_someone_who_may_not_see_the_run_is_refused(team: Team, web: Web, who: str) -> None:
    run = start(team, chain(node("shape", "data.transform", value=1)))
    user = team.outsider if who == "outsider" else None
    with pytest.raises(InvalidStatus) as refused, live(web, f"/ws/runs/{run.pk}/", user):
        pass
    assert refused.value.response.status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


def test_a_foreign_origin_is_refused(team: Team, web: Web) -> None:
    run = start(team, chain(node("shape", "data.transform", value=1)))
    with (
        pytest.raises(InvalidStatus),
        live(web, f"/ws/runs/{run.pk}/", team.editor, origin="https://evil.example"),
    ):
        pass


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_printed_lines_stream_live_to_editors_redacted_and_never_to_viewers(
    team: Team, web: Web, role: str
) -> None:
    secret_set(workspace=team.workspace, name="API_KEY", value="sk-live-999", user=team.admin)
    source = (
        "def handler(event, context):\n"
        "    print('calling with', context['secrets']['API_KEY'])\n"
        "    print('done')\n"
        "    return 1\n"
    )
    run = start(
        team,
        chain(
            node("wait", "flow.delay", seconds=1.5),
            node("use", "code.python", source=source, secrets=["API_KEY"]),
        ),
    )
    with live(web, f"/ws/runs/{run.pk}/", getattr(team, role)) as socket:
        receive(socket)  # the snapshot, while the delay holds the code step back
        events = until(
            socket, lambda m: m["type"] == "run.changed" and m["run"]["status"] == "succeeded"
        )
    lines = [e["line"] for e in events if e["type"] == "step.log" and e["node_id"] == "use"]
    # A step that reads a secret may print it encoded: a viewer gets none of its lines.
    assert lines == (["calling with [redacted:API_KEY]", "done"] if role == "editor" else [])
    assert "sk-live-999" not in json.dumps(events)


def test_a_page_that_connects_late_reads_the_lines_printed_so_far(team: Team, web: Web) -> None:
    source = (
        "import time\n"
        "def handler(event, context):\n"
        "    print('first')\n"
        "    time.sleep(6)\n"
        "    print('second')\n"
        "    return 1\n"
    )
    run = start(team, chain(node("slow", "code.python", source=source)))
    wait_for_step(run, "slow", StepStatus.RUNNING)
    api = team.client(team.viewer)
    deadline = time.monotonic() + 20
    while True:  # the heartbeat stores the lines so far every fifth of the lease
        step = next(
            s for s in api.get(f"/api/runs/{run.pk}/").json()["steps"] if s["node_id"] == "slow"
        )
        if step["logs"] == "first":
            break
        assert time.monotonic() < deadline, f"never stored the first line: {step}"
        time.sleep(0.1)
    assert step["status"] == "running"
    with live(web, f"/ws/runs/{run.pk}/", team.viewer) as socket:
        receive(socket)
        events = until(socket, lambda m: m["type"] == "step.log")
    assert (events[-1]["line"], events[-1]["index"]) == ("second", 1)
    assert wait_for_run(run).steps.get(node_id="slow").logs == "first\nsecond"
