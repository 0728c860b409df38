"""Every side-effecting step carries an idempotency key: the same on every attempt of the
step in one run, another for another run (a re-run included). Through the real worker."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.engine.status import RunStatus
from runtime.kinds.idempotency import idempotency_key
from runtime.models import Run
from runtime.runs import run_rerun
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, start, with_settings
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def keys_sent(fake_api: FakeApi, path: str, header: str = "Idempotency-Key") -> list[str | None]:
    wanted = header.lower()
    return [
        next((value for name, value in r["headers"].items() if name.lower() == wanted), None)
        for r in fake_api.requests
        if r["path"] == path
    ]


def key_of(run: Run, node_id: str) -> str:
    return idempotency_key(run_id=run.pk, created_at=run.created_at, node_id=node_id)


def test_every_retry_of_a_post_sends_the_same_key_and_a_rerun_another(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flaky = with_settings(
        node("pay", "http.request", method="POST", url=f"{fake_api.url}/flaky/p?fail=2", body="{}"),
        retries=2,
        retry_backoff_seconds=0.1,
    )
    run = wait_for_run(start(team, chain(flaky)))
    assert run.status == RunStatus.SUCCEEDED, run.error
    sent = keys_sent(fake_api, "/flaky/p")
    assert len(sent) == 3 and set(sent) == {key_of(run, "pay")}
    assert run.steps.get(node_id="pay").input["headers"]["Idempotency-Key"] == key_of(run, "pay")

    again = wait_for_run(run_rerun(run=run, user=team.editor))
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert keys_sent(fake_api, "/flaky/p")[-1] == key_of(again, "pay") != key_of(run, "pay")


@pytest.mark.parametrize(
    ("config", "header", "expected"),
    [
        ({"method": "GET"}, "Idempotency-Key", None),  # reads need no key
        ({"method": "DELETE"}, "Idempotency-Key", "key"),
        ({"method": "PUT", "idempotency": False}, "Idempotency-Key", None),  # off per step
        ({"method": "PATCH", "idempotency_header": "X-Request-Id"}, "X-Request-Id", "key"),
        ({"method": "POST", "headers": {"idempotency-key": "mine"}}, "Idempotency-Key", "mine"),
    ],
)
def test_which_requests_carry_a_key_and_in_which_header(
    team: Team,
    stack: Stack,
    fake_api: FakeApi,
    config: dict[str, Any],
    header: str,
    expected: str | None,
) -> None:
    run = wait_for_run(
        start(team, chain(node("call", "http.request", url=f"{fake_api.url}/echo", **config)))
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    [received] = keys_sent(fake_api, "/echo", header)
    assert received == (key_of(run, "call") if expected == "key" else expected)


def test_code_steps_read_the_key_from_their_context(team: Team, stack: Stack) -> None:
    python = (
        "def handler(event, context):\n    return [context.idempotency_key, context['attempt']]\n"
    )
    javascript = (
        "export function handler(event, context) {\n"
        "  return [context.idempotency_key, event.steps.py[0]];\n"
        "}\n"
    )
    run = wait_for_run(
        start(
            team,
            chain(
                node("py", "code.python", source=python),
                node("js", "code.javascript", source=javascript),
            ),
        )
    )
    assert run.status == RunStatus.SUCCEEDED, run.error
    outputs = {step.node_id: step.output for step in run.steps.all()}
    assert outputs["py"] == [key_of(run, "py"), 1]
    assert outputs["js"] == [key_of(run, "js"), key_of(run, "py")]
