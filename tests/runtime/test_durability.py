"""Temporal-grade durability with Celery: work survives a killed worker, a flushed broker
and duplicate deliveries, because PostgreSQL holds the truth."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from django.db import connections
from pytest_django.fixtures import Settings as SettingsWrapper

from config.celery import app
from runtime.dispatch import EXECUTE_STEP
from runtime.execution import step_execute
from runtime.status import RunStatus, StepStatus
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, start
from tests.stack import MakeStack, flush_broker, wait_for_run, wait_for_step

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_step_whose_worker_is_killed_runs_again_and_the_run_completes(
    team: Team,
    make_stack: MakeStack,
    fake_api: FakeApi,
) -> None:
    stack = make_stack()
    doomed = stack.start_worker("doomed", concurrency=1)
    stack.start_scheduler()
    run = start(
        team,
        chain(
            node("call", "http.request", url=f"{fake_api.url}/slow?seconds=2"),
            node("after", "data.transform", value="{{ event.steps.call.body.slept }}"),
        ),
    )
    wait_for_step(run, "call", StepStatus.RUNNING)
    while fake_api.hits["/slow"] == 0:  # the request is in flight
        time.sleep(0.02)
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its children, mid-step
    doomed.wait()
    stack.start_worker("rescuer", concurrency=1)
    run = wait_for_run(run, timeout=40)
    assert run.status == RunStatus.SUCCEEDED, run.error
    call = run.steps.get(node_id="call")
    assert (call.attempt, call.lost) == (2, 1)
    assert fake_api.hits["/slow"] == 2  # at least once: the killed attempt had called
    assert run.output == 2.0
    assert not run.steps.filter(status=StepStatus.RUNNING).exists()


def test_runs_complete_after_the_broker_lost_every_queued_message(
    team: Team,
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    stack.start_scheduler()
    runs = [
        start(
            team,
            chain(
                node("a", "data.transform", value=i),
                node("b", "data.transform", value="{{ event.steps.a + 1 }}"),
            ),
        )
        for i in range(5)
    ]
    assert all(r.steps.get(node_id="a").status == StepStatus.QUEUED for r in runs)
    flush_broker()  # Redis restarted empty: the messages are gone, Postgres remembers
    stack.start_worker()
    for index, run in enumerate(runs):
        run = wait_for_run(run, timeout=40)
        assert (run.status, run.output) == (RunStatus.SUCCEEDED, index + 1)
    assert "message lost?" in stack.log("scheduler")


def test_a_message_delivered_twice_executes_the_step_once(
    team: Team,
    make_stack: MakeStack,
    fake_api: FakeApi,
) -> None:
    stack = make_stack()
    run = start(team, chain(node("call", "http.request", url=f"{fake_api.url}/json")))
    step = run.steps.get(node_id="call")
    for _ in range(3):  # the broker redelivers, a scheduler re-sends...
        app.send_task(EXECUTE_STEP, args=(step.pk,))
    stack.start_worker()
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    step.refresh_from_db()
    assert step.attempt == 1
    assert fake_api.hits["/json"] == 1


def test_concurrent_executions_of_one_step_claim_it_once(
    team: Team, fake_api: FakeApi, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    run = start(team, chain(node("call", "http.request", url=f"{fake_api.url}/slow?seconds=0.5")))
    step = run.steps.get(node_id="call")
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        try:
            step_execute(step.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    step.refresh_from_db()
    assert (step.status, step.attempt) == (StepStatus.SUCCEEDED, 1)
    assert fake_api.hits["/slow"] == 1
