"""A for-each's items: the lists of runs leave them out (they are not what users started),
and the API and the run page show them per step, paged, counted by the database, as each
user may see them."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runtime.health import flow_health
from runtime.models import Run
from runtime.services import flow_run_stats
from tests.conftest import Team
from tests.runtime.loops import add_items, loop_run

pytestmark = [pytest.mark.django_db]


def items_url(run: Run, node_id: str = "loop") -> str:
    return f"/api/runs/{run.pk}/steps/{node_id}/items/"


# --- Lists are about what users started ---------------------------------------------------


def test_the_runs_api_and_page_list_the_loops_run_but_not_its_items(team: Team) -> None:
    run = loop_run(team, items=3)
    # A sub-flow's run (no scope) stays a run of its flow, listed.
    called = Run.objects.create(
        flow=run.flow, version=run.version, trigger_kind="called", trigger_node="start",
        parent_step=run.steps.get(node_id="loop"),
    )  # fmt: skip
    client = team.client(team.viewer)
    listed = client.get(f"/api/runs/?flow={run.flow_id}").json()["results"]
    assert [row["id"] for row in listed] == [called.pk, run.pk]
    rows = client.get(
        f"/runs/?flow={run.flow_id}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-rows"
    )
    shown = {int(pk) for pk in _run_ids(rows.content.decode())}
    assert shown == {called.pk, run.pk}


def _run_ids(html: str) -> list[str]:
    return re.findall(r'data-run-id="(\d+)"', html)


def test_the_flows_last_run_sparkline_and_health_count_only_listed_runs(team: Team) -> None:
    run = loop_run(team, items=4, failed={0, 1, 2, 3})
    stats = flow_run_stats(flow_ids=[run.flow_id])[run.flow_id]
    # The newest rows are the failed items: the last run is still the loop's own.
    assert stats["last_status"] == "running"
    assert stats["daily"] == [0] * 6 + [1]
    health = flow_health(flow=run.flow)
    assert health["total"] == 1 and health["by_status"] == {"running": 1}


def test_the_loops_run_does_not_list_its_items_as_runs_it_called(team: Team) -> None:
    run = loop_run(team, items=2)
    body = team.client(team.editor).get(f"/api/runs/{run.pk}/").json()
    assert body["children"] == []
    page = team.client(team.editor).get(f"/runs/{run.pk}/").content.decode()
    assert "Runs it called" not in page


# --- The items of a step ------------------------------------------------------------------


def test_the_api_pages_the_items_in_item_order_with_counts(team: Team) -> None:
    run = loop_run(team, items=120, failed={3, 77})
    client = team.client(team.viewer)
    first = client.get(items_url(run)).json()
    assert first["counts"] == {"succeeded": 118, "failed": 2}
    assert first["progress"] == {"total": 120, "done": 120, "failed": 2, "running": 0}
    assert (first["page"], first["pages"], first["page_size"], first["total"]) == (1, 3, 50, 120)
    assert [row["item_index"] for row in first["results"]] == list(range(50))
    assert first["results"][1]["excerpt"] == '{"n": 1}'
    assert first["results"][3]["excerpt"] == "item 3 broke"
    assert first["results"][3]["status"] == "failed"
    child = Run.objects.get(scope="loop", item_index=3)
    assert first["results"][3]["run_id"] == child.pk
    last = client.get(items_url(run), {"page": 3}).json()
    assert [row["item_index"] for row in last["results"]] == list(range(100, 120))
    failed = client.get(items_url(run), {"status": "failed"}).json()
    assert [row["item_index"] for row in failed["results"]] == [3, 77]
    assert (failed["total"], failed["pages"]) == (2, 1)


def test_the_items_cost_the_same_queries_for_ten_or_a_thousand(team: Team) -> None:
    def queries(run: Run) -> int:
        client = team.client(team.viewer)
        client.get(items_url(run))  # warm the session
        with CaptureQueriesContext(connection) as seen:
            assert client.get(items_url(run)).status_code == 200
        return len(seen)

    small = queries(loop_run(team, items=10))
    assert queries(loop_run(team, items=1000)) == small


def test_a_retry_of_the_loop_shows_the_items_of_its_latest_round(team: Team) -> None:
    run = loop_run(team, items=3, failed={1})
    add_items(run, run.steps.get(node_id="loop"), range(2), round_=1)
    body = team.client(team.editor).get(items_url(run)).json()
    assert body["counts"] == {"succeeded": 2}
    retried = Run.objects.filter(scope="loop", parent_round=1).order_by("item_index")
    assert [row["run_id"] for row in body["results"]] == [r.pk for r in retried]


def test_bad_paging_is_a_400_naming_the_field(team: Team) -> None:
    run = loop_run(team, items=1)
    client = team.client(team.editor)
    for query, field in [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"status": "x"}, "status"),
    ]:
        response = client.get(items_url(run), query)
        assert response.status_code == 400, query
        assert field in response.content.decode()
    for page in (9, 2**62):
        past = client.get(items_url(run), {"page": page}).json()
        assert (past["results"], past["pages"]) == ([], 1)
    assert client.get(f"/runs/{run.pk}/steps/loop/items/", {"page": 2**62}).status_code == 200


def test_items_are_404_for_outsiders_and_unknown_steps(team: Team) -> None:
    run = loop_run(team, items=1)
    assert team.client(team.outsider).get(items_url(run)).status_code == 404
    assert team.client(team.editor).get(items_url(run, "nope")).status_code == 404
    assert team.client(None).get(items_url(run)).status_code in (401, 403)


def test_a_viewer_sees_no_excerpt_of_an_item_that_used_secrets(team: Team) -> None:
    run = loop_run(team, items=2, failed={1})
    Run.objects.filter(scope="loop").update(uses_secrets=True)
    viewer = team.client(team.viewer).get(items_url(run)).json()["results"]
    editor = team.client(team.editor).get(items_url(run)).json()["results"]
    assert [row["excerpt"] for row in viewer] == ["hidden: uses secrets"] * 2
    assert [row["excerpt"] for row in editor] == ['{"n": 0}', "item 1 broke"]


def test_the_run_api_gives_a_loop_step_its_progress(team: Team) -> None:
    run = loop_run(team, items=5, failed={4})
    steps = {
        s["node_id"]: s
        for s in team.client(team.viewer).get(f"/api/runs/{run.pk}/").json()["steps"]
    }
    assert steps["loop"]["progress"] == {"total": 5, "done": 5, "failed": 1, "running": 0}
    assert steps["after"]["progress"] is None


# --- The run page -------------------------------------------------------------------------


def test_the_run_page_shows_progress_and_a_page_of_items(team: Team) -> None:
    run = loop_run(team, items=120, failed={7})
    page = team.client(team.viewer).get(f"/runs/{run.pk}/").content.decode()
    assert "120/120 done, 1 failed" in page
    assert page.count("data-item=") == 50
    assert 'rel="next"' in page and ">3</a>" in page
    more = team.client(team.viewer).get(f"/runs/{run.pk}/steps/loop/items/", {"page": 3})
    assert more.content.decode().count("data-item=") == 20


def test_an_items_page_links_back_to_its_loop(team: Team) -> None:
    run = loop_run(team, items=4)
    child = Run.objects.get(scope="loop", item_index=2)
    page = team.client(team.viewer).get(f"/runs/{child.pk}/").content.decode()
    assert "Item 2 of step" in page and "Each order" in page
    assert f'href="/runs/{run.pk}/">run #{run.pk}</a>' in page
    assert "doubling 2" in page  # its body step's logs
