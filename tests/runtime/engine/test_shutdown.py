"""A worker stopped with SIGTERM mid-step — sent to its main process (docker stop,
Kubernetes, systemd with KillMode=mixed) or to every one of its processes (systemd's
default KillMode=control-group, pkill) — finishes the step: its effect happens once."""

from __future__ import annotations

import os
import signal

import pytest

from runtime.engine.status import RunStatus, StepStatus
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, start
from tests.stack import MakeStack, wait_for_run, wait_for_step, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("every_process", [False, True], ids=["main-process", "every-process"])
def test_a_worker_stopped_with_sigterm_mid_step_records_the_step_and_its_effect_happens_once(
    team: Team, make_stack: MakeStack, fake_api: FakeApi, every_process: bool
) -> None:
    stack = make_stack()
    stopping = stack.start_worker("stopping", concurrency=1)
    stack.start_scheduler()
    run = start(
        team,
        chain(
            node("pay", "http.request", method="POST", url=f"{fake_api.url}/slow?seconds=2"),
            node("after", "data.transform", value="{{ event.steps.pay.body.slept }}"),
        ),
    )
    wait_until(lambda: fake_api.hits["/slow"], "the effect getting under way")
    if every_process:
        os.killpg(stopping.pid, signal.SIGTERM)
    else:
        stopping.send_signal(signal.SIGTERM)
    stopping.wait(30)
    # No other worker exists yet: the stopped one recorded the step before it exited.
    pay = wait_for_step(run, "pay", StepStatus.SUCCEEDED, timeout=5)
    assert (pay.attempt, pay.lost) == (1, 0)
    stack.start_worker("next", concurrency=1)
    run = wait_for_run(run)
    assert (run.status, run.output) == (RunStatus.SUCCEEDED, 2.0)
    assert fake_api.hits["/slow"] == 1
    if every_process:  # the pool's children got the signal too, and the worker said why
        assert "stops once its running step ends" in stack.log("stopping")
