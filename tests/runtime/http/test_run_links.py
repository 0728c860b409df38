"""Parent and child runs of a flow.call link to each other in the API and on the run
pages, for those who may see both; a viewer who cannot see the callee's workspace sees
the calling step's own output and no link."""

from __future__ import annotations

import pytest

from designer.models import Flow, Workspace
from runtime.engine.execute import step_execute
from runtime.models import Run
from tests.conftest import Team
from tests.runtime.callees import call, greeter
from tests.runtime.helpers import chain, start
from tests.stack import flush_broker

pytestmark = [pytest.mark.django_db(transaction=True)]


def _called(team: Team) -> tuple[Run, Run]:
    """A finished run whose step 'call' called the Greeter flow (run in process)."""
    run = start(team, chain(call("call", greeter(team))))
    step = run.steps.get(node_id="call")
    step_execute(step.pk)
    child = Run.objects.get(parent_step=step)
    step_execute(child.steps.get(node_id="greet").pk)
    step_execute(step.pk)
    flush_broker()
    run.refresh_from_db()
    return run, child


def test_the_api_links_the_parent_and_the_child(team: Team) -> None:
    run, child = _called(team)
    client = team.client(team.viewer)
    parent_view = client.get(f"/api/runs/{run.pk}/").json()
    child_view = client.get(f"/api/runs/{child.pk}/").json()
    assert [(c["run_id"], c["flow_name"], c["node_id"]) for c in parent_view["children"]] == [
        (child.pk, "Greeter", "call")
    ]
    assert child_view["parent_run"] == {
        "run_id": run.pk,
        "flow": run.flow_id,
        "flow_name": "Flow",
        "status": "succeeded",
        "node_id": "call",
        "item_index": None,
    }
    assert parent_view["parent_run"] is None and child_view["children"] == []


def test_the_run_pages_link_the_parent_and_the_child(team: Team) -> None:
    run, child = _called(team)
    client = team.client(team.viewer)
    parent_page = client.get(f"/runs/{run.pk}/").content.decode()
    child_page = client.get(f"/runs/{child.pk}/").content.decode()
    assert f'href="/runs/{child.pk}/">Greeter run #{child.pk}</a>' in parent_page
    assert f'href="/runs/{run.pk}/">Flow run #{run.pk}</a>' in child_page


def test_a_viewer_who_cannot_see_the_callee_sees_only_the_steps_output(team: Team) -> None:
    run, child = _called(team)
    # The callee moved to a workspace the viewer is not in.
    Flow.objects.filter(pk=child.flow_id).update(workspace=Workspace.objects.get(name="Elsewhere"))
    client = team.client(team.viewer)
    body = client.get(f"/api/runs/{run.pk}/")
    assert body.json()["children"] == []
    assert "Greeter" not in body.content.decode()
    step = next(s for s in body.json()["steps"] if s["node_id"] == "call")
    assert step["output"] == {"run_id": child.pk, "output": {"greeting": "hi Ada"}}
    assert "Greeter" not in client.get(f"/runs/{run.pk}/").content.decode()
    assert client.get(f"/api/runs/{child.pk}/").status_code == 404
    assert client.get(f"/runs/{child.pk}/").status_code == 404
