"""Pure steps (transform, branch) whose only parent just finished run in the task that
finished it, each still claimed and recorded as a step of its own; a step with two parents,
or any other kind, waits for a message as before. The test calls step_execute in this
process, with no worker: what runs without a message ran inline."""

from __future__ import annotations

import pytest
from django.test import override_settings

from runtime.engine import inline
from runtime.engine.execute import step_execute
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run
from tests.conftest import Team
from tests.factories import edge, node
from tests.runtime.helpers import chain, manual, start, statuses

pytestmark = pytest.mark.django_db(transaction=True)


def first_step(run: Run, node_id: str) -> int:
    return run.steps.get(node_id=node_id).pk


def test_a_chain_of_pure_steps_runs_in_the_task_of_its_first(team: Team) -> None:
    run = start(
        team,
        manual(
            node("a", "data.transform", value="{{ event.trigger.n }}"),
            node("b", "data.transform", value="{{ event.steps.a + 1 }}"),
            node("big", "logic.branch", condition="event.steps.b > 1"),
            node("c", "data.transform", value="{{ event.steps.b * 10 }}"),
            edges=[edge("start", "a"), edge("a", "b"), edge("b", "big"), edge("big", "c", "true")],
        ),
        {"n": 1},
    )
    step_execute(first_step(run, "a"))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.output == 20
    assert set(statuses(run).values()) == {StepStatus.SUCCEEDED}
    # Each one claimed once and recorded in its own row.
    assert all(step.attempt == 1 for step in run.steps.exclude(node_id="start"))


def test_a_step_with_two_parents_or_an_impure_kind_waits_for_its_message(team: Team) -> None:
    run = start(
        team,
        manual(
            node("left", "data.transform", value=1),
            node("right", "data.transform", value=2),
            node("join", "data.transform", value="{{ event.steps.left + event.steps.right }}"),
            edges=[edge("start", "left"), edge("start", "right"), edge("left", "join"),
                   edge("right", "join")],
        ),
    )  # fmt: skip
    step_execute(first_step(run, "left"))
    step_execute(first_step(run, "right"))
    assert statuses(run)["join"] == StepStatus.QUEUED  # two parents: a message brings it

    run = start(
        team,
        chain(
            node("a", "data.transform", value=1),
            node("nap", "flow.delay", seconds=0),
        ),
    )
    step_execute(first_step(run, "a"))
    assert statuses(run)["nap"] == StepStatus.QUEUED


def test_turned_off_every_step_waits_for_its_message(team: Team) -> None:
    run = start(
        team, chain(node("a", "data.transform", value=1), node("b", "data.transform", value=2))
    )
    with override_settings(TRIBUTARY_INLINE_PURE_STEPS=False):
        step_execute(first_step(run, "a"))
    assert statuses(run)["b"] == StepStatus.QUEUED


def test_the_budget_publishes_what_is_left(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inline, "MAX_STEPS", 2)
    steps = [node(f"s{i}", "data.transform", value=i) for i in range(5)]
    run = start(team, chain(*steps))
    step_execute(first_step(run, "s0"))
    found = statuses(run)
    assert [found[f"s{i}"] for i in range(5)] == [
        StepStatus.SUCCEEDED,
        StepStatus.SUCCEEDED,
        StepStatus.SUCCEEDED,
        StepStatus.QUEUED,  # beyond the budget: sent to the broker
        StepStatus.PENDING,
    ]
