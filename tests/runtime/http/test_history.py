"""Run history: the run page and its actions, editing the input, the runs list's filters
and pages, retention and metrics."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings as SettingsWrapper

from designer.models import Flow
from runtime.engine.retention import prune_runs
from runtime.engine.status import RunStatus
from runtime.models import Run, StepRun
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, publish
from tests.runtime.loops import loop_run
from tests.stack import MakeStack


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
        queue="light",
        queued_at=now - timedelta(seconds=1.75),
        started_at=now - timedelta(seconds=1),
        finished_at=now,
    )
    editor_page = team.client(team.editor).get(f"/runs/{run.pk}/").content.decode()
    assert "Retry from failed step" in editor_page and "boom" in editor_page
    # Where the step ran and how long it waited for a worker of that queue.
    assert "Queue <code>light</code> · waited 0.75 s for a worker" in editor_page
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
def test_editing_the_input_refuses_json_nested_too_deeply_to_parse(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    [run] = make_runs(flow, 1, status=RunStatus.SUCCEEDED)
    deep = "[" * 100_000 + "]" * 100_000  # json.loads raised RecursionError: a 500
    response = team.client(team.editor).post(f"/runs/{run.pk}/edit-input/", {"input": deep})
    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
    assert Run.objects.count() == 1


def make_runs(flow: Flow, count: int, **fields: object) -> list[Run]:
    assert flow.live_version
    return Run.objects.bulk_create(
        Run(
            flow=flow,
            version=flow.live_version,
            trigger_kind="manual",
            trigger_node="start",
            **fields,
        )
        for _ in range(count)
    )


def older_link(html: str) -> str:
    match = re.search(r'<a href="([^"]*)" hx-get="[^"]*"\s+hx-target="closest tr"', html)
    assert match, "no Older runs link"
    return match.group(1).replace("&amp;", "&")


@pytest.mark.django_db
def test_following_older_runs_twice_keeps_one_before_and_the_filters(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    ids = sorted((run.pk for run in make_runs(flow, 120, status=RunStatus.FAILED)), reverse=True)
    client = team.client(team.viewer)
    first = older_link(client.get("/runs/", {"status": "failed"}).content.decode())
    second_page = client.get(f"/runs/{first}").content.decode()
    second = older_link(second_page)
    query = parse_qs(urlsplit(second).query)
    assert query["before"] == [str(ids[99])] and query["status"] == ["failed"]
    third_page = client.get(f"/runs/{second}").content.decode()
    shown = [int(i) for i in re.findall(r'href="/runs/(\d+)/">#', third_page)]
    assert shown == ids[100:]
    assert [int(i) for i in re.findall(r'href="/runs/(\d+)/">#', second_page)] == ids[50:100]


@pytest.mark.django_db
def test_a_live_list_asking_for_its_rows_gets_the_first_page_of_rows_alone(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    ids = sorted((run.pk for run in make_runs(flow, 60, status=RunStatus.FAILED)), reverse=True)
    client = team.client(team.viewer)
    headers = {"HX-Request": "true", "HX-Target": "run-rows"}
    html = client.get("/runs/", {"flow": flow.pk}, headers=headers).content.decode()
    assert [int(i) for i in re.findall(r'<tr data-run-id="(\d+)">', html)] == ids[:50]
    assert f"before={ids[49]}" in older_link(html)
    # Neither the table around the rows nor the flow's health, which it would not show.
    assert "<table" not in html and "Health of this flow" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"flow": "²"},
        {"version": "²", "before": "²"},
        {"q": "²"},
        {"q": "order\x00"},
        {"until": "9999-12-31"},
        {"since": "0001-01-01"},
        {"flow": str(2**63), "before": "9" * 30},
    ],
)
def test_the_runs_list_ignores_filters_it_cannot_use(team: Team, query: dict[str, str]) -> None:
    # Each of these was a 500: int("²"), a NUL sent to PostgreSQL, the day after 9999-12-31.
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    [run] = make_runs(flow, 1, status=RunStatus.SUCCEEDED, input={"order": "A-1"})
    response = team.client(team.viewer).get("/runs/", query)
    assert response.status_code == 200
    if "q" not in query:
        assert f'href="/runs/{run.pk}/"' in response.content.decode()


@pytest.mark.django_db
def test_a_search_with_a_nul_finds_what_the_search_without_it_finds(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    [match] = make_runs(flow, 1, input={"order": {"id": "ORD-7"}})
    make_runs(flow, 1, input={"order": {"id": "ORD-8"}})
    html = team.client(team.viewer).get("/runs/", {"q": "ORD-7\x00"}).content.decode()
    assert re.findall(r'href="/runs/(\d+)/">#', html) == [str(match.pk)]


def metric_samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each family's samples by name and labels, read by Prometheus's own parser."""
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            by_labels = samples.setdefault(sample.name, {})
            by_labels[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.mark.django_db
def test_metrics_are_prometheus_text_and_need_a_token(
    team: Team, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_METRICS_TOKEN = "scrape-me"
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    now = timezone.now()
    two_hours_ago = now - timedelta(hours=2)
    [done] = make_runs(
        flow,
        1,
        status=RunStatus.SUCCEEDED,
        started_at=now - timedelta(seconds=3),
        finished_at=now,
    )
    [failed] = make_runs(
        flow, 1, status=RunStatus.FAILED, started_at=now - timedelta(seconds=1), finished_at=now
    )
    # Created long ago, finished just now: counted as finished, not as created.
    [slow] = make_runs(
        flow,
        1,
        status=RunStatus.SUCCEEDED,
        created_at=two_hours_ago,
        started_at=two_hours_ago,
        finished_at=now - timedelta(seconds=5),
    )
    make_runs(flow, 2, status=RunStatus.RUNNING)
    make_runs(flow, 1, status=RunStatus.QUEUED)
    make_runs(
        flow, 1, status=RunStatus.SUCCEEDED, created_at=two_hours_ago, finished_at=two_hours_ago
    )
    for run, status in ((done, "succeeded"), (failed, "failed"), (slow, "succeeded")):
        StepRun.objects.create(
            run=run, node_id="shape", kind="data.transform", status=status, finished_at=now
        )
    StepRun.objects.create(run=failed, node_id="start", kind="trigger.manual", status="queued")
    client = team.client(None)
    assert client.get("/metrics").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f.type for f in text_string_to_metric_families(response.content.decode())}
    assert families == {
        "tributary_runs_last_hour": "gauge",
        "tributary_runs_finished_last_hour": "gauge",
        "tributary_runs_active": "gauge",
        "tributary_runs_queued": "gauge",
        "tributary_runs_created": "counter",
        "tributary_steps_open": "gauge",
        "tributary_steps_finished_last_hour": "gauge",
        "tributary_run_duration_seconds": "summary",
        "tributary_queue_steps_queued": "gauge",
        "tributary_queue_oldest_age_seconds": "gauge",
        "tributary_queue_steps_running": "gauge",
        "tributary_queue_depth": "gauge",
    }
    samples = metric_samples(response.content.decode())
    created = samples["tributary_runs_last_hour"]
    assert created[(("status", "succeeded"),)] == 1 and created[(("status", "running"),)] == 2
    finished = samples["tributary_runs_finished_last_hour"]
    assert finished == {
        (("status", "cancelled"),): 0,
        (("status", "failed"),): 1,
        (("status", "succeeded"),): 2,
    }
    assert samples["tributary_runs_active"] == {(): 2}
    assert samples["tributary_runs_queued"] == {(): 1}
    assert samples["tributary_runs_created_total"] == {(): Run.objects.latest("id").pk}
    assert samples["tributary_steps_open"][(("status", "queued"),)] == 1
    steps_finished = samples["tributary_steps_finished_last_hour"]
    assert steps_finished[(("status", "succeeded"),)] == 2
    assert steps_finished[(("status", "failed"),)] == 1
    assert steps_finished[(("status", "skipped"),)] == 0
    assert samples["tributary_run_duration_seconds_count"] == {(): 3}
    assert samples["tributary_run_duration_seconds_sum"][()] == pytest.approx(
        3 + 1 + 7195, abs=0.01
    )
    durations = samples["tributary_run_duration_seconds"]
    assert durations[(("quantile", "0.5"),)] == pytest.approx(3, abs=0.01)
    assert durations[(("quantile", "0.99"),)] == pytest.approx(7200 - 5, abs=0.01)
    assert samples["tributary_queue_steps_queued"][(("queue", "io"),)] == 1
    depths = samples["tributary_queue_depth"]
    assert set(depths) == {(("queue", q),) for q in ("light", "io", "compute")}
    assert all(depth >= 0 for depth in depths.values())


@pytest.mark.django_db
def test_metrics_without_a_token_are_for_local_addresses_only(team: Team) -> None:
    client = team.client(None)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def old_runs_with_steps(flow: Flow, count: int, status: str, days: int = 40) -> list[Run]:
    runs = make_runs(flow, count, status=status, created_at=timezone.now() - timedelta(days=days))
    StepRun.objects.bulk_create(
        StepRun(run=run, node_id="shape", kind="data.transform", status="succeeded") for run in runs
    )
    return runs


def deleted_run_batches(queries: list[dict[str, str]]) -> list[int]:
    """How many runs each DELETE of runs removed, in order."""
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "runtime_run"')]
    return [len(re.findall(r"\d+", sql.split(" IN ", 1)[1])) for sql in deletes]


@pytest.mark.django_db
def test_retention_deletes_old_finished_runs_one_batch_at_a_time(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    old = old_runs_with_steps(flow, 25, RunStatus.SUCCEEDED)
    kept = old_runs_with_steps(flow, 3, RunStatus.FAILED, days=10)
    with CaptureQueriesContext(connection) as captured:
        deleted = prune_runs(days=30, batch=10, pause=0)
    assert deleted == 25
    assert deleted_run_batches(captured.captured_queries) == [10, 10, 5]
    # Each batch is its own (short) transaction: one savepoint per batch inside the test's.
    savepoints = [q for q in captured.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 3
    assert set(Run.objects.values_list("pk", flat=True)) == {run.pk for run in kept}
    # Step runs go with their run, and only with it.
    assert not StepRun.objects.filter(run_id__in=[run.pk for run in old]).exists()
    assert StepRun.objects.count() == len(kept)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [RunStatus.PENDING, RunStatus.RUNNING])
def test_retention_never_prunes_an_unfinished_run_however_old(team: Team, status: str) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    [unfinished] = old_runs_with_steps(flow, 1, status, days=400)
    old_runs_with_steps(flow, 2, RunStatus.CANCELLED, days=400)
    assert prune_runs(days=30, pause=0) == 2
    assert list(Run.objects.values_list("pk", flat=True)) == [unfinished.pk]
    assert unfinished.steps.count() == 1


@pytest.mark.django_db
def test_retention_stops_after_max_batches_and_takes_the_rest_next_time(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    old_runs_with_steps(flow, 25, RunStatus.SUCCEEDED)
    assert prune_runs(days=30, batch=10, max_batches=2, pause=0) == 20
    assert Run.objects.count() == 5
    assert prune_runs(days=30, batch=10, max_batches=2, pause=0) == 5
    assert not Run.objects.exists() and not StepRun.objects.exists()


@pytest.mark.django_db
def test_retention_of_zero_days_keeps_everything(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    old_runs_with_steps(flow, 3, RunStatus.SUCCEEDED, days=4000)
    assert prune_runs(days=0, pause=0) == 0
    assert Run.objects.count() == 3


@pytest.mark.django_db
def test_the_prune_runs_command_uses_its_days_and_batch(team: Team) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    old_runs_with_steps(flow, 12, RunStatus.SUCCEEDED, days=10)
    out = StringIO()
    with CaptureQueriesContext(connection) as captured:
        call_command("prune_runs", days=7, batch=5, stdout=out)
    assert out.getvalue().strip() == "Deleted 12 run(s)."
    assert deleted_run_batches(captured.captured_queries) == [5, 5, 2]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_running_scheduler_prunes_old_runs(team: Team, make_stack: MakeStack) -> None:
    flow = publish(team, chain(node("shape", "data.transform", value=1)))
    old_runs_with_steps(flow, 30, RunStatus.SUCCEEDED, days=8)
    [recent] = old_runs_with_steps(flow, 1, RunStatus.SUCCEEDED, days=6)
    stack = make_stack(TRIBUTARY_RUN_RETENTION_DAYS="7")
    stack.start_scheduler()  # its first pass runs every job, pruning included
    deadline = time.monotonic() + 30
    while Run.objects.count() > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(Run.objects.values_list("pk", flat=True)) == [recent.pk]
    assert StepRun.objects.get().run_id == recent.pk


@pytest.mark.django_db
def test_metrics_count_a_loop_as_one_run_not_its_items(team: Team) -> None:
    """A for-each's 30 item runs are the loop's work, not 30 runs of the flow."""
    loop_run(team, items=30, failed=[3], open_=[29])
    response = team.client(None).get("/metrics", REMOTE_ADDR="127.0.0.1")
    samples = metric_samples(response.content.decode())
    assert samples["tributary_runs_active"] == {(): 1}
    created = samples["tributary_runs_last_hour"]
    assert sum(created.values()) == 1 and created[(("status", "running"),)] == 1
    assert sum(samples["tributary_runs_finished_last_hour"].values()) == 0
    assert samples["tributary_run_duration_seconds_count"] == {(): 0}
