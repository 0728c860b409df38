"""Temporal-grade durability with Celery: work survives a killed worker, a flushed broker
and duplicate deliveries, because PostgreSQL holds the truth."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from django.db import connections
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token

from config.celery import app
from runtime.engine.dispatch import EXECUTE_STEP
from runtime.engine.execute import step_execute
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.processes import free_port, running, wait_for_http
from tests.runtime.helpers import chain, publish, start
from tests.stack import MakeStack, flush_broker, wait_for_run, wait_for_step, wait_until

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
    wait_until(lambda: fake_api.hits["/slow"], "the request being in flight")
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


@contextmanager
def private_redis(port: int, log: Path) -> Iterator[subprocess.Popen]:
    """A Redis server of this test's own, which it may kill and restart at will."""
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port)]
    command += ["--save", "", "--appendonly", "no"]
    with running(command, env=os.environ, log=log) as server:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield server


def test_runs_complete_when_redis_restarts_empty_in_the_middle(
    team: Team, make_stack: MakeStack, fake_api: FakeApi, tmp_path: Path
) -> None:
    flow = publish(
        team,
        chain(
            node("first", "http.request", url=f"{fake_api.url}/slow?seconds=1.5"),
            node("second", "data.transform", value="{{ event.steps.first.body.slept }}"),
            node("third", "data.transform", value="{{ event.steps.second * 2 }}"),
        ),
    )
    redis_port, web_port = free_port(), free_port()
    with private_redis(redis_port, tmp_path / "redis-1.log") as server:
        # Every part — web server, worker, scheduler — on a Redis of the test's own.
        stack = make_stack(REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
        stack.start_worker()
        stack.start_scheduler()
        web = stack.start("web", "manage.py", "serve", "--port", str(web_port))
        url = f"http://127.0.0.1:{web_port}"
        wait_for_http(f"{url}/login/", process=web, log=tmp_path / "web.log")
        token = Token.objects.create(user=team.editor).key
        started = httpx.post(
            f"{url}/api/flows/{flow.pk}/runs/",
            json={"input": {}},
            headers={"Authorization": f"Token {token}"},
        )
        assert started.status_code == 201, started.text
        run = Run.objects.get(pk=started.json()["id"])
        wait_for_step(run, "first", StepStatus.RUNNING)
        server.kill()  # Redis dies with everything queued in it...
        server.wait()
        # ...while the step finishes: its result is in Postgres, its successor's message
        # cannot be sent.
        wait_for_step(run, "first", StepStatus.SUCCEEDED)
        time.sleep(1)
        assert run.steps.get(node_id="second").status == StepStatus.QUEUED
        with private_redis(redis_port, tmp_path / "redis-2.log"):  # back, and empty
            run = wait_for_run(run, timeout=60)
    assert (run.status, run.output) == (RunStatus.SUCCEEDED, 3.0), run.error
    assert "Broker unavailable" in stack.log("worker")
    assert "Unrecoverable error" not in stack.log("worker")
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
