"""A worker SIGKILLed in the middle of a loop: no item is lost and none that succeeded runs
again. Its own module: the shared stack of test_foreach_runs.py would keep a worker running
beside the one killed here, and the kill would show nothing."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from runtime.engine.status import RunStatus
from runtime.models import Run, StepRun
from tests.conftest import Team
from tests.factories import edge, node
from tests.fakes import FakeApi
from tests.runtime.engine.test_foreach_runs import loop_flow
from tests.runtime.helpers import start
from tests.stack import MakeStack, wait_for_run, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_loop_loses_no_item_and_repeats_none_that_succeeded(
    team: Team, make_stack: MakeStack, fake_api: FakeApi
) -> None:
    stack = make_stack()
    doomed = stack.start_worker("doomed", concurrency=2)
    stack.start_scheduler()
    slow = f"{fake_api.url}/slow?seconds=0.3"
    flow = loop_flow(
        node("call", "http.request", method="POST", url=slow, body="{{ index }}"),
        node("mark", "data.transform", value="{{ index }}:{{ event.steps.call.body.slept }}"),
        concurrency=4,
    )
    flow["edges"].append(edge("call", "mark"))
    run = start(team, flow, {"lines": list(range(16))})
    done = Run.objects.filter(parent_step__run=run, status=RunStatus.SUCCEEDED)
    wait_until(lambda: done.count() >= 4, "four items finishing", timeout=60)
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its children, mid-loop
    doomed.wait()
    stack.start_worker("rescuer", concurrency=2)
    run = wait_for_run(run, timeout=90)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == [f"{i}:0.3" for i in range(16)]
    keys = Counter(r["headers"]["Idempotency-Key"] for r in fake_api.requests)
    assert len(keys) == 16  # one key per item: every item called, none lost
    # A key sent twice is an attempt the kill cut short (at least once), never one that
    # had succeeded: an item run's call that finished was not run again.
    calls = StepRun.objects.filter(run__parent_step__run=run, node_id="call")
    assert {c.attempt - c.lost for c in calls} == {1}
    assert sum(keys.values()) - len(keys) <= sum(c.lost for c in calls)
    loop = run.steps.get(node_id="loop")
    assert (loop.items_done, loop.items_failed) == (16, 0)
