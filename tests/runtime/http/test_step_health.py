"""The flow health section lists each step's p50/p95 duration and failures over the period,
slowest first, marking the slowest and the flakiest step: computed in SQL on PostgreSQL,
in Python elsewhere, with the same figures."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from designer.models import Flow
from runtime import health as figures_module
from runtime.engine.status import RunStatus, StepStatus
from runtime.health import flow_health, step_health
from runtime.models import Run, StepRun
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, publish

pytestmark = pytest.mark.django_db

OK, FAILED = StepStatus.SUCCEEDED, StepStatus.FAILED


def recorded(flow: Flow, steps: list[tuple[str, str, float, int]], *, days_ago: int = 0) -> Run:
    """A finished run with ``steps`` as (node id, status, seconds, failed attempts)."""
    assert flow.live_version is not None
    created = timezone.now() - timedelta(days=days_ago)
    run = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        status=RunStatus.FAILED if any(s[1] == FAILED for s in steps) else RunStatus.SUCCEEDED,
        trigger_kind="manual",
        trigger_node="start",
        created_at=created,
    )
    trigger = StepRun(run=run, node_id="start", kind="trigger.manual", status=OK)
    trigger.started_at = trigger.finished_at = created  # triggers are left out all the same
    rows = [trigger]
    for node_id, status, seconds, failures in steps:
        rows.append(
            StepRun(
                run=run,
                node_id=node_id,
                kind="data.transform",
                status=status,
                failures=failures,
                started_at=created,
                finished_at=created + timedelta(seconds=seconds),
            )
        )
    StepRun.objects.bulk_create(rows)
    return run


@pytest.fixture
def orders(team: Team) -> Flow:
    steps = [node(n, "data.transform", name, value=1) for n, name in NAMES.items()]
    flow = publish(team, chain(*steps), name="Orders")
    recorded(flow, [("fast", OK, 1, 0), ("slow", OK, 10, 0), ("flaky", FAILED, 0.5, 1)])
    recorded(flow, [("fast", OK, 2, 0), ("slow", OK, 20, 0), ("flaky", OK, 0.5, 2)])
    recorded(flow, [("fast", OK, 3, 0), ("flaky", FAILED, 0.5, 1)])
    recorded(flow, [("fast", OK, 500, 0)], days_ago=40)  # before the period
    carried = recorded(flow, [("slow", OK, 900, 0)])
    carried.steps.filter(node_id="slow").update(reused=True)  # a retry kept its output
    return Flow.objects.select_related("live_version").get(pk=flow.pk)


NAMES = {"fast": "Shape order", "slow": "Call ERP", "flaky": "Charge card"}
EXPECTED = [
    {"node_id": "slow", "name": "Call ERP", "runs": 2, "failed": 0, "failed_attempts": 0,
     "p50": 10.0, "p95": 20.0},
    {"node_id": "fast", "name": "Shape order", "runs": 3, "failed": 0, "failed_attempts": 0,
     "p50": 2.0, "p95": 3.0},
    {"node_id": "flaky", "name": "Charge card", "runs": 3, "failed": 2, "failed_attempts": 4,
     "p50": 0.5, "p95": 0.5},
]  # fmt: skip


def figures(health: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "kind"} for row in health["steps"]]


def test_each_step_has_its_percentiles_and_failures_slowest_first(orders: Flow) -> None:
    health = flow_health(flow=orders)
    assert figures(health) == EXPECTED
    assert (health["slowest"], health["flakiest"]) == ("slow", "flaky")
    # One query for every step's figures, however many steps (the names come from the
    # version's parsed graph, which the first call cached).
    with CaptureQueriesContext(connection) as queries:
        step_health(flow=orders, start=timezone.now() - timedelta(days=30))
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_the_portable_computation_gives_the_same_figures(
    orders: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(figures_module, "connection", SimpleNamespace(vendor="sqlite"))
    assert figures(flow_health(flow=orders)) == EXPECTED


def test_the_runs_page_of_a_flow_shows_the_step_table(team: Team, orders: Flow) -> None:
    html = team.client(team.viewer).get(f"/runs/?flow={orders.pk}").content.decode()
    table = html[html.index('class="list step-health"') : html.index("</table>")]
    assert re.findall(r'data-node="(\w+)"', table) == ["slow", "fast", "flaky"]
    assert re.search(r"Call ERP.*slowest", table, re.S)
    assert re.search(r"Charge card.*flakiest", table, re.S)
