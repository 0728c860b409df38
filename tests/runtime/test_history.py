"""Run history: the run page and its actions, editing the input, retention, metrics."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.models import Run, StepRun
from runtime.status import RunStatus
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, publish


@pytest.mark.django_db
def test_the_run_page_shows_steps_timeline_and_actions_by_role(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    assert flow.live_version
    now = timezone.now()
    run = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=RunStatus.FAILED,
        error="shape failed",
        started_at=now - timedelta(seconds=2),
        finished_at=now,
    )
    StepRun.objects.create(
        run=run,
        node_id="start",
        kind="trigger.manual",
        status="succeeded",
        started_at=now - timedelta(seconds=2),
        finished_at=now - timedelta(seconds=2),
    )
    StepRun.objects.create(
        run=run,
        node_id="shape",
        kind="data.transform",
        status="failed",
        error="boom",
        logs="a line",
        started_at=now - timedelta(seconds=1),
        finished_at=now,
    )
    editor_page = team.client(team.editor).get(f"/runs/{run.pk}/").content.decode()
    assert "Retry from failed step" in editor_page and "boom" in editor_page
    assert 'data-node="shape"' in editor_page
    assert re.search(r"<span data-done>2</span> / 2 steps done", editor_page)
    viewer_page = team.client(team.viewer).get(f"/runs/{run.pk}/").content.decode()
    assert "Retry from failed step" not in viewer_page
    assert team.client(team.outsider).get(f"/runs/{run.pk}/").status_code == 404
    assert team.client(team.viewer).post(f"/runs/{run.pk}/retry/").status_code == 403


@pytest.mark.django_db
def test_editing_the_input_keeps_what_was_typed_when_it_is_not_json(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    assert flow.live_version
    run = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=RunStatus.SUCCEEDED,
        input={"a": 1},
    )
    response = team.client(team.editor).post(
        f"/runs/{run.pk}/edit-input/", {"input": '{"a": 2,', "version": "same"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()
    assert "{&quot;a&quot;: 2," in response.content.decode()
    ok = team.client(team.editor).post(f"/runs/{run.pk}/edit-input/", {"input": '{"a": 2}'})
    new = Run.objects.exclude(pk=run.pk).get()
    assert ok["Location"] == f"/runs/{new.pk}/"
    assert (new.input, new.rerun_of_id) == ({"a": 2}, run.pk)


@pytest.mark.django_db
def test_retention_prunes_old_finished_runs_in_batches(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    assert flow.live_version
    old = timezone.now() - timedelta(days=40)
    for _i in range(25):
        run = Run.objects.create(
            flow=flow,
            version=flow.live_version,
            trigger_kind="manual",
            trigger_node="start",
            status=RunStatus.SUCCEEDED,
            created_at=old,
        )
        StepRun.objects.create(run=run, node_id="shape", kind="data.transform")
    keep_running = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=RunStatus.RUNNING,
        created_at=old,
    )
    recent = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=RunStatus.SUCCEEDED,
    )
    call_command("prune_runs", days=30, batch=10)
    assert set(Run.objects.values_list("pk", flat=True)) == {keep_running.pk, recent.pk}
    assert not StepRun.objects.exclude(run__in=[keep_running, recent]).exists()


@pytest.mark.django_db
def test_metrics_are_prometheus_text_and_need_a_token(
    team: Team, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_METRICS_TOKEN = "scrape-me"
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    assert flow.live_version
    now = timezone.now()
    Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(seconds=3),
        finished_at=now,
    )
    client = team.client(None)
    assert client.get("/metrics").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples['tributary_runs_last_hour{status="succeeded"}'] == 1
    assert samples["tributary_run_duration_seconds_count"] == 1
    assert samples['tributary_run_duration_seconds{quantile="0.5"}'] == pytest.approx(3, abs=0.01)
    assert "tributary_queue_depth" in samples


@pytest.mark.django_db
def test_metrics_without_a_token_are_for_local_addresses_only(team: Team) -> None:
    client = team.client(None)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
