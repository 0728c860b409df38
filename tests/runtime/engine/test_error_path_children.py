"""A handled failure still cancels the failed step's open child runs. Its own module: the
test records the failure before any worker runs, which the shared stack's worker of
test_error_paths.py would not leave it to do."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from runtime.engine.execute import step_execute
from runtime.engine.status import RunStatus
from runtime.models import Run, StepRun
from tests.conftest import Team
from tests.factories import node
from tests.runtime.callees import call, callee
from tests.runtime.engine.test_error_paths import with_error_path
from tests.runtime.helpers import publish, start
from tests.stack import MakeStack, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.worker
def test_a_handled_failure_still_cancels_the_steps_open_children(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()  # no worker yet: the failure below is recorded first
    sleeper = publish(team, callee(node("nap", "flow.delay", seconds=3600), fields=[]), "Nap")
    call_node = call("call", sleeper, input={}, wait=False)
    fallback = node("fallback", "data.transform", value="{{ event.steps.call.error.type }}")
    run = start(team, with_error_path(call_node, fallback))
    step = run.steps.get(node_id="call")
    step_execute(step.pk)  # starts the child and queues itself again
    child = Run.objects.get(parent_step=step)
    # The one way a fire-and-forget call fails once its child started: its worker was
    # lost too many times.
    StepRun.objects.filter(pk=step.pk).update(lost=django_settings.TRIBUTARY_MAX_LOST_WORKERS + 1)
    step_execute(step.pk)
    stack.start_worker()
    run, child = wait_for_run(run, timeout=15), wait_for_run(child, timeout=15)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == "worker_lost"
    assert child.status == RunStatus.CANCELLED
    assert "that called it ended (failed)" in child.error
