"""The engine's core for steps that wait for child runs (runtime.engine.children), driven
by flow.call: children are created once, wake their parent step when they finish, a lost
wake-up is recovered by the scheduler's sweep, and cancelling the parent cancels them."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings as django_settings
from django.db import connections

from designer.models import Flow
from runtime.engine import children, recovery
from runtime.engine.execute import step_execute
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run, StepRun
from runtime.runs import run_cancel
from tests.conftest import Team
from tests.factories import node
from tests.runtime.callees import call, callee, greeter
from tests.runtime.helpers import chain, publish, start, with_settings
from tests.stack import MakeStack, flush_broker, wait_for_run, wait_for_step

pytestmark = [pytest.mark.django_db(transaction=True)]


def _execute_concurrently(step_id: int, times: int) -> None:
    barrier = threading.Barrier(times)

    def deliver() -> None:
        barrier.wait()
        try:
            step_execute(step_id)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_step_delivered_many_times_at_once_creates_its_child_once(team: Team) -> None:
    run = start(team, chain(call("call", greeter(team))))
    step = run.steps.get(node_id="call")
    _execute_concurrently(step.pk, 4)
    step.refresh_from_db()
    assert (step.status, step.wake_at) == (StepStatus.WAITING, None)
    (child,) = Run.objects.filter(parent_step=step)
    assert (child.depth, child.parent_round, child.input) == (1, 0, {"name": "Ada"})
    step_execute(step.pk)  # a late redelivery of the parked step claims nothing
    assert Run.objects.filter(parent_step=step).count() == 1
    flush_broker()


def _finish_child_in_process(child: Run) -> None:
    greet = child.steps.get(node_id="greet")
    step_execute(greet.pk)
    child.refresh_from_db()
    assert child.status == RunStatus.SUCCEEDED, child.error


def test_the_last_child_to_finish_wakes_its_parent_step(team: Team) -> None:
    run = start(team, chain(call("call", greeter(team))))
    step = run.steps.get(node_id="call")
    step_execute(step.pk)
    _finish_child_in_process(Run.objects.get(parent_step=step))
    step.refresh_from_db()
    assert step.status == StepStatus.QUEUED  # woken in the child's own transaction
    step_execute(step.pk)
    run = wait_for_run(run, timeout=5)
    assert run.status == RunStatus.SUCCEEDED, run.error
    child = Run.objects.get(parent_step=step)
    assert run.output == {"run_id": child.pk, "output": {"greeting": "hi Ada"}}
    flush_broker()


def test_a_lost_wake_up_is_recovered_by_the_scheduler_sweep(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = start(team, chain(call("call", greeter(team))))
    step = run.steps.get(node_id="call")
    step_execute(step.pk)
    # The wake-up goes missing (a crash between the child finishing and waking it).
    with monkeypatch.context() as patched:
        patched.setattr(children, "child_finished", lambda run: None)
        _finish_child_in_process(Run.objects.get(parent_step=step))
    step.refresh_from_db()
    assert (step.status, step.wake_at) == (StepStatus.WAITING, None)
    assert recovery.wake_stranded_parents() == 1
    step.refresh_from_db()
    assert step.status == StepStatus.QUEUED
    assert recovery.wake_stranded_parents() == 0  # once
    step_execute(step.pk)
    run.refresh_from_db()
    assert (run.status, run.output["output"]) == (RunStatus.SUCCEEDED, {"greeting": "hi Ada"})
    flush_broker()


def test_the_sweep_leaves_a_step_alone_while_a_child_is_open(team: Team) -> None:
    run = start(team, chain(call("call", greeter(team))))
    step = run.steps.get(node_id="call")
    step_execute(step.pk)
    assert recovery.wake_stranded_parents() == 0
    step.refresh_from_db()
    assert step.status == StepStatus.WAITING
    flush_broker()


@pytest.mark.worker
def test_cancelling_the_parent_cancels_its_children_and_theirs(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()
    stack.start_worker()
    stack.start_scheduler()
    sleeper = publish(
        team, callee(node("nap", "flow.delay", seconds=3600), fields=[]), name="Sleeper"
    )
    middle = publish(team, callee(call("deeper", sleeper, input={}), fields=[]), name="Middle")
    run = start(team, chain(call("call", middle, input={})))
    wait_for_step(run, "call", StepStatus.WAITING)
    child = Run.objects.get(parent_step__run=run)
    wait_for_step(child, "deeper", StepStatus.WAITING)
    grandchild = Run.objects.get(parent_step__run=child)
    wait_for_step(grandchild, "nap", StepStatus.WAITING)
    run_cancel(run=run, user=team.editor)
    child = wait_for_run(child)
    grandchild = wait_for_run(grandchild)
    assert (child.status, grandchild.status) == (RunStatus.CANCELLED, RunStatus.CANCELLED)
    assert f"run #{run.pk}" in child.error and f"run #{child.pk}" in grandchild.error
    assert grandchild.steps.get(node_id="nap").status == StepStatus.CANCELLED


def test_the_sweep_cancels_children_whose_cancel_message_was_lost(team: Team) -> None:
    sleeper = publish(
        team, callee(node("nap", "flow.delay", seconds=3600), fields=[]), name="Sleeper"
    )
    run = start(team, chain(call("call", sleeper, input={})))
    step_execute(run.steps.get(node_id="call").pk)
    flush_broker()  # the child's first step message, and below the cancel message, are lost
    run_cancel(run=run, user=team.editor)
    flush_broker()
    child = Run.objects.get(parent_step__run=run)
    assert child.status == RunStatus.PENDING
    assert recovery.cancel_orphaned_children() == 1
    child.refresh_from_db()
    assert child.status == RunStatus.CANCELLED


# Without a scheduler below: only the task sent after commit can cancel the children, so
# these tests fail if a path leaves them to the sweep.


def _sleeper(team: Team) -> Flow:
    return publish(team, callee(node("nap", "flow.delay", seconds=3600), fields=[]), name="Sleeper")


@pytest.mark.worker
def test_a_cancelled_run_cancels_its_children_without_waiting_for_the_sweep(
    team: Team, make_stack: MakeStack
) -> None:
    make_stack().start_worker()
    run = start(team, chain(call("call", _sleeper(team), input={})))
    wait_for_step(run, "call", StepStatus.WAITING)
    child = Run.objects.get(parent_step__run=run)
    wait_for_step(child, "nap", StepStatus.WAITING)
    run_cancel(run=run, user=team.editor)
    child = wait_for_run(child, timeout=15)
    assert child.status == RunStatus.CANCELLED
    assert f"run #{run.pk} that called it ended (cancelled)" in child.error


def _fail_after_starting_a_child(team: Team, **settings: object) -> tuple[Run, Run]:
    """A fire-and-forget call started its child, then failed: its worker was lost too many
    times (the one way a flow.call fails once its child is started; a for-each failing on
    one item while others run is the other). Executed here, before any worker runs."""
    call_node = with_settings(call("call", _sleeper(team), input={}, wait=False), **settings)
    run = start(team, chain(call_node))
    step = run.steps.get(node_id="call")
    step_execute(step.pk)  # starts the child and queues itself again
    child = Run.objects.get(parent_step=step)
    StepRun.objects.filter(pk=step.pk).update(lost=django_settings.TRIBUTARY_MAX_LOST_WORKERS + 1)
    step_execute(step.pk)
    step.refresh_from_db()
    assert step.status == StepStatus.FAILED and "lost" in step.error
    return run, child


@pytest.mark.worker
def test_a_step_that_fails_with_children_open_cancels_them_at_once(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()  # (flushes the broker: made before the messages below are sent)
    run, child = _fail_after_starting_a_child(team)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    stack.start_worker()  # takes the child's first step and the cancel message
    child = wait_for_run(child, timeout=15)
    assert child.status == RunStatus.CANCELLED
    assert "that called it ended (failed)" in child.error


@pytest.mark.worker
def test_a_step_that_fails_and_continues_still_cancels_its_open_children(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()
    run, child = _fail_after_starting_a_child(team, continue_on_failure=True)
    stack.start_worker()
    run, child = wait_for_run(run, timeout=15), wait_for_run(child, timeout=15)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert child.status == RunStatus.CANCELLED
    assert "that called it ended (failed)" in child.error
