"""Code steps through the real worker: the sandbox runs the handler, its prints become the
step's logs, its return value the output, and every failure mode a readable step error."""

from __future__ import annotations

import time

import pytest

from designer.graph import Node
from runtime.engine.status import RunStatus
from runtime.kinds.catalog import step_kind
from runtime.kinds.contract import StepContext, StepError
from runtime.services import secret_set
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, start, with_settings
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PYTHON = """def handler(event, context):
    order = event["trigger"]["order"]
    print("building email for", order["email"])
    return {"to": order["email"], "total": sum(i["price"] for i in order["items"]),
            "run": context["run_id"]}
"""
JAVASCRIPT = """export async function handler(event, context) {
  const order = event.trigger.order;
  console.log("building email for", order.email);
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { to: order.email, total: order.items.reduce((t, i) => t + i.price, 0) };
}
"""
ORDER = {"order": {"email": "ada@example.com", "items": [{"price": 2.5}, {"price": 4}]}}


@pytest.mark.parametrize(
    ("kind", "source"), [("code.python", PYTHON), ("code.javascript", JAVASCRIPT)]
)
def test_a_code_step_returns_its_output_and_keeps_its_prints(
    team: Team, stack: Stack, kind: str, source: str
) -> None:
    run = wait_for_run(
        start(
            team,
            chain(
                node("build", kind, source=source),
                node("after", "data.transform", value="{{ event.steps.build.total }}"),
            ),
            ORDER,
        ),
        timeout=40,
    )
    assert run.status == RunStatus.SUCCEEDED, run.steps.get(node_id="build").error
    build = run.steps.get(node_id="build")
    assert build.output["to"] == "ada@example.com" and build.output["total"] == 6.5
    assert "building email for ada@example.com" in build.logs
    assert run.output == 6.5
    assert build.input["trigger"] == ORDER


def test_an_exception_fails_the_step_with_its_message_and_user_traceback(
    team: Team, stack: Stack
) -> None:
    source = "def handler(event, context):\n    return event['trigger']['missing']\n"
    run = wait_for_run(start(team, chain(node("build", "code.python", source=source))), timeout=40)
    assert run.status == RunStatus.FAILED
    step = run.steps.get(node_id="build")
    assert "KeyError" in step.error and "missing" in step.error
    assert "line 2" in step.error_detail and "handler" in step.error_detail
    assert "zygote" not in step.error_detail and "execute.py" not in step.error_detail


def test_a_runaway_step_times_out_and_the_worker_keeps_serving(team: Team, stack: Stack) -> None:
    loop = with_settings(
        node(
            "spin",
            "code.python",
            source="def handler(event, context):\n    while True:\n        pass\n",
        ),
        timeout_seconds=1,
    )
    run = wait_for_run(start(team, chain(loop)), timeout=40)
    assert run.status == RunStatus.FAILED
    assert run.steps.get(node_id="spin").error.startswith("Timed out after 1 s")
    bomb = node(
        "bomb",
        "code.python",
        memory_mb=64,
        source="def handler(event, context):\n    x = ['a' * 10**6 for _ in range(10**4)]\n",
    )
    run = wait_for_run(start(team, chain(bomb)), timeout=40)
    assert run.steps.get(node_id="bomb").error.startswith("Out of memory (limit 64 MB)")
    after = wait_for_run(
        start(team, chain(node("ok", "code.python", source="def handler(e, c):\n    return 1\n"))),
        timeout=40,
    )
    assert after.status == RunStatus.SUCCEEDED


def test_a_code_step_reads_declared_secrets_and_they_are_redacted(team: Team, stack: Stack) -> None:
    secret_set(workspace=team.workspace, name="API_KEY", value="sk-123-secret", user=team.admin)
    source = (
        "def handler(event, context):\n    key = context['secrets']['API_KEY']\n"
        "    print('using', key)\n    return {'key': key, 'length': len(key)}\n"
    )
    run = wait_for_run(
        start(team, chain(node("use", "code.python", source=source, secrets=["API_KEY"]))),
        timeout=40,
    )
    assert run.status == RunStatus.SUCCEEDED
    step = run.steps.get(node_id="use")
    assert step.output == {"key": "[redacted:API_KEY]", "length": 13}
    assert "sk-123-secret" not in step.logs and "[redacted:API_KEY]" in step.logs


SLOW = {
    "code.python": "import time\ndef handler(event, context):\n"
    "    print('running')\n    time.sleep(100)\n",
    "code.javascript": "export async function handler() {\n  console.log('running');\n"
    "  await new Promise((resolve) => setTimeout(resolve, 100_000));\n}\n",
}


@pytest.mark.parametrize("kind", sorted(SLOW))
def test_a_cancelled_code_step_stops_at_once_and_is_not_retried(kind: str) -> None:
    """What the heartbeat's ``cancelled`` does to a code step (the worker sets it when the
    run is cancelled): the sandbox kills the code instead of waiting for its 60 s timeout."""
    ctx = StepContext(
        node=Node(id="slow", type=kind, name="Slow", config={"source": SLOW[kind]}),
        event={"trigger": {}, "steps": {}},
        info={"run_id": 1, "node_id": "slow"},
        secrets={},
        deadline=time.monotonic() + 60,
    )
    # Cancel once the code is surely running: when its first line arrives.
    ctx.on_log = lambda line: ctx.cancelled.set() if line == "running" else None
    with pytest.raises(StepError) as caught:
        step_kind(kind).run(ctx)
    assert str(caught.value) == "Cancelled while running"
    assert caught.value.retryable is False and caught.value.timeout is False
    assert ctx.logs == ["running"]
