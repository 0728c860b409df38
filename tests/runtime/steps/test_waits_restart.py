"""A wait survives a restart of every process: the worker and the scheduler are killed
while a run waits, what it waits for arrives while none runs (recorded in PostgreSQL), and
new ones carry the run on. Its own module: the shared stack of the waits' other tests
would keep a worker running through the restart."""

from __future__ import annotations

import time

import pytest

from runtime.engine.status import RunStatus, StepStatus
from runtime.triggers.events import emit
from tests.conftest import Team
from tests.runtime.helpers import outputs, start
from tests.runtime.steps.test_flow_approval import decide, waiting
from tests.runtime.steps.test_flow_wait import waiting_flow
from tests.stack import MakeStack, Stack, wait_for_run, wait_for_step

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def started(make_stack: MakeStack) -> Stack:
    stack = make_stack()
    stack.start_worker()
    stack.start_scheduler()
    return stack


def kill_all(stack: Stack) -> None:
    for name in ("worker", "scheduler"):
        stack.processes[name].kill()
        stack.processes[name].wait()


def restart(stack: Stack) -> None:
    stack.start_worker("worker2")
    stack.start_scheduler("scheduler2")


def test_a_wait_survives_a_restart_of_every_process(team: Team, make_stack: MakeStack) -> None:
    stack = started(make_stack)
    run = start(team, waiting_flow(event_type="parcel.delivered", timeout_seconds=600))
    wait_for_step(run, "wait", StepStatus.WAITING)
    kill_all(stack)
    emit("parcel.delivered", {"parcel": "P1"}, workspaces=[team.workspace])
    time.sleep(1)
    assert run.steps.get(node_id="wait").status == StepStatus.QUEUED  # nobody to run it yet
    restart(stack)
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert outputs(run)["wait"]["event"]["payload"] == {"parcel": "P1"}


def test_an_approval_survives_a_restart_of_every_process(team: Team, make_stack: MakeStack) -> None:
    stack = started(make_stack)
    run, approval = waiting(team)
    kill_all(stack)
    answer = decide(team.admin, approval.pk, decision="approved", fields={"amount": 9})
    assert answer.status_code == 200
    restart(stack)
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED and outputs(run)["ship"] == {"by": "alice"}
