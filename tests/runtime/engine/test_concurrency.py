"""Concurrency limits: runs beyond a flow's cap wait queued, in order, and start as slots
free — across workers, per key, and without leaking a slot when a worker is killed."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
from django.db import connections, transaction

from designer.models import Flow
from runtime.engine import recovery
from runtime.engine.status import RUN_ACTIVE, RunStatus, StepStatus
from runtime.models import Run
from runtime.runs import RunRefused, run_cancel, run_start
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, publish
from tests.stack import MakeStack, wait_for_run

CUSTOMER = "{{ event.trigger.body.customer_id }}"


def limited(steps: dict[str, Any], limit: int, key: str = "") -> dict[str, Any]:
    concurrency: dict[str, Any] = {"limit": limit} | ({"key": key} if key else {})
    return chain(steps) | {"settings": {"concurrency": concurrency}}


def begin(team: Team, flow: Flow, payload: Any = None) -> Run:
    assert flow.live_version is not None
    return run_start(
        flow=flow, version=flow.live_version, payload=payload or {}, started_by=team.editor
    )


def begin_and_close(team: Team, flow: Flow) -> Run:
    """begin() from a thread of its own, closing the thread's connection after."""
    try:
        return begin(team, flow)
    finally:
        connections.close_all()


def for_customer(team: Team, flow: Flow, customer: str) -> Run:
    return begin(team, flow, {"body": {"customer_id": customer}})


def status_of(run: Run) -> str:
    run.refresh_from_db()
    return run.status


@pytest.mark.django_db
def test_runs_beyond_the_limit_wait_queued_and_the_oldest_starts_when_one_ends(
    team: Team,
) -> None:
    flow = publish(team, limited(node("a", "data.transform", value=1), limit=2))
    runs = [begin(team, flow) for _ in range(4)]
    assert [status_of(run) for run in runs] == ["pending", "pending", "queued", "queued"]
    # A queued run's steps wait too: nothing of it is handed to a worker.
    assert runs[2].steps.get(node_id="a").status == StepStatus.PENDING
    run_cancel(run=runs[0], user=team.editor)
    assert [status_of(run) for run in runs] == ["cancelled", "pending", "pending", "queued"]
    assert runs[2].steps.get(node_id="a").status == StepStatus.QUEUED


@pytest.mark.django_db
def test_a_key_template_limits_runs_per_key(team: Team) -> None:
    flow = publish(team, limited(node("a", "data.transform", value=1), limit=1, key=CUSTOMER))
    first_a, second_a = for_customer(team, flow, "a"), for_customer(team, flow, "a")
    first_b = for_customer(team, flow, "b")
    assert [status_of(r) for r in (first_a, second_a, first_b)] == ["pending", "queued", "pending"]
    assert (second_a.concurrency_key, second_a.concurrency_limit) == ("a", 1)
    run_cancel(run=first_b, user=team.editor)  # another key's slot admits nobody of "a"
    assert status_of(second_a) == "queued"
    run_cancel(run=first_a, user=team.editor)
    assert status_of(second_a) == "pending"


@pytest.mark.django_db
def test_a_key_the_input_cannot_render_refuses_the_run_naming_the_setting(team: Team) -> None:
    flow = publish(team, limited(node("a", "data.transform", value=1), limit=1, key=CUSTOMER))
    with pytest.raises(RunRefused, match="concurrency key") as refused:
        begin(team, flow, {"no_body": True})
    assert refused.value.field == "settings.concurrency.key"
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_a_cancelled_queued_run_never_starts_and_frees_nothing(team: Team) -> None:
    flow = publish(team, limited(node("a", "data.transform", value=1), limit=1))
    running, waiting, last = begin(team, flow), begin(team, flow), begin(team, flow)
    run_cancel(run=waiting, user=team.editor)
    assert [status_of(r) for r in (running, waiting, last)] == ["pending", "cancelled", "queued"]
    assert waiting.steps.get(node_id="a").status == StepStatus.CANCELLED


@pytest.mark.django_db
def test_the_sweep_admits_a_queued_run_whose_admission_was_missed(team: Team) -> None:
    flow = publish(team, limited(node("a", "data.transform", value=1), limit=1))
    running, waiting = begin(team, flow), begin(team, flow)
    # The slot freed by a process that died before admitting (an UPDATE by hand here).
    Run.objects.filter(pk=running.pk).update(status=RunStatus.FAILED)
    assert status_of(waiting) == "queued"
    assert recovery.admit_queued_runs() == 1
    assert status_of(waiting) == "pending"
    assert waiting.steps.get(node_id="a").status == StepStatus.QUEUED
    assert recovery.admit_queued_runs() == 0


@pytest.mark.django_db(transaction=True)
def test_two_starts_racing_for_the_last_slot_admit_only_one(team: Team) -> None:
    flow = publish(team, limited(node("a", "data.transform", value=1), limit=1))
    inserted, release, runs = threading.Event(), threading.Event(), []

    def slow_start() -> None:
        try:
            with transaction.atomic():  # holds its uncommitted run until released
                runs.append(begin(team, flow))
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    first = threading.Thread(target=slow_start)
    first.start()
    assert inserted.wait(10)
    second = threading.Thread(target=lambda: runs.append(begin_and_close(team, flow)))
    second.start()
    second.join(1)  # it waits for the first to commit (or races past it: the bug)
    release.set()
    first.join()
    second.join()
    assert sorted(status_of(run) for run in runs) == ["pending", "queued"]


def most_at_once(runs: list[Run]) -> int:
    """The most runs whose [started, finished] intervals overlap at any moment."""
    edges = sorted(
        [(run.started_at, 1) for run in runs] + [(run.finished_at, -1) for run in runs],
        key=lambda edge: (edge[0], edge[1]),  # an end before a start at the same instant
    )
    live = peak = 0
    for _, change in edges:
        live += change
        peak = max(peak, live)
    return peak


def start_at_once(team: Team, flow: Flow, count: int) -> list[Run]:
    """Start ``count`` runs from as many threads released together."""
    barrier, started, errors = threading.Barrier(count), [], []

    def go() -> None:
        barrier.wait()
        try:
            started.append(begin(team, flow))
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return sorted(started, key=lambda run: run.pk)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_cap_of_two_holds_across_workers_and_a_killed_worker_leaks_no_slot(
    team: Team, make_stack: MakeStack, fake_api: FakeApi
) -> None:
    stack = make_stack()
    doomed = stack.start_worker("doomed", concurrency=2)
    stack.start_scheduler()
    call = node("call", "http.request", url=f"{fake_api.url}/slow?seconds=1")
    flow = publish(team, limited(call, limit=2))
    runs = start_at_once(team, flow, 10)
    live = Run.objects.filter(flow=flow, status__in=RUN_ACTIVE)
    assert live.count() == 2
    deadline = time.monotonic() + 30
    while fake_api.hits["/slow"] < 2:  # both admitted runs are calling, on the doomed worker
        assert live.count() <= 2
        assert time.monotonic() < deadline, "the admitted runs never called"
        time.sleep(0.02)
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its children, mid-step
    doomed.wait()
    stack.start_worker("rescuer", concurrency=2)
    stack.start_worker("helper", concurrency=2)
    deadline = time.monotonic() + 90
    while Run.objects.filter(flow=flow, status=RunStatus.QUEUED).exists():
        assert live.count() <= 2
        assert time.monotonic() < deadline, "queued runs were never admitted"
        time.sleep(0.02)
    finished = [wait_for_run(run, timeout=30) for run in runs]
    assert [run.status for run in finished] == [RunStatus.SUCCEEDED] * 10
    assert sum(run.steps.get(node_id="call").lost for run in finished) == 2
    assert most_at_once(finished) <= 2
    # No slot leaked: two new runs are admitted at once (the live workers may already have
    # started them), a third waits.
    admitted = [status_of(begin(team, flow)) != RunStatus.QUEUED for _ in range(3)]
    assert admitted == [True, True, False]


@pytest.mark.django_db
def test_the_run_page_list_and_api_show_a_queued_run_and_why_it_waits(team: Team) -> None:
    flow = publish(team, limited(node("a", "data.transform", value=1), limit=1, key=CUSTOMER))
    for_customer(team, flow, "acme")
    waiting = for_customer(team, flow, "acme")
    client = team.client(team.viewer)
    page = client.get(f"/runs/{waiting.pk}/").content.decode()
    assert 'status-queued" data-run-status>Queued<' in page
    assert "at most 1 at a time per key" in page and "<code>acme</code>" in page
    rows = client.get("/runs/", {"status": "queued"}).content.decode()
    assert f"#{waiting.pk}<" in rows and rows.count("data-run-id=") == 1
    shown = client.get(f"/api/runs/{waiting.pk}/").json()
    assert (shown["status"], shown["concurrency_limit"], shown["concurrency_key"]) == (
        "queued",
        1,
        "acme",
    )
