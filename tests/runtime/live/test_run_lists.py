"""The live lists of runs (the designer's Runs tab, /runs/, the flows list) over the real
ASGI server, worker and Redis channel layer: who may listen, and what they are told."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from websockets.exceptions import InvalidStatus

from designer.access import workspace_list_for_user
from designer.services import flow_create, flow_publish
from runtime.live import publish as live_publish
from runtime.models import Run
from runtime.runs import run_start
from tests.conftest import Team, Web
from tests.factories import node
from tests.runtime.helpers import chain, publish, start
from tests.runtime.live.client import live, receive, until
from tests.runtime.loops import loop_run
from tests.stack import wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SECRET_ERROR = "card 4242-4242 declined"
FAILING = "def handler(event, context):\n    raise ValueError('" + SECRET_ERROR + "')\n"


def finished(run_id: int) -> Any:
    def predicate(message: dict[str, Any]) -> bool:
        run = message.get("run") or {}
        return run.get("id") == run_id and run.get("status") in ("succeeded", "failed")

    return predicate


def test_the_runs_socket_tells_members_which_runs_start_and_finish_but_never_their_errors(
    team: Team, web: Web
) -> None:
    flow = publish(team, chain(node("boom", "code.python", source=FAILING)))
    with live(web, "/ws/runs/", team.viewer) as socket:
        assert receive(socket) == {"type": "snapshot"}
        response = team.client(team.editor).post(f"/api/flows/{flow.pk}/runs/", {}, format="json")
        run_id = response.json()["id"]
        frames = until(socket, finished(run_id))
    assert frames[0]["new"] is True and frames[0]["run"]["status"] == "pending"
    assert frames[-1]["run"] | {"created_at": None, "started_at": None, "finished_at": None} == {
        "id": run_id,
        "flow_id": flow.pk,
        "workspace_id": team.workspace.pk,
        "status": "failed",
        "trigger_kind": "manual",
        "is_test": False,
        "created_at": None,
        "started_at": None,
        "finished_at": None,
    }
    assert SECRET_ERROR in Run.objects.get(pk=run_id).error
    assert SECRET_ERROR not in json.dumps(frames)
    assert all("error" not in frame["run"] for frame in frames)


def test_a_flows_socket_lists_summaries_without_errors(team: Team, web: Web) -> None:
    run = wait_for_run(start(team, chain(node("boom", "code.python", source=FAILING))))
    assert SECRET_ERROR in run.error
    with live(web, f"/ws/flows/{run.flow_id}/runs/", team.viewer) as socket:
        snapshot = receive(socket)
    assert [(summary["id"], summary["status"]) for summary in snapshot["runs"]] == [
        (run.pk, "failed")
    ]
    assert SECRET_ERROR not in json.dumps(snapshot)


def test_an_outsider_hears_nothing_of_another_workspaces_runs(team: Team, web: Web) -> None:
    elsewhere = workspace_list_for_user(user=team.outsider).get()
    theirs = flow_create(
        user=team.outsider,
        workspace=elsewhere,
        name="Theirs",
        graph=chain(node("a", "data.transform", value=1)),
    )
    flow_publish(flow=theirs, user=team.outsider, number=1)
    theirs.refresh_from_db()
    assert theirs.live_version is not None
    with (
        live(web, "/ws/runs/", team.viewer) as member,
        live(web, "/ws/runs/", team.outsider) as outsider,
    ):
        receive(member), receive(outsider)
        ours = start(team, chain(node("a", "data.transform", value=1)))
        until(member, finished(ours.pk))
        # Only now their own run: had the outsider joined our workspace, our run's frames
        # would reach them first.
        other = run_start(flow=theirs, version=theirs.live_version, payload={})
        heard = until(outsider, finished(other.pk))
    assert {frame["run"]["id"] for frame in heard} == {other.pk}


def test_an_outsider_is_refused_by_a_flows_socket(team: Team, web: Web) -> None:
    flow = publish(team, chain(node("a", "data.transform", value=1)))
    with (
        pytest.raises(InvalidStatus) as refused,
        live(web, f"/ws/flows/{flow.pk}/runs/", team.outsider),
    ):
        pass
    assert refused.value.response.status_code == 403


def test_someone_not_logged_in_is_refused_by_the_runs_socket(web: Web) -> None:
    with pytest.raises(InvalidStatus) as refused, live(web, "/ws/runs/", None):
        pass
    assert refused.value.response.status_code == 403


def _send(group: str, event: dict[str, Any]) -> None:
    async_to_sync(get_channel_layer().group_send)(group, event)


def test_the_lists_sockets_never_hear_a_loops_item_runs(team: Team, web: Web) -> None:
    # An open item keeps the loop waiting: no sweep wakes it, so every frame is ours.
    run = loop_run(team, items=3, open_={2})
    item = Run.objects.filter(scope="loop").select_related("flow").first()
    assert item is not None
    flow_path = f"/ws/flows/{run.flow_id}/runs/"
    with live(web, flow_path, team.viewer) as flows, live(web, "/ws/runs/", team.viewer) as runs:
        assert [summary["id"] for summary in receive(flows)["runs"]] == [run.pk]
        receive(runs)
        with transaction.atomic():  # published as the engine does, on commit, in order
            live_publish.publish_run(item)
            live_publish.publish_run(run)
        # Frames arrive in order: up to the loop's own run, the item's was not among them.
        for socket in (flows, runs):
            heard = until(socket, lambda frame: frame.get("run", {}).get("id") == run.pk)
            assert [frame["run"]["id"] for frame in heard] == [run.pk]


def test_a_run_page_and_its_flows_socket_hear_a_loops_progress(team: Team, web: Web) -> None:
    run = loop_run(team, items=2, open_={1})
    frame = {
        "type": "step.progress",
        "run_id": run.pk,
        "step_id": run.steps.get(node_id="loop").pk,
        "node_id": "loop",
        "progress": {"total": 40, "done": 37, "failed": 3, "running": 3},
    }
    with live(web, f"/ws/runs/{run.pk}/", team.viewer) as page:
        snapshot = receive(page)
        assert snapshot["type"] == "snapshot"
        with live(web, f"/ws/flows/{run.flow_id}/runs/", team.viewer) as flows:
            receive(flows)
            _send(live_publish.run_group(run.pk), frame)
            _send(live_publish.flow_group(run.flow_id), frame)
            assert receive(page) == frame
            assert receive(flows) == frame
