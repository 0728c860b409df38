"""Error paths on the real stack (PostgreSQL, Redis, a Celery worker and the scheduler): a
step that fails for good goes on along its "error" edges with the error as its output, is
failed-and-handled, and the run ends as its error path does."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run, StepRun
from tests.conftest import Team
from tests.factories import edge, node
from tests.fakes import FakeApi
from tests.openapi import api, conforms
from tests.runtime.helpers import manual, start, statuses
from tests.stack import Stack, wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


def failing_call(fake_api: FakeApi, **settings: Any) -> dict[str, Any]:
    """An HTTP step the fake API answers with 500, retried once after 0.1 s."""
    call_node = node("call", "http.request", url=f"{fake_api.url}/status/500")
    return call_node | {"settings": {"retries": 1, "retry_backoff_seconds": 0.1, **settings}}


def with_error_path(step: dict[str, Any], fallback: dict[str, Any]) -> dict[str, Any]:
    """start → step → after, and step's error output → fallback."""
    return manual(
        step,
        node("after", "data.transform", value="{{ event.steps.call.status }}"),
        fallback,
        edges=[edge("start", "call"), edge("call", "after"), edge("call", "fallback", "error")],
    )


@pytest.mark.worker
def test_an_http_step_fails_into_its_error_path_and_the_run_succeeds(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    fallback = node(
        "fallback",
        "data.transform",
        value={
            "noted": "{{ event.steps.call.error.message }}",
            "type": "{{ event.steps.call.error.type }}",
            "attempt": "{{ event.steps.call.error.attempt }}",
        },
    )
    run = wait_for_run(start(team, with_error_path(failing_call(fake_api), fallback)))
    assert run.status == RunStatus.SUCCEEDED, run.error
    call_step = run.steps.get(node_id="call")
    assert (call_step.status, call_step.handle, call_step.failures) == ("failed", "error", 2)
    assert call_step.error.startswith("HTTP 500 from")
    assert call_step.output == {
        "error": {"message": call_step.error, "type": "http_status", "attempt": 2}
    }
    assert fake_api.hits["/status/500"] == 2  # the retry came first, then the error path
    assert statuses(run) == {
        "start": "succeeded",
        "call": "failed",
        "after": "skipped",
        "fallback": "succeeded",
    }
    assert run.output == {"noted": call_step.error, "type": "http_status", "attempt": 2}
    assert run.error == ""
    # The run API says so, as its schema documents.
    read = conforms(api(team.viewer).get(f"/api/runs/{run.pk}/"))
    (shown,) = [step for step in read.json["steps"] if step["node_id"] == "call"]
    assert (shown["status"], shown["handle"]) == ("failed", "error")
    assert shown["output"]["error"]["type"] == "http_status"


@pytest.mark.worker
def test_a_step_that_succeeds_skips_its_error_path(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    call_node = node("call", "http.request", url=f"{fake_api.url}/json")
    fallback = node("fallback", "data.transform", value="{{ event.steps.call.error.message }}")
    run = wait_for_run(start(team, with_error_path(call_node, fallback)))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert statuses(run)["fallback"] == StepStatus.SKIPPED
    assert run.steps.get(node_id="call").handle == ""
    assert run.output == 200


@pytest.mark.worker
def test_a_failure_on_the_error_path_fails_the_run(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    fallback = node("fallback", "http.request", url=f"{fake_api.url}/status/404")
    run = wait_for_run(start(team, with_error_path(failing_call(fake_api), fallback)))
    assert run.status == RunStatus.FAILED
    assert run.steps.get(node_id="call").handle == "error"
    assert run.steps.get(node_id="fallback").status == StepStatus.FAILED
    assert run.error.startswith("fallback failed: HTTP 404")


@pytest.mark.worker
def test_a_body_step_fails_into_its_error_path_inside_each_item(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    def body(step: dict[str, Any]) -> dict[str, Any]:
        return step | {"parent": "loop"}

    run = start(
        team,
        manual(
            node("loop", "flow.foreach", items="{{ event.trigger.skus }}"),
            body(node("reserve", "http.request", url=f"{fake_api.url}/status/503")),
            body(node("reserved", "data.transform", value="{{ event.steps.reserve.status }}")),
            body(
                node(
                    "later",
                    "data.transform",
                    value="{{ item }} later: {{ event.steps.reserve.error.type }}",
                )
            ),
            edges=[
                edge("start", "loop"),
                edge("reserve", "reserved"),
                edge("reserve", "later", "error"),
            ],
        ),
        {"skus": ["MUG-1", "CUP-2"]},
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == ["MUG-1 later: http_status", "CUP-2 later: http_status"]
    items = Run.objects.filter(parent_step__run=run)
    assert {item.status for item in items} == {RunStatus.SUCCEEDED}
    handled = StepRun.objects.filter(run__in=items, node_id="reserve")
    assert {(step.status, step.handle) for step in handled} == {("failed", "error")}
