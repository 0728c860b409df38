"""Each hand-written statement of runtime.engine.sql does what its ORM equivalent does,
on PostgreSQL (the suite's database) and on SQLite (the embedded default: the last test
runs this module again in a subprocess against SQLite).

Every comparison builds two identical rows, moves one with the plain SQL and the other
with the ORM, and compares what the database then holds and what each call returned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Case, F, Q, When
from django.utils import timezone

from runtime.engine import sql
from runtime.engine.status import (
    CLAIM_CONDITIONS,
    RUN_LIVE,
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    RunStatus,
    StepStatus,
    step_sources,
)
from runtime.models import Run, StepRun, WebhookCapture, WebhookEndpoint
from tests.conftest import Team
from tests.factories import simple_graph
from tests.runtime.helpers import publish

pytestmark = [pytest.mark.django_db, pytest.mark.any_database]


@pytest.fixture(autouse=True)
def _on_the_expected_database(db: None) -> None:
    """PostgreSQL in the suite; SQLite when the last test runs this module again."""
    assert connection.vendor == os.environ.get("TRIBUTARY_PARITY_VENDOR", "postgresql")


ROOT = Path(__file__).resolve().parents[3]
COMPARED = ["status", "claim", "lease_expires_at", "started_at", "finished_at", "attempt", "lost"]
COMPARED += ["output", "wake_at", "queued_at", "error"]


@pytest.fixture
def flow(team: Team) -> Any:
    return publish(team, simple_graph())


def make_run(flow: Any, status: str = RunStatus.RUNNING) -> Run:
    return Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        status=status,
        input={"order": {"id": 7, "email": "ada@example.com"}, "ünïcode": "✓"},
    )


def make_step(run: Run, node_id: str = "shape", **fields: Any) -> StepRun:
    return StepRun.objects.create(run=run, node_id=node_id, kind="data.transform", **fields)


def row(step: StepRun) -> dict[str, Any]:
    return StepRun.objects.filter(pk=step.pk).values(*COMPARED).get()


def twins(flow: Any, run_status: str = RunStatus.RUNNING, **fields: Any) -> tuple[StepRun, StepRun]:
    return make_step(make_run(flow, run_status), **fields), make_step(
        make_run(flow, run_status), **fields
    )


@pytest.mark.parametrize("source", list(StepStatus))
@pytest.mark.parametrize("target", list(StepStatus))
def test_step_transition_matches_the_orm(flow: Any, source: StepStatus, target: StepStatus) -> None:
    raw, orm = twins(flow, status=source)
    now = timezone.now()
    fields = {"finished_at": now, "output": {"n": [1, 2]}, "error": "", "claim": None}
    moved_raw = sql.step_transition(target, fields, "id = %s", [raw.pk])
    moved_orm = StepRun.objects.filter(pk=orm.pk).transition(target, **fields)
    assert moved_raw == moved_orm == (1 if target in STEP_TRANSITIONS[source] else 0)
    assert row(raw) == row(orm)


@pytest.mark.parametrize("source", list(RunStatus))
@pytest.mark.parametrize("target", list(RunStatus))
def test_run_transition_matches_the_orm(flow: Any, source: RunStatus, target: RunStatus) -> None:
    raw, orm = make_run(flow, source), make_run(flow, source)
    fields = {"finished_at": timezone.now(), "output": {"ok": True}, "error": "why"}
    moved_raw = sql.run_transition(raw.pk, target, fields)
    moved_orm = Run.objects.filter(pk=orm.pk).transition(target, **fields)
    assert moved_raw == moved_orm == (1 if target in RUN_TRANSITIONS[source] else 0)
    names = ["status", "finished_at", "output", "error"]
    assert (
        Run.objects.filter(pk=raw.pk).values(*names).get()
        == Run.objects.filter(pk=orm.pk).values(*names).get()
    )


def orm_claim(step_id: int, claim: uuid.UUID, now: Any, lease: Any) -> int:
    """The claim, as the ORM would say it."""
    claimable = Q()
    for status, when in CLAIM_CONDITIONS.items():
        condition = Q(status=status)
        if when == "due":
            condition &= Q(wake_at__lte=now)
        elif when == "lease_expired":
            condition &= Q(lease_expires_at__lt=now)
        claimable |= condition
    return StepRun.objects.filter(claimable, pk=step_id, run__status__in=RUN_LIVE).update(
        status=StepStatus.RUNNING,
        claim=claim,
        lease_expires_at=lease,
        started_at=now,
        finished_at=None,
        attempt=F("attempt") + 1,
        lost=F("lost") + Case(When(status=StepStatus.RUNNING, then=1), default=0),
    )


CLAIM_CASES = [
    pytest.param(RunStatus.RUNNING, {"status": StepStatus.QUEUED}, id="queued"),
    pytest.param(RunStatus.PENDING, {"status": StepStatus.QUEUED}, id="queued, run pending"),
    pytest.param(RunStatus.CANCELLED, {"status": StepStatus.QUEUED}, id="queued, run over"),
    pytest.param(RunStatus.RUNNING, {"status": StepStatus.WAITING, "wake_at": -1}, id="due"),
    pytest.param(RunStatus.RUNNING, {"status": StepStatus.WAITING, "wake_at": 60}, id="not due"),
    pytest.param(
        RunStatus.RUNNING, {"status": StepStatus.RUNNING, "lease_expires_at": -1}, id="expired"
    ),
    pytest.param(
        RunStatus.RUNNING, {"status": StepStatus.RUNNING, "lease_expires_at": 60}, id="held"
    ),
    pytest.param(RunStatus.RUNNING, {"status": StepStatus.PENDING}, id="pending"),
    pytest.param(RunStatus.RUNNING, {"status": StepStatus.SUCCEEDED}, id="finished"),
]


@pytest.mark.parametrize(("run_status", "state"), CLAIM_CASES)
def test_the_claim_matches_the_orm(flow: Any, run_status: str, state: dict[str, Any]) -> None:
    now = timezone.now()
    fields = {
        key: now + timedelta(seconds=value) if isinstance(value, int) else value
        for key, value in state.items()
    }
    raw, orm = twins(flow, run_status, attempt=2, lost=1, finished_at=now, **fields)
    claim, lease = uuid.uuid4(), now + timedelta(seconds=15)
    assert sql.claim_step(raw.pk, claim, now, lease) == bool(orm_claim(orm.pk, claim, now, lease))
    assert row(raw) == row(orm)


def test_the_claim_takes_its_statuses_from_the_transition_table() -> None:
    assert set(CLAIM_CONDITIONS) == set(step_sources(StepStatus.RUNNING))


def test_loading_a_step_matches_the_orm(flow: Any) -> None:
    run = make_run(flow)
    step = make_step(run, status=StepStatus.RUNNING, attempt=3, wake_at=timezone.now())
    loaded_step, loaded_run = sql.load_step(step.pk)
    orm = StepRun.objects.select_related("run__flow", "run__version").get(pk=step.pk)
    for name in ("id", "run_id", "node_id", "status", "attempt", "failures", "lost", "wake_at"):
        assert getattr(loaded_step, name) == getattr(orm, name), name
    for name in ("id", "flow_id", "version_id", "status", "input", "trigger_kind", "is_test"):
        assert getattr(loaded_run, name) == getattr(orm.run, name), name
    assert loaded_run.created_at == orm.run.created_at
    assert (loaded_run.flow.name, loaded_run.flow.workspace_id) == (
        orm.run.flow.name,
        orm.run.flow.workspace_id,
    )
    assert (loaded_run.version.number, loaded_run.version.created_at) == (
        orm.run.version.number,
        orm.run.version.created_at,
    )


def test_locking_a_run_reads_what_the_orm_reads(flow: Any) -> None:
    run = make_run(flow, RunStatus.FAILED)
    Run.objects.filter(pk=run.pk).update(error="boom", finished_at=timezone.now())
    stale = Run.objects.get(pk=run.pk)
    stale.status, stale.error, stale.finished_at = RunStatus.RUNNING, "", None
    sql.lock_run(stale)
    fresh = Run.objects.get(pk=run.pk)
    assert (stale.status, stale.error, stale.finished_at) == (
        fresh.status,
        fresh.error,
        fresh.finished_at,
    )


def test_step_states_and_outputs_match_the_orm(flow: Any) -> None:
    run = make_run(flow)
    make_step(run, "a", status=StepStatus.SUCCEEDED, output={"x": 1}, handle="true")
    make_step(run, "b", status=StepStatus.FAILED, output={"error": "no"}, timeout_seconds=2.5)
    make_step(run, "c", status=StepStatus.SUCCEEDED, output=None, queue="compute")
    make_step(run, "d", status=StepStatus.CANCELLED, output=[1])
    make_step(run, "e", status=StepStatus.PENDING)
    orm_states = StepRun.objects.filter(run=run).values_list(
        "id", "node_id", "status", "handle", "timeout_seconds", "queue"
    )
    assert sorted(sql.step_states(run.pk)) == sorted(orm_states)
    for statuses, nodes in [
        ([StepStatus.SUCCEEDED], None),
        ([StepStatus.SUCCEEDED, StepStatus.FAILED], ["a", "b", "c", "e"]),
        ([StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED], ["d"]),
        ([StepStatus.SUCCEEDED], []),
    ]:
        orm = StepRun.objects.filter(run=run, status__in=statuses, output__isnull=False)
        if nodes is not None:
            orm = orm.filter(node_id__in=nodes)
        assert sql.step_outputs(run.pk, statuses=statuses, nodes=nodes) == dict(
            orm.values_list("node_id", "output")
        )


def test_counting_a_loop_s_items_reads_one_item_as_the_orm_reads_it(flow: Any) -> None:
    items = [{"sku": "A", "n": 1}, "ünïcode ✓", 3.5, None, [1, [2]], True]
    step = make_step(make_run(flow), "loop", input={"items": items}, items_total=len(items))
    for index in range(len(items)):
        orm = StepRun.objects.filter(pk=step.pk).values_list(f"input__items__{index}", flat=True)
        read = sql.step_counts(step.pk, started=index + 1, done=index, failed=0, item=index)
        assert read == orm.get() == items[index]
    assert sql.step_counts(step.pk, started=6, done=6, failed=1, item=None) is None
    counts = StepRun.objects.filter(pk=step.pk).values_list(
        "items_total", "items_started", "items_done", "items_failed"
    )
    assert counts.get() == (6, 6, 6, 1)


def test_resolving_a_webhook_token_matches_the_orm(flow: Any) -> None:
    endpoint = WebhookEndpoint.objects.create(flow=flow, node_id="hook")
    now = timezone.now()
    WebhookCapture.objects.create(endpoint=endpoint, expires_at=now - timedelta(minutes=1))
    waiting = WebhookCapture.objects.create(
        endpoint=endpoint, expires_at=now + timedelta(minutes=5)
    )
    found = sql.webhook_endpoint(endpoint.token, now)
    assert found is not None
    loaded, capture_id = found
    orm = WebhookEndpoint.objects.select_related("flow__live_version").get(token=endpoint.token)
    orm_capture = (
        WebhookCapture.objects.filter(endpoint=orm, captured_at__isnull=True, expires_at__gt=now)
        .order_by("id")
        .first()
    )
    assert capture_id == orm_capture.pk == waiting.pk
    assert (loaded.pk, loaded.node_id, loaded.flow.name, loaded.flow.archived_at) == (
        orm.pk,
        orm.node_id,
        orm.flow.name,
        orm.flow.archived_at,
    )
    assert loaded.flow.live_version.number == orm.flow.live_version.number
    assert sql.webhook_endpoint("no-such-token", now) is None


def test_inserting_a_run_and_its_steps_stores_what_the_orm_stores(flow: Any) -> None:
    now = timezone.now()
    fields = {
        "flow": flow,
        "version": flow.live_version,
        "trigger_kind": "webhook",
        "trigger_node": "start",
        "status": RunStatus.PENDING,
        "input": {"order": {"id": 7}, "ünïcode": "✓", "none": None},
        "idempotency_key": "evt_1",
    }
    ours, orm = Run(**fields), Run.objects.create(**fields | {"idempotency_key": "evt_2"})
    sql.insert([ours])
    assert ours.pk is not None and not ours._state.adding
    steps = {
        "node_id": "shape",
        "kind": "data.transform",
        "status": StepStatus.SUCCEEDED,
        "output": [1, "two", {"3": None}],
        "started_at": now,
        "finished_at": now,
        "timeout_seconds": 30.5,
    }
    ours_steps = [StepRun(run=ours, **steps), StepRun(run=ours, node_id="end", kind="x")]
    sql.insert(ours_steps)
    StepRun.objects.bulk_create(
        [StepRun(run=orm, **steps), StepRun(run=orm, node_id="end", kind="x")]
    )
    skip = {"id", "idempotency_key", "created_at", "run_id", "run"}

    def stored(model: Any, **where: Any) -> list[dict[str, Any]]:
        rows = model.objects.filter(**where).order_by("id").values()
        return [{k: v for k, v in row.items() if k not in skip} for row in rows]

    assert stored(Run, pk=ours.pk) == stored(Run, pk=orm.pk)
    assert [step.pk for step in ours_steps] == sorted(step.pk for step in ours_steps)
    assert stored(StepRun, run=ours) == stored(StepRun, run=orm)
    assert [s.pk for s in ours_steps] == list(
        StepRun.objects.filter(run=ours).order_by("id").values_list("id", flat=True)
    )


def test_every_statement_matches_the_orm_on_sqlite_too(tmp_path: Path) -> None:
    assert connection.vendor == "postgresql"  # the suite's own run covers PostgreSQL
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env |= {
        "DATABASE_URL": "",  # empty: the embedded default's SQLite
        "REDIS_URL": "",
        "TRIBUTARY_DATA_DIR": str(tmp_path),
        "TRIBUTARY_PARITY_VENDOR": "sqlite",
    }
    command = [sys.executable, "-m", "pytest", __file__, "-k", "not on_sqlite_too"]
    result = subprocess.run(
        [*command, "-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout, result.stdout[-2000:]
