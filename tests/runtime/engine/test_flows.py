"""Runs through a real Celery worker process on Redis and PostgreSQL: linear flows,
parallel fan-out and join, branches with skip propagation."""

from __future__ import annotations

import pytest

from runtime.engine.status import RunStatus, StepStatus
from tests.conftest import Team
from tests.factories import edge, node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, manual, outputs, start, statuses
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_linear_flow_passes_outputs_down_the_chain(team: Team, stack: Stack) -> None:
    run = start(
        team,
        chain(
            node("double", "data.transform", value="{{ event.trigger.n * 2 }}"),
            node(
                "describe",
                "data.transform",
                value={"n": "{{ event.steps.double }}", "text": "n is {{ event.steps.double }}"},
            ),
        ),
        {"n": 21},
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == {"n": 42, "text": "n is 42"}
    assert outputs(run)["double"] == 42
    assert run.started_at is not None and run.finished_at is not None


def test_independent_branches_run_in_parallel_and_the_join_waits(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    slow = f"{fake_api.url}/slow?seconds=1.5"
    run = start(
        team,
        manual(
            node("left", "http.request", url=slow),
            node("right", "http.request", url=slow),
            node(
                "join",
                "data.transform",
                value={
                    "left": "{{ event.steps.left.body.slept }}",
                    "right": "{{ event.steps.right.body.slept }}",
                },
            ),
            edges=[
                edge("start", "left"),
                edge("start", "right"),
                edge("left", "join"),
                edge("right", "join"),
            ],
        ),
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    left, right, join = (run.steps.get(node_id=n) for n in ("left", "right", "join"))
    # Each started before the other finished: they overlapped.
    assert left.started_at < right.finished_at and right.started_at < left.finished_at
    assert join.started_at >= max(left.finished_at, right.finished_at)
    assert run.output == {"left": 1.5, "right": 1.5}


@pytest.mark.parametrize(
    ("total", "taken", "skipped"),
    [
        (150, {"big", "vip", "thank"}, {"small"}),
        (20, {"small", "thank"}, {"big", "vip"}),
    ],
)
def test_a_branch_follows_one_side_and_skips_the_other(
    team: Team, stack: Stack, total: int, taken: set[str], skipped: set[str]
) -> None:
    run = start(
        team,
        manual(
            node("check", "logic.branch", condition="event.trigger.total > 100"),
            node("big", "data.transform", value="big"),
            node("vip", "data.transform", value="vip"),
            node("small", "data.transform", value="small"),
            node("thank", "data.transform", value="thanks"),
            edges=[
                edge("start", "check"),
                edge("check", "big", "true"),
                edge("big", "vip"),
                edge("check", "small", "false"),
                edge("vip", "thank"),
                edge("small", "thank"),
            ],
        ),
        {"total": total},
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    state = statuses(run)
    assert {n for n in taken if state[n] == StepStatus.SUCCEEDED} == taken
    assert {n for n in skipped if state[n] == StepStatus.SKIPPED} == skipped
    assert run.steps.get(node_id="check").handle == ("true" if total > 100 else "false")


def test_a_join_whose_parents_were_all_skipped_is_skipped(team: Team, stack: Stack) -> None:
    run = start(
        team,
        manual(
            node("check", "logic.branch", condition="false"),
            node("a", "data.transform", value=1),
            node("b", "data.transform", value=2),
            node("join", "data.transform", value=3),
            node("other", "data.transform", value=4),
            edges=[
                edge("start", "check"),
                edge("check", "a", "true"),
                edge("check", "b", "true"),
                edge("a", "join"),
                edge("b", "join"),
                edge("check", "other", "false"),
            ],
        ),
    )
    run = wait_for_run(run)
    assert statuses(run) | {"start": "x"} == {
        "start": "x",
        "check": "succeeded",
        "a": "skipped",
        "b": "skipped",
        "join": "skipped",
        "other": "succeeded",
    }
    assert run.output == 4


def test_a_failed_step_fails_the_run_and_cancels_what_is_left(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    run = start(
        team,
        chain(
            node("call", "http.request", url=f"{fake_api.url}/status/404"),
            node("after", "data.transform", value=1),
        ),
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.FAILED
    call = run.steps.get(node_id="call")
    assert call.status == StepStatus.FAILED
    assert call.error.startswith("HTTP 404 from")
    assert "call failed: HTTP 404" in run.error
    assert run.steps.get(node_id="after").status == StepStatus.CANCELLED


def test_continue_on_failure_passes_the_error_on(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    failing = node("call", "http.request", url=f"{fake_api.url}/status/500") | {
        "settings": {"continue_on_failure": True}
    }
    run = start(
        team, chain(failing, node("after", "data.transform", value="{{ event.steps.call.error }}"))
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.get(node_id="call").status == StepStatus.FAILED
    assert run.output.startswith("HTTP 500 from")
