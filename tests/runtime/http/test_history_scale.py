"""The runs list over 50,000 runs: filters, full-text search (through its index), keyset
pages with no COUNT(*), date ranges and permissions; /metrics reads them through indexes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from designer.models import Role
from designer.services import flow_create, flow_publish
from runtime.engine.status import RunStatus
from runtime.models import Run, StepRun
from tests import factories
from tests.factories import node
from tests.runtime.helpers import chain

STATUSES = [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.FAILED]


@pytest.fixture(scope="module")
def many_runs(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """50,000 committed runs shared by this module's read-only tests, removed afterwards."""
    with django_db_blocker.unblock():
        data = _generate()
        yield data
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE runtime_steprun, runtime_run, designer_flowevent, "
                "designer_flow, designer_flowversion, designer_membership, "
                "designer_workspace, auth_user CASCADE"
            )


def _generate() -> dict[str, Any]:
    admin = factories.user("scale-admin")
    space = factories.workspace("Scale", admin=admin)
    viewer = factories.member(space, "scale-viewer", Role.VIEWER)
    outsider = factories.member(factories.workspace("Other"), "scale-outsider", Role.ADMIN)
    graph = chain(node("shape", "data.transform", value=1))
    orders = flow_create(user=admin, workspace=space, name="Orders", graph=graph)
    refunds = flow_create(user=admin, workspace=space, name="Refunds", graph=graph)
    for flow in (orders, refunds):
        flow_publish(flow=flow, user=admin, number=1)
        flow.refresh_from_db()
    assert orders.live_version and refunds.live_version
    now = timezone.now()
    runs = [
        Run(
            flow=orders if i % 5 else refunds,
            version=orders.live_version if i % 5 else refunds.live_version,
            status=STATUSES[i % 4],
            trigger_kind="webhook" if i % 3 else "cron",
            trigger_node="start",
            input={"order": {"id": f"ORD-{i:06d}", "total": i % 500}},
            created_at=now - timedelta(minutes=50_000 - i),
            started_at=now - timedelta(minutes=50_000 - i),
            finished_at=now - timedelta(minutes=50_000 - i, seconds=-(i % 7)),
        )
        for i in range(50_000)
    ]
    Run.objects.bulk_create(runs, batch_size=5000)
    steps = [
        StepRun(
            run=run,
            node_id="shape",
            kind="data.transform",
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )
        for run in runs[::5]  # enough for the planner to prefer an index, quicker to write
    ]
    StepRun.objects.bulk_create(steps, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE runtime_run")
        cursor.execute("ANALYZE runtime_steprun")
    return {"orders": orders, "refunds": refunds, "viewer": viewer, "outsider": outsider}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(html: str) -> list[str]:
    return re.findall(r'href="/runs/(\d+)/">#', html)


@pytest.mark.django_db
def test_the_runs_list_filters_searches_and_pages_over_50000_runs(many_runs: dict) -> None:
    client = client_for(many_runs["viewer"])
    first = client.get("/runs/").content.decode()
    ids = [int(i) for i in rows(first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = re.search(r'hx-get="/runs/\?[^"]*before=(\d+)"', first)
    assert older is not None
    page_two = client.get(f"/runs/?before={older.group(1)}", HTTP_HX_REQUEST="true")
    second = [int(i) for i in rows(page_two.content.decode())]
    assert second[0] == ids[-1] - 1 and len(second) == 50

    orders = many_runs["orders"]
    failed = client.get(f"/runs/?flow={orders.pk}&status=failed&trigger=webhook")
    runs = Run.objects.filter(pk__in=rows(failed.content.decode()))
    assert runs.count() == 50
    assert {(r.flow_id, r.status, r.trigger_kind) for r in runs} == {
        (orders.pk, "failed", "webhook")
    }
    assert b"succeeded" in failed.content  # the flow's health section

    found = client.get("/runs/?q=ORD-012346").content.decode()
    [match] = rows(found)
    assert Run.objects.get(pk=match).input["order"]["id"] == "ORD-012346"


@pytest.mark.django_db
def test_search_uses_the_full_text_index(many_runs: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM runtime_run WHERE jsonb_to_tsvector('simple', "
            "runtime_run.input, '[\"string\", \"numeric\"]') @@ plainto_tsquery('simple', "
            "'ORD-012346') ORDER BY id DESC LIMIT 51"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "run_input_search" in plan, plan


@pytest.mark.django_db
def test_a_date_range_limits_the_list(many_runs: dict) -> None:
    today = timezone.localdate()
    html = (
        client_for(many_runs["viewer"]).get(f"/runs/?since={today}&until={today}").content.decode()
    )
    shown = Run.objects.filter(pk__in=rows(html))
    assert shown and all(run.created_at.date() == today for run in shown)


@pytest.mark.django_db
def test_outsiders_see_no_runs_in_the_list(many_runs: dict) -> None:
    assert rows(client_for(many_runs["outsider"]).get("/runs/").content.decode()) == []


@pytest.mark.django_db
def test_no_metrics_query_scans_every_run_or_step(many_runs: dict) -> None:
    with CaptureQueriesContext(connection) as captured:
        response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) >= 7  # runs by created/finished, active, total; steps; durations
    with connection.cursor() as cursor:
        for sql in selects:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan on runtime_run" not in plan, (sql, plan)
            assert "Seq Scan on runtime_steprun" not in plan, (sql, plan)
