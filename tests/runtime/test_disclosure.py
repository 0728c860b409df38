"""A viewer can never recover a secret: whatever a secret flowed through, the steps it
reached (and their run's output and error) are shown to viewers only as "hidden: uses
secrets", through the API, the run page and the websocket, while editors see what they
did before (exact values still redacted). Real worker, server and fake API."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from runtime.disclosure import HIDDEN
from runtime.engine.status import RunStatus
from runtime.models import Run
from runtime.runs import run_retry
from runtime.services import secret_set
from tests.conftest import Team, Web
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, start
from tests.runtime.live.client import live, receive
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SECRET = "sk-live-999"
BASIC = base64.b64encode(f"user:{SECRET}".encode()).decode()
# Every form of the secret the flows below produce: none may reach a viewer.
DERIVED = [
    SECRET,
    SECRET.upper(),
    SECRET[::-1],
    " ".join(SECRET),
    repr(list(SECRET))[1:20],
    BASIC,
    SECRET.encode().hex(),
]
TRANSFORMS = {
    "upper": "{{ secrets.API_KEY | upper }}",
    "reverse": "{{ secrets.API_KEY | reverse }}",
    "spaced": "{{ secrets.API_KEY | join(' ') }}",
    "chars": "{{ secrets.API_KEY | list }}",
}
BASIC_AUTH = (
    "import base64\n"
    "def handler(event, context):\n"
    "    secret = context['secrets']['API_KEY']\n"
    "    print('built a header from', secret.upper())\n"
    "    return base64.b64encode(('user:' + secret).encode()).decode()\n"
)


@pytest.fixture
def api_key(team: Team) -> None:
    secret_set(workspace=team.workspace, name="API_KEY", value=SECRET, user=team.admin)


def secret_flow(fake_api: FakeApi) -> dict[str, Any]:
    """shape (filters of a secret) → auth (code building Basic auth) → call (HTTP with
    that header; the fake echoes it back) → copy (reads call's output) → plain (reads
    only the trigger)."""
    return chain(
        node("shape", "data.transform", value=TRANSFORMS),
        node("auth", "code.python", source=BASIC_AUTH, secrets=["API_KEY"]),
        node(
            "call",
            "http.request",
            method="POST",
            url=f"{fake_api.url}/echo",
            headers={"Authorization": "Basic {{ event.steps.auth }}"},
            body="{}",
        ),
        node("copy", "data.transform", value="{{ event.steps.call.body.headers }}"),
        node("plain", "data.transform", value="order {{ event.trigger.order }}"),
    )


def leaks(text: str) -> list[str]:
    return [form for form in DERIVED if form in text]


def page(run: Run, user: User) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/runs/{run.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def api(team: Team, run: Run, user: User) -> dict[str, Any]:
    response = team.client(user).get(f"/api/runs/{run.pk}/")
    assert response.status_code == 200
    return dict(response.json())


def test_the_secret_flows_as_expected_for_an_editor(
    team: Team, stack: Stack, fake_api: FakeApi, api_key: None
) -> None:
    run = wait_for_run(start(team, secret_flow(fake_api), {"order": 7}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    shown = api(team, run, team.editor)
    steps = {step["node_id"]: step for step in shown["steps"]}
    # Editors see derived values (what today's flows need to debug) but never the value.
    assert steps["shape"]["output"]["upper"] == SECRET.upper()
    assert steps["call"]["input"]["headers"]["Authorization"] == f"Basic {BASIC}"
    assert SECRET not in json.dumps(shown)
    assert {name for name, step in steps.items() if step["uses_secrets"]} == {
        "shape",
        "auth",
        "call",
        "copy",
    }
    assert steps["plain"]["output"] == "order 7" and shown["uses_secrets"] is True


@pytest.mark.parametrize("role", ["viewer", "outsider_turned_viewer"])
def test_a_viewer_sees_none_of_it_through_the_api_or_the_page(
    team: Team, stack: Stack, fake_api: FakeApi, api_key: None, role: str
) -> None:
    run = wait_for_run(start(team, secret_flow(fake_api), {"order": 7}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    viewer = team.viewer
    if role == "outsider_turned_viewer":  # membership, not the persona, decides
        team.workspace.memberships.create(user=team.outsider, role="viewer")
        viewer = team.outsider
    shown = api(team, run, viewer)
    listed = team.client(viewer).get(f"/api/runs/?flow={run.flow_id}").json()
    html = page(run, viewer)
    assert leaks(json.dumps(shown)) == [] and leaks(json.dumps(listed)) == []
    assert leaks(html) == []
    steps = {step["node_id"]: step for step in shown["steps"]}
    for name in ("shape", "auth", "call", "copy"):
        assert steps[name]["output"] == HIDDEN and steps[name]["input"] in (HIDDEN, None)
    assert steps["auth"]["logs"] == HIDDEN
    # What no secret reached stays visible: the trigger's input and the step reading it.
    assert steps["plain"]["output"] == "order 7" and steps["plain"]["uses_secrets"] is False
    assert shown["input"] == {"order": 7}
    assert shown["output"] == HIDDEN  # the run's output came from a step that used them
    assert "hidden: uses secrets" in html


def test_an_error_that_names_a_derived_value_is_hidden_from_viewers(
    team: Team, stack: Stack, fake_api: FakeApi, api_key: None, web: Web
) -> None:
    call = node(
        "call",
        "http.request",
        url=fake_api.url + "/status/500?key={{ secrets.API_KEY | upper }}",
    )
    run = wait_for_run(start(team, chain(call)))
    assert run.status == RunStatus.FAILED and SECRET.upper() in run.error
    shown = api(team, run, team.viewer)
    assert shown["error"] == HIDDEN and shown["steps"][1]["error"] == HIDDEN
    assert leaks(json.dumps(shown)) == [] and leaks(page(run, team.viewer)) == []
    with live(web, f"/ws/runs/{run.pk}/", team.viewer) as socket:
        snapshot = receive(socket)
    assert leaks(json.dumps(snapshot)) == [] and snapshot["run"]["error"] == HIDDEN
    with live(web, f"/ws/flows/{run.flow_id}/runs/", team.viewer) as socket:
        assert leaks(json.dumps(receive(socket))) == []
    assert SECRET.upper() in api(team, run, team.editor)["error"]  # editors keep it


def test_a_viewer_watching_live_gets_no_derived_value(
    team: Team, stack: Stack, fake_api: FakeApi, api_key: None, web: Web
) -> None:
    graph = secret_flow(fake_api)
    graph["nodes"].insert(1, node("wait", "flow.delay", seconds=1.5))
    graph["edges"][0] = {"source": "start", "target": "wait"}
    graph["edges"].insert(1, {"source": "wait", "target": "shape"})
    run = start(team, graph, {"order": 7})
    frames = []
    with live(web, f"/ws/runs/{run.pk}/", team.viewer) as socket:
        while True:
            frames.append(receive(socket))
            if frames[-1]["type"] == "run.changed" and frames[-1]["run"]["finished_at"]:
                break
    assert wait_for_run(run).status == RunStatus.SUCCEEDED
    assert leaks(json.dumps(frames)) == []
    assert not [f for f in frames if f["type"] == "step.log"]  # auth printed, hidden


def test_a_retry_keeps_hiding_the_outputs_it_carries_over(
    team: Team, stack: Stack, fake_api: FakeApi, api_key: None
) -> None:
    flaky = node("call", "http.request", url=f"{fake_api.url}/flaky/r?fail=1")
    run = wait_for_run(start(team, chain(node("shape", "data.transform", value=TRANSFORMS), flaky)))
    assert run.status == RunStatus.FAILED
    again = wait_for_run(run_retry(run=run, user=team.editor))
    assert again.status == RunStatus.SUCCEEDED, again.error
    shown = api(team, again, team.viewer)
    [shape] = [step for step in shown["steps"] if step["node_id"] == "shape"]
    assert shape["reused"] and shape["output"] == HIDDEN and shown["uses_secrets"]
    assert leaks(json.dumps(shown)) == []
