"""A worker whose PostgreSQL connection is cut right after a step's effect records the
step once, on a new connection: no lease expiry, no second run of the effect."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import connection

from designer.models import Flow
from runtime.engine.status import RunStatus
from runtime.models import Run, StepRun
from runtime.runs import run_start
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, publish
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RUNS = 20


def cut_every_other_connection(keep: int) -> None:
    """What a PostgreSQL restart or an idle-connection reaper does to the worker: every
    backend of the test database but the test's own is terminated."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
        application_name="fault",  # two faults at once must not cut each other
    ) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> %s AND application_name <> 'fault'",
            [keep],
        )


def test_a_step_whose_connection_is_cut_after_its_effect_is_recorded_once(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (mine,) = cursor.fetchone()
    terminated: list[Any] = []

    def fault(request: dict[str, Any]) -> None:
        cut_every_other_connection(mine)  # the request has arrived: the effect happened
        terminated.append(request["headers"].get("Idempotency-Key"))

    fake_api.hooks["/effect"] = fault
    flow = publish(
        team,
        chain(
            node("pay", "http.request", method="POST", url=f"{fake_api.url}/effect", body="{}"),
            node("after", "data.transform", value="{{ event.steps.pay.status }}"),
        ),
    )
    runs = [start_run(team, flow) for _ in range(RUNS)]
    finished = [wait_for_run(run, timeout=60) for run in runs]
    assert [run.status for run in finished] == [RunStatus.SUCCEEDED] * RUNS, [
        (run.pk, run.error) for run in finished if run.error
    ]
    assert [run.output for run in finished] == [200] * RUNS
    assert fake_api.hits["/effect"] == RUNS == len(terminated)  # not one effect twice
    pays = StepRun.objects.filter(run__in=runs, node_id="pay")
    assert sorted({(step.attempt, step.lost) for step in pays}) == [(1, 0)]  # no re-run


def start_run(team: Team, flow: Flow) -> Run:
    assert flow.live_version is not None
    return run_start(flow=flow, version=flow.live_version, payload={}, started_by=team.editor)
