"""Per-step settings and run control through a real worker: retries with backoff,
timeouts, delays that hold no worker, cancel, re-run and retry from the failed step."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from designer.services import flow_publish, flow_version_save
from runtime.engine.status import RunStatus, StepStatus
from runtime.runs import run_cancel, run_rerun, run_retry
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, outputs, start, statuses, with_settings
from tests.stack import Stack, wait_for_run, wait_for_step

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_failing_step_is_retried_with_growing_backoff(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flaky = with_settings(
        node("call", "http.request", url=f"{fake_api.url}/flaky/a?fail=3"),
        retries=3,
        retry_backoff_seconds=0.4,
    )
    run = wait_for_run(start(team, chain(flaky)))
    assert run.status == RunStatus.SUCCEEDED, run.error
    call = run.steps.get(node_id="call")
    assert (call.attempt, call.failures) == (4, 3)
    times = [r["at"] for r in fake_api.requests if r["path"] == "/flaky/a"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # 0.4 s, 0.8 s, 1.6 s, each ±25%: no retry comes before its backoff. (Each also waits
    # for the scheduler to notice it, longer on a busy machine: gaps need not grow.)
    assert all(gap >= 0.3 * 2**n for n, gap in enumerate(gaps)), gaps


def test_retries_run_out_and_the_step_fails_for_good(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flaky = with_settings(
        node("call", "http.request", url=f"{fake_api.url}/flaky/b?fail=5"),
        retries=1,
        retry_backoff_seconds=0.1,
    )
    run = wait_for_run(start(team, chain(flaky)))
    assert run.status == RunStatus.FAILED
    assert fake_api.hits["/flaky/b"] == 2
    assert run.steps.get(node_id="call").error.startswith("HTTP 503")


def test_a_client_error_is_not_retried(team: Team, stack: Stack, fake_api: FakeApi) -> None:
    call = with_settings(
        node("call", "http.request", url=f"{fake_api.url}/status/400"),
        retries=3,
        retry_backoff_seconds=0.1,
    )
    run = wait_for_run(start(team, chain(call)))
    assert run.status == RunStatus.FAILED
    assert fake_api.hits["/status/400"] == 1


def test_a_step_that_runs_too_long_times_out(team: Team, stack: Stack, fake_api: FakeApi) -> None:
    slow = with_settings(
        node("call", "http.request", url=f"{fake_api.url}/slow?seconds=5"), timeout_seconds=1
    )
    run = wait_for_run(start(team, chain(slow)))
    assert run.status == RunStatus.FAILED
    call = run.steps.get(node_id="call")
    assert "No answer from 127.0.0.1 within 1 s" in call.error
    assert call.duration_seconds < 5  # it did not wait for the server's answer


def test_a_response_that_trickles_past_the_timeout_fails_the_step(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    # A byte every 0.2 s: no single read ever times out, only the whole exchange can.
    trickle = with_settings(
        node("call", "http.request", url=f"{fake_api.url}/trickle?seconds=30"),
        timeout_seconds=1,
    )
    run = wait_for_run(start(team, chain(trickle)), timeout=20)
    assert run.status == RunStatus.FAILED
    assert "No complete answer from 127.0.0.1 within 1 s" in run.steps.get(node_id="call").error
    assert fake_api.abandoned.wait(5)


def test_a_delay_waits_in_postgres_without_holding_a_worker(team: Team, stack: Stack) -> None:
    begun = timezone.now()
    run = start(
        team,
        chain(node("wait", "flow.delay", seconds=2), node("after", "data.transform", value="done")),
    )
    waiting = wait_for_step(run, "wait", StepStatus.WAITING)
    assert waiting.wake_at is not None and waiting.claim is None  # no worker holds it
    # Meanwhile the worker serves other runs.
    other = wait_for_run(start(team, chain(node("quick", "data.transform", value=1))), timeout=5)
    assert other.status == RunStatus.SUCCEEDED
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert (run.steps.get(node_id="after").started_at - begun).total_seconds() >= 2
    assert outputs(run)["wait"]["waited_until"] == waiting.wake_at.isoformat()


def test_a_delay_until_a_time_in_the_payload(team: Team, stack: Stack) -> None:
    soon = (timezone.now() + timedelta(seconds=1)).isoformat()
    run = start(
        team, chain(node("wait", "flow.delay", until="{{ event.trigger.at }}")), {"at": soon}
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.finished_at >= datetime.fromisoformat(soon)


def test_cancel_stops_the_run_and_nothing_after_runs(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    run = start(
        team,
        chain(
            node("call", "http.request", url=f"{fake_api.url}/slow?seconds=2"),
            node("after", "http.request", url=f"{fake_api.url}/json"),
        ),
    )
    wait_for_step(run, "call", StepStatus.RUNNING)
    run_cancel(run=run, user=team.editor)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert statuses(run) == {"start": "succeeded", "call": "cancelled", "after": "cancelled"}
    time.sleep(3)  # the slow call returns meanwhile; its result must be discarded
    assert statuses(run)["call"] == "cancelled"
    assert fake_api.hits["/json"] == 0


def test_cancel_stops_a_step_that_is_still_running(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    run = start(team, chain(node("call", "http.request", url=f"{fake_api.url}/trickle?seconds=60")))
    wait_for_step(run, "call", StepStatus.RUNNING)
    run_cancel(run=run, user=team.editor)
    # The worker's heartbeat sees the cancel and the step hangs up, long before the
    # server would have finished (or the step's 60 s timeout).
    assert fake_api.abandoned.wait(15)
    assert statuses(run)["call"] == "cancelled"


SLEEPER = """
import ctypes, time
def handler(event, context):
    ctypes.CDLL(None).prctl(15, event["trigger"]["marker"].encode(), 0, 0, 0)  # PR_SET_NAME
    time.sleep(100)
"""


def _alive(marker: str) -> bool:
    """Is a (non-zombie) process named ``marker`` running on this machine?"""
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and (entry / "comm").read_text().strip() == marker
                and "State:\tZ" not in (entry / "status").read_text()
            ):
                return True
        except OSError:
            continue
    return False


def test_cancel_kills_a_running_code_step(team: Team, stack: Stack) -> None:
    marker = f"sleep{uuid.uuid4().hex[:8]}"
    code = with_settings(node("nap", "code.python", source=SLEEPER), timeout_seconds=120)
    run = start(team, chain(code), {"marker": marker})
    deadline = time.monotonic() + 30
    while not _alive(marker):
        assert time.monotonic() < deadline, "the code step never started"
        time.sleep(0.1)
    run_cancel(run=run, user=team.editor)
    deadline = time.monotonic() + 15  # a heartbeat or two, far less than the 100 s nap
    while _alive(marker):
        assert time.monotonic() < deadline, "the cancelled code step is still running"
        time.sleep(0.1)
    assert statuses(run)["nap"] == "cancelled"


def test_a_rerun_starts_again_with_the_same_input(team: Team, stack: Stack) -> None:
    first = wait_for_run(
        start(
            team,
            chain(node("echo", "data.transform", value="{{ event.trigger.order }}")),
            {"order": 7},
        )
    )
    again = wait_for_run(run_rerun(run=first, user=team.editor))
    assert (again.status, again.output, again.rerun_of_id) == (RunStatus.SUCCEEDED, 7, first.pk)
    assert again.origin == f"re-run of #{first.pk}"


def test_retry_from_the_failed_step_reuses_what_succeeded_on_the_fixed_version(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    broken = chain(
        node("fetch", "http.request", url=f"{fake_api.url}/json?n=1"),
        node("send", "http.request", url=f"{fake_api.url}/status/500"),
    )
    first = wait_for_run(start(team, broken))
    assert first.status == RunStatus.FAILED
    assert fake_api.hits["/json"] == 1
    fixed = chain(
        node("fetch", "http.request", url=f"{fake_api.url}/json?n=1"),
        node("send", "http.request", url=f"{fake_api.url}/echo"),
    )
    version = flow_version_save(flow=first.flow, user=team.editor, graph=fixed)
    flow_publish(flow=first.flow, user=team.editor, number=version.number)
    first.flow.refresh_from_db()
    retried = wait_for_run(run_retry(run=first, user=team.editor, on_live=True))
    assert retried.status == RunStatus.SUCCEEDED, retried.error
    assert retried.version.number == 2
    fetch = retried.steps.get(node_id="fetch")
    assert fetch.reused and fetch.output == first.steps.get(node_id="fetch").output
    assert fake_api.hits["/json"] == 1  # not called again
    assert fake_api.hits["/echo"] == 1


def test_retry_from_the_failed_step_on_its_own_version(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flow = chain(
        node("fetch", "http.request", url=f"{fake_api.url}/json"),
        node("send", "http.request", url=f"{fake_api.url}/flaky/send?fail=1"),
        node("after", "data.transform", value="{{ event.steps.send.body.ok }}"),
    )
    first = wait_for_run(start(team, flow))
    assert first.status == RunStatus.FAILED
    retried = wait_for_run(run_retry(run=first, user=team.editor))
    assert (retried.status, retried.output) == (RunStatus.SUCCEEDED, True)
    assert retried.version_id == first.version_id
    assert statuses(retried) == dict.fromkeys(("start", "fetch", "send", "after"), "succeeded")
    assert retried.steps.get(node_id="fetch").reused
    assert not retried.steps.get(node_id="send").reused
    assert (fake_api.hits["/json"], fake_api.hits["/flaky/send"]) == (1, 2)
