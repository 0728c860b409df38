"""A slow flow cannot starve a fast one: with a worker per queue, twenty ten-second code
steps (compute) do not hold up a webhook flow of transforms (light), which answers while
the code steps are still waiting their turn — and, as a control, with one worker serving
every queue the same webhook does wait behind the code step holding its only slot."""

from __future__ import annotations

import httpx
import pytest

from designer.models import Flow
from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run, StepRun
from runtime.triggers.webhook import kind as webhook
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.processes import free_port, wait_for_http
from tests.runtime.helpers import chain, publish, start_live
from tests.stack import MakeStack, Stack, wait_for_step, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def sleeper(seconds: float) -> str:
    return f"import time\ndef handler(event, context):\n    time.sleep({seconds})\n    return 1\n"


def light_flow(team: Team) -> Flow:
    return publish(
        team,
        graph(
            node("order", "trigger.webhook", response_mode="wait", wait_timeout_seconds=30),
            node("shape", "data.transform", value={"id": "{{ event.trigger.body.id }}"}),
            node("check", "logic.branch", condition="event.steps.shape.id > 0"),
            node("done", "data.transform", value="{{ event.steps.shape.id }}"),
            edges=[edge("order", "shape"), edge("shape", "check"), edge("check", "done", "true")],
        ),
        "Orders",
    )


def slow_flow(team: Team, seconds: float) -> Flow:
    return publish(team, chain(node("slow", "code.python", source=sleeper(seconds))), "Report")


def serve(stack: Stack) -> str:
    port = free_port()
    server = stack.start("web", "manage.py", "serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/login/", process=server, log=stack.logs / "web.log")
    return url


def order(url: str, flow: Flow, number: int) -> None:
    token = webhook.endpoint_for(flow, "order").token
    response = httpx.post(f"{url}/hooks/{token}", json={"id": number}, timeout=40)
    assert response.status_code == 200, response.text
    assert response.json() == number


def code_steps(runs: list[Run], status: str) -> int:
    return StepRun.objects.filter(run__in=runs, node_id="slow", status=status).count()


def test_twenty_ten_second_code_steps_do_not_hold_up_a_webhook_flow_of_transforms(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()
    for queue in ("light", "io", "compute"):
        stack.start_worker(queue, concurrency=1, options=["-Q", queue])
    url = serve(stack)
    orders, report = light_flow(team), slow_flow(team, seconds=10)
    order(url, orders, 1)  # on an idle machine
    runs = [start_live(report) for _ in range(20)]
    wait_until(lambda: code_steps(runs, StepStatus.RUNNING) == 1, "the compute worker busy")
    for number in range(2, 7):
        order(url, orders, number)
    # All five answered while the first ten-second step still ran and nineteen waited.
    assert code_steps(runs, StepStatus.SUCCEEDED) == 0
    assert code_steps(runs, StepStatus.QUEUED) == 19
    assert Run.objects.filter(flow=orders, status=RunStatus.SUCCEEDED).count() == 6


def test_with_one_worker_for_every_queue_the_webhook_waits_behind_the_code_step(
    team: Team, make_stack: MakeStack
) -> None:
    """The control: the same flows, one worker with one slot serving all queues."""
    stack = make_stack()
    stack.start_worker("shared", concurrency=1)
    url = serve(stack)
    orders, report = light_flow(team), slow_flow(team, seconds=3)
    run = start_live(report)
    wait_for_step(run, "slow", StepStatus.RUNNING)
    order(url, orders, 1)
    # The webhook's flow could only start once the code step gave the slot back.
    slow = StepRun.objects.get(run=run, node_id="slow")
    shape = StepRun.objects.get(run__flow=orders, node_id="shape")
    assert slow.status == StepStatus.SUCCEEDED
    assert slow.finished_at is not None and shape.started_at is not None
    assert slow.finished_at <= shape.started_at
