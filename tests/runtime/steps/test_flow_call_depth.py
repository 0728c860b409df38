"""flow.call's depth limit, on a stack of its own (its worker reads a low
TRIBUTARY_MAX_CALL_DEPTH; no other module's worker may take its steps)."""

from __future__ import annotations

import pytest

from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run
from tests.conftest import Team
from tests.factories import node
from tests.runtime.callees import call, callee
from tests.runtime.helpers import chain, publish, start
from tests.stack import MakeStack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_call_beyond_the_depth_limit_fails_naming_the_chain(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack(TRIBUTARY_MAX_CALL_DEPTH="2")
    stack.start_worker()
    stack.start_scheduler()
    deepest = publish(team, callee(node("end", "data.transform", value=1), fields=[]), name="D")
    third = publish(team, callee(call("next", deepest, input={}), fields=[]), name="C")
    second = publish(team, callee(call("next", third, input={}), fields=[]), name="B")
    run = wait_for_run(start(team, chain(call("call", second, input={}))), timeout=60)
    assert run.status == RunStatus.FAILED
    b = Run.objects.get(parent_step__run=run)
    c = Run.objects.get(parent_step__run=b)
    assert not Run.objects.filter(parent_step__run=c).exists()
    step = c.steps.get(node_id="next")
    assert step.status == StepStatus.FAILED
    assert "nest runs 3 deep; the limit is 2" in step.error
    assert f"Flow #{run.pk} → B #{b.pk} → C #{c.pk} → D" in step.error
