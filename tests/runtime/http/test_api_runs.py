"""The runs API: start a manual run of any flow on any version, read it with its steps,
list and filter, cancel, re-run and retry — each by permission."""

from __future__ import annotations

import base64

import httpx
import pytest

from designer.services import flow_version_save
from runtime.engine.status import RunStatus
from runtime.models import Run
from runtime.triggers.webhook import kind as webhook
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.openapi import api, conforms
from tests.runtime.helpers import chain, publish
from tests.stack import Stack, wait_for_run

ECHO = chain(node("echo", "data.transform", value="{{ event.trigger.n }}"))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_manual_run_of_a_draft_version_runs_and_reports_its_steps(
    team: Team, stack: Stack
) -> None:
    flow = publish(team, ECHO)
    flow_version_save(
        flow=flow,
        user=team.editor,
        graph=chain(node("echo", "data.transform", value="draft {{ event.trigger.n }}")),
    )
    client = team.client(team.editor)
    response = client.post(
        f"/api/flows/{flow.pk}/runs/", {"input": {"n": 5}, "version": 2}, format="json"
    )
    assert response.status_code == 201, response.content
    run = wait_for_run(Run.objects.get(pk=response.json()["id"]))
    detail = client.get(f"/api/runs/{run.pk}/").json()
    assert (detail["status"], detail["version"], detail["output"]) == ("succeeded", 2, "draft 5")
    assert detail["trigger_kind"] == "manual" and detail["started_by"] == "eddie"
    steps = {s["node_id"]: s for s in detail["steps"]}
    assert steps["echo"]["status"] == "succeeded" and steps["echo"]["attempt"] == 1
    assert steps["start"]["output"] == {"n": 5}
    assert steps["echo"]["duration_seconds"] is not None


@pytest.mark.django_db
def test_runs_are_listed_newest_first_filtered_and_paged(team: Team) -> None:
    flow = publish(team, ECHO, "Echo")
    other = publish(team, ECHO, "Other")
    assert flow.live_version and other.live_version
    for i in range(5):
        Run.objects.create(
            flow=flow,
            version=flow.live_version,
            trigger_kind="manual",
            trigger_node="start",
            input={"n": i},
            status=RunStatus.FAILED if i % 2 else RunStatus.SUCCEEDED,
        )
    Run.objects.create(
        flow=other, version=other.live_version, trigger_kind="manual", trigger_node="start"
    )
    client = team.client(team.viewer)
    page = client.get("/api/runs/", {"flow": str(flow.pk), "page_size": "2"}).json()
    assert [r["flow_name"] for r in page["results"]] == ["Echo", "Echo"]
    ids = [r["id"] for r in page["results"]]
    assert ids == sorted(ids, reverse=True)
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["results"][0]["id"] < ids[-1]
    failed = client.get("/api/runs/", {"flow": str(flow.pk), "status": "failed"}).json()["results"]
    assert len(failed) == 2
    assert "count" not in page  # cursor pages: no COUNT(*) over a million runs


@pytest.mark.django_db
def test_viewers_read_runs_but_cannot_start_or_act_on_them(team: Team) -> None:
    flow = publish(team, ECHO)
    assert flow.live_version
    run = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=RunStatus.FAILED,
    )
    viewer = team.client(team.viewer)
    assert viewer.get(f"/api/runs/{run.pk}/").status_code == 200
    assert viewer.post(f"/api/flows/{flow.pk}/runs/", {}, format="json").status_code == 403
    for action in ("cancel", "rerun", "retry"):
        assert viewer.post(f"/api/runs/{run.pk}/{action}/", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_outsiders_cannot_see_runs(team: Team) -> None:
    flow = publish(team, ECHO)
    assert flow.live_version
    run = Run.objects.create(
        flow=flow, version=flow.live_version, trigger_kind="manual", trigger_node="start"
    )
    outsider = team.client(team.outsider)
    assert outsider.get(f"/api/runs/{run.pk}/").status_code == 404
    assert outsider.get("/api/runs/").json()["results"] == []
    assert outsider.post(f"/api/runs/{run.pk}/cancel/").status_code == 404
    assert outsider.post(f"/api/flows/{flow.pk}/runs/", {}, format="json").status_code == 404


@pytest.mark.django_db
def test_bad_run_requests_say_what_to_fix(team: Team) -> None:
    flow = publish(team, ECHO)
    client = team.client(team.editor)
    bad_trigger = client.post(f"/api/flows/{flow.pk}/runs/", {"trigger": "echo"}, format="json")
    assert bad_trigger.status_code == 400
    assert bad_trigger.json()["errors"][0]["field"] == "trigger"
    missing = client.post(f"/api/flows/{flow.pk}/runs/", {"version": 9}, format="json")
    assert missing.status_code == 404
    nul = client.post(f"/api/flows/{flow.pk}/runs/", {"input": {"a": "x\x00y"}}, format="json")
    assert nul.status_code == 400
    assert nul.json()["errors"][0]["field"] == "input"
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_finished_run_cannot_be_cancelled_and_a_successful_one_not_retried(team: Team) -> None:
    flow = publish(team, ECHO)
    assert flow.live_version
    run = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=RunStatus.SUCCEEDED,
    )
    client = team.client(team.editor)
    cancel = client.post(f"/api/runs/{run.pk}/cancel/")
    assert cancel.status_code == 400 and "already finished" in cancel.json()["detail"]
    retry = client.post(f"/api/runs/{run.pk}/retry/", {}, format="json")
    assert retry.status_code == 400 and "Only failed or cancelled" in retry.json()["detail"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_rerun_with_an_edited_input_on_the_live_version(team: Team, stack: Stack) -> None:
    flow = publish(team, ECHO)
    client = team.client(team.editor)
    first = client.post(f"/api/flows/{flow.pk}/runs/", {"input": {"n": 1}}, format="json")
    wait_for_run(Run.objects.get(pk=first.json()["id"]))
    again = client.post(
        f"/api/runs/{first.json()['id']}/rerun/",
        {"version": "live", "input": {"n": 2}},
        format="json",
    )
    assert again.status_code == 201
    run = wait_for_run(Run.objects.get(pk=again.json()["id"]))
    assert (run.output, run.rerun_of_id) == (2, first.json()["id"])


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["²", "x", "0", str(2**63)])
def test_listing_runs_of_a_flow_that_is_not_an_id_is_a_400_naming_it(
    team: Team, value: str
) -> None:
    # "²".isdigit() is True but int("²") raises: that was a 500.
    response = team.client(team.viewer).get("/api/runs/", {"flow": value})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "flow"


@pytest.mark.django_db
def test_listing_runs_by_a_status_that_does_not_exist_is_a_400_naming_it(team: Team) -> None:
    # It used to be ignored, listing every run as if no status had been asked for.
    response = team.client(team.viewer).get("/api/runs/", {"status": "faild"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "status" and "succeeded" in error["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("position", [b"p=abc", b"p=\x00", b"p=-5"])
def test_a_forged_cursor_is_a_404_not_a_crash(team: Team, position: bytes) -> None:
    # DRF decodes the cursor but hands its position straight to the id filter.
    cursor = base64.b64encode(position).decode()
    response = team.client(team.viewer).get("/api/runs/", {"cursor": cursor})
    assert response.status_code == 404
    assert "Invalid cursor" in response.json()["detail"]


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_run_input_is_a_400_saying_where(team: Team) -> None:
    flow = publish(team, ECHO)
    response = team.client(team.editor).post(
        f"/api/flows/{flow.pk}/runs/",
        '{"input": {"order": {"id": "\\ud800"}}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "input"
    assert "lone surrogate" in error["message"] and "order.id" in error["message"]
    assert not Run.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_template_that_recurses_without_end_fails_its_step_not_the_worker(
    team: Team, stack: Stack
) -> None:
    # It compiles (so it saves); it only recurses when rendered, inside the worker.
    endless = "{% macro again(n) %}{{ again(n) }}{% endmacro %}{{ again(1) }}"
    flow = publish(team, chain(node("loop", "data.transform", value={"text": endless})))
    client = team.client(team.editor)
    started = client.post(f"/api/flows/{flow.pk}/runs/", {"input": {}}, format="json")
    run = wait_for_run(Run.objects.get(pk=started.json()["id"]))
    step = run.steps.get(node_id="loop")
    assert (run.status, step.status) == (RunStatus.FAILED, "failed")
    assert step.error.startswith("Template error:") and "nested too deeply" in step.error
    # The same worker goes on running flows.
    again = client.post(
        f"/api/flows/{publish(team, ECHO, 'Echo').pk}/runs/", {"input": {"n": 3}}, format="json"
    )
    assert wait_for_run(Run.objects.get(pk=again.json()["id"])).output == 3


SPIN = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("template", "payload", "bound"),
    [
        # Each saves: what it builds depends on the input, or it builds nothing and spins.
        ("{{ 9 ** event.trigger.n }}", {"n": 9**7}, "number too large"),
        ("{{ event.trigger.s * event.trigger.n }}", {"s": "ab", "n": 10**10}, "string too long"),
        (SPIN, {}, "took too long"),
    ],
)
def test_a_template_past_its_bounds_fails_its_step_not_the_worker(
    team: Team, stack: Stack, template: str, payload: dict[str, int], bound: str
) -> None:
    flow = publish(team, chain(node("bomb", "data.transform", value={"text": template})))
    client = team.client(team.editor)
    started = client.post(f"/api/flows/{flow.pk}/runs/", {"input": payload}, format="json")
    # Unbounded, the first would hold the worker for seconds, the others for hours.
    run = wait_for_run(Run.objects.get(pk=started.json()["id"]), timeout=20)
    step = run.steps.get(node_id="bomb")
    assert (run.status, step.status) == (RunStatus.FAILED, "failed")
    assert step.error.startswith("Template error:") and bound in step.error, step.error
    again = client.post(
        f"/api/flows/{publish(team, ECHO, 'Echo').pk}/runs/", {"input": {"n": 3}}, format="json"
    )
    assert wait_for_run(Run.objects.get(pk=again.json()["id"])).output == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_webhook_body_with_a_lone_surrogate_is_a_400_not_a_database_error(
    team: Team, web: Web
) -> None:
    flow = publish(
        team,
        graph(
            node("order", "trigger.webhook"),
            node("shape", "data.transform", value="{{ event.trigger.body.id }}"),
            edges=[edge("order", "shape")],
        ),
    )
    response = httpx.post(
        f"{web.url}/hooks/{webhook.endpoint_for(flow, 'order').token}",
        content=b'{"id": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "lone surrogate" in response.json()["detail"]
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_run_that_has_not_finished_reads_without_a_duration_as_the_schema_documents(
    team: Team,
) -> None:
    # The schema said duration_seconds is always a number; until a run ends it is null.
    flow = publish(team, ECHO)
    started = conforms(api(team.editor).post(f"/api/flows/{flow.pk}/runs/", json={}))
    assert started.status_code == 201 and started.json["duration_seconds"] is None
    run = conforms(api(team.viewer).get(f"/api/runs/{started.json['id']}/"))
    steps = {step["node_id"]: step for step in run.json["steps"]}
    assert steps["echo"]["duration_seconds"] is None
    listed = conforms(api(team.viewer).get("/api/runs/"))
    assert listed.json["results"][0]["duration_seconds"] is None
