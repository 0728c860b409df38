"""A run of a flow with a for-each, through a real Celery worker on Redis and PostgreSQL:
the run holds step rows for its top level only (the body belongs to child runs), and the
step after the loop waits for it. Executing bodies is not wired yet, so the loop fails
with a message that says so and nothing downstream runs."""

from __future__ import annotations

import pytest

from runtime.engine.status import RunStatus, StepStatus
from tests.conftest import Team
from tests.factories import edge, node
from tests.runtime.helpers import manual, start, statuses
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_run_has_no_rows_for_body_steps_and_the_next_step_waits_for_the_loop(
    team: Team, stack: Stack
) -> None:
    body = node("shape", "data.transform", value="{{ item }}") | {"parent": "loop"}
    run = start(
        team,
        manual(
            node("loop", "flow.foreach", items="{{ event.trigger.items }}"),
            body,
            node("after", "data.transform", value="done"),
            edges=[edge("start", "loop"), edge("loop", "after")],
        ),
        {"items": [1, 2]},
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.FAILED
    assert statuses(run) == {
        "start": StepStatus.SUCCEEDED,
        "loop": StepStatus.FAILED,
        "after": StepStatus.CANCELLED,
    }
    assert "not wired yet" in run.steps.get(node_id="loop").error
