"""flow.call on the real stack: a flow calls another flow of its workspace, live or pinned,
waits for its run (or not), fails with it and retries it (the depth limit: test_flow_call_depth)."""

from __future__ import annotations

import pytest

from designer.services import flow_publish, flow_version_save
from runtime.engine.status import RunStatus
from runtime.models import Run
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.callees import call, callee, greeter
from tests.runtime.helpers import chain, publish, start, with_settings
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_calls_the_live_version_and_outputs_the_child_runs_output(
    team: Team, stack: Stack
) -> None:
    greeting = greeter(team)
    run = wait_for_run(
        start(
            team,
            chain(call("call", greeting, input={"name": "{{ event.trigger.who }}"})),
            {"who": "Ada"},
        )
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    child = Run.objects.get(parent_step__run=run)
    assert run.output == {"run_id": child.pk, "output": {"greeting": "hi Ada"}}
    assert (child.flow_id, child.version, child.trigger_kind) == (
        greeting.pk,
        greeting.live_version,
        "called",
    )
    assert child.origin == f"called by Flow run #{run.pk}" and child.depth == 1


def test_it_calls_a_pinned_version_instead_of_the_live_one(team: Team, stack: Stack) -> None:
    greeting = greeter(team, greeting="hello")
    version = flow_version_save(
        flow=greeting,
        user=team.editor,
        graph=callee(node("greet", "data.transform", value={"greeting": "bye"})),
    )
    flow_publish(flow=greeting, user=team.editor, number=version.number)
    pinned = wait_for_run(start(team, chain(call("call", greeting, version=1))))
    live = wait_for_run(start(team, chain(call("call", greeting))))
    assert pinned.output["output"] == {"greeting": "hello Ada"}, pinned.error
    assert live.output["output"] == {"greeting": "bye"}, live.error


def test_a_failed_child_fails_the_step_and_a_retry_starts_a_new_child(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flaky = publish(
        team,
        callee(node("fetch", "http.request", url=f"{fake_api.url}/flaky/sub?fail=1"), fields=[]),
        name="Flaky",
    )
    step = with_settings(call("call", flaky, input={}), retries=1, retry_backoff_seconds=0.1)
    run = wait_for_run(start(team, chain(step)))
    assert run.status == RunStatus.SUCCEEDED, run.error
    first, second = Run.objects.filter(parent_step__run=run).order_by("pk")
    assert (first.status, second.status) == (RunStatus.FAILED, RunStatus.SUCCEEDED)
    assert (first.parent_round, second.parent_round) == (0, 1)
    assert run.output == {"run_id": second.pk, "output": second.output}
    assert run.steps.get(node_id="call").failures == 1


def test_a_failed_child_without_retries_fails_the_run_naming_the_child(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    broken = publish(
        team,
        callee(node("fetch", "http.request", url=f"{fake_api.url}/status/500"), fields=[]),
        name="Broken",
    )
    run = wait_for_run(start(team, chain(call("call", broken, input={}))))
    child = Run.objects.get(parent_step__run=run)
    assert (run.status, child.status) == (RunStatus.FAILED, RunStatus.FAILED)
    step = run.steps.get(node_id="call")
    assert f"run #{child.pk} failed" in step.error and f"/runs/{child.pk}/" in step.error_detail


def test_fire_and_forget_outputs_the_run_id_at_once(team: Team, stack: Stack) -> None:
    sleeper = publish(
        team, callee(node("nap", "flow.delay", seconds=3600), fields=[]), name="Sleeper"
    )
    run = wait_for_run(start(team, chain(call("call", sleeper, input={}, wait=False))))
    assert run.status == RunStatus.SUCCEEDED, run.error
    child = Run.objects.get(parent_step__run=run)
    assert run.output == {"run_id": child.pk}
    assert child.status in (RunStatus.PENDING, RunStatus.RUNNING)  # still napping
