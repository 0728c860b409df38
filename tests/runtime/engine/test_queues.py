"""Queues by kind of work (runtime.engine.queues): each step kind goes to its queue, a flow
or a step may name another, the operator may move kinds, and a worker listening to one
queue runs only the steps routed there — on the real broker and worker processes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from designer.graph import GraphInvalid, parse_graph
from runtime.engine import recovery
from runtime.engine.queues import broker_name
from runtime.engine.status import RunStatus, StepStatus
from runtime.kinds.catalog import CATALOG
from runtime.models import StepRun
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import chain, start, start_live, with_settings
from tests.stack import MakeStack, flush_broker, wait_for_run, wait_for_step, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CODE = "def handler(event, context):\n    return {'ok': True}\n"


def queues_of(run: Any) -> dict[str, str]:
    return dict(StepRun.objects.filter(run=run).values_list("node_id", "queue"))


def every_kind() -> dict[str, Any]:
    return graph(
        node("start", "trigger.manual"),
        node("shape", "data.transform", value=1),
        node("check", "logic.branch", condition="true"),
        node("call", "http.request", method="GET", url="http://127.0.0.1:9/"),
        node("mail", "email.send", to="a@example.com", subject="s", text="b"),
        node("code", "code.python", source=CODE),
        node("pause", "flow.delay", seconds=1),
        edges=[edge("start", n) for n in ("shape", "check", "call", "mail", "code", "pause")],
    )


def test_each_kind_goes_to_the_queue_of_its_kind_of_work(team: Team) -> None:
    # No worker: the run's rows are created and routed, nothing runs.
    run = start(team, every_kind())
    assert queues_of(run) == {
        "start": "io",  # a trigger's row is never queued
        "shape": "light",
        "check": "light",
        "call": "io",
        "mail": "io",
        "code": "compute",
        "pause": "light",
    }


def test_a_step_a_flow_and_the_operator_may_each_choose_another_queue(team: Team) -> None:
    with override_settings(
        TRIBUTARY_QUEUE_NAMES=["light", "io", "compute", "reports"],
        TRIBUTARY_QUEUE_ROUTES={"code.python": "reports"},
    ):
        routed = start(team, every_kind())
        assert queues_of(routed)["code"] == "reports"  # the operator's route for the kind
        assert queues_of(routed)["call"] == "io"

        data = every_kind()
        data["settings"] = {"queue": "reports"}
        data["nodes"][1] = with_settings(data["nodes"][1], queue="io")  # the step's own wins
        mine = queues_of(start(team, data))
        assert mine["shape"] == "io"
        assert {mine[n] for n in ("check", "call", "mail", "code", "pause")} == {"reports"}


def test_a_version_naming_an_undeclared_queue_is_refused_naming_the_field(team: Team) -> None:
    client = APIClient()
    client.force_authenticate(team.editor)
    data = chain(with_settings(node("shape", "data.transform", value=1), queue="gpu"))
    data["settings"] = {"queue": "reports"}
    response = client.post(
        "/api/flows/",
        {"workspace": team.workspace.pk, "name": "Report", "graph": data},
        format="json",
    )
    assert response.status_code == 400, response.content
    problems = {(p.get("node"), p["field"]): p["message"] for p in response.json()["errors"]}
    assert "No worker queue is called 'reports'" in problems[(None, "settings.queue")]
    assert "Declared queues: light, io, compute" in problems[(None, "settings.queue")]
    assert "'gpu'" in problems[("shape", "settings.queue")]


def test_a_queue_no_longer_declared_falls_back_to_the_kind(team: Team) -> None:
    data = chain(node("shape", "data.transform", value=1))
    with override_settings(TRIBUTARY_QUEUE_NAMES=["light", "io", "compute", "reports"]):
        data["settings"] = {"queue": "reports"}
        flow_run = start(team, data)
    assert queues_of(flow_run)["shape"] == "reports"
    # Started after the operator removed "reports": its kind's queue, not a dead one.
    later = start_live(flow_run.flow)
    assert queues_of(later)["shape"] == "light"


def test_a_worker_listening_to_one_queue_runs_only_the_steps_routed_there(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()
    stack.start_worker("compute", concurrency=1, options=["-Q", "compute"])
    run = start(
        team,
        chain(
            node("code", "code.python", source=CODE),
            node("shape", "data.transform", value="{{ event.steps.code.ok }}"),
        ),
    )
    wait_for_step(run, "code", StepStatus.SUCCEEDED)
    # The transform after it is light work: not run inline by the compute worker that
    # finished its parent (that would publish no message), not delivered to it either. Its
    # message waits on the light queue for a light worker.
    broker = redis.Redis.from_url(settings.REDIS_URL)
    wait_until(lambda: broker.llen(broker_name("light")) == 1, "the transform's message")
    assert StepRun.objects.get(run=run, node_id="shape").status == StepStatus.QUEUED

    stack.start_worker("light", concurrency=1, options=["-Q", "light"])
    run = wait_for_run(run)
    assert (run.status, run.output) == (RunStatus.SUCCEEDED, True)


def test_a_flow_routed_to_a_queue_runs_every_step_on_that_queues_workers(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()
    stack.start_worker("compute", concurrency=1, options=["-Q", "compute"])
    data = chain(
        node("shape", "data.transform", value=2),
        node("check", "logic.branch", condition="event.steps.shape == 2"),
    )
    data["settings"] = {"queue": "compute"}
    # Only the compute worker exists: the flow's transform and branch ran on it.
    run = wait_for_run(start(team, data))
    assert run.status == RunStatus.SUCCEEDED
    assert set(queues_of(run).values()) == {"compute"}


def test_a_queue_name_that_cannot_be_one_is_refused_by_the_graph_parser() -> None:
    data = chain(with_settings(node("shape", "data.transform", value=1), queue="Not A Queue"))
    with pytest.raises(GraphInvalid) as refused:
        parse_graph(data, catalog=CATALOG)
    assert refused.value.problems[0].field == "settings.queue"


def test_steps_waiting_on_a_queue_without_workers_are_not_sent_again_until_it_drains(
    team: Team,
) -> None:
    # No worker at all: the compute pool is scaled to zero. The steps wait in the broker.
    flush_broker()
    runs = [start(team, chain(node("code", "code.python", source=CODE))) for _ in range(3)]
    broker = redis.Redis.from_url(settings.REDIS_URL)
    assert broker.llen(broker_name("compute")) == 3
    StepRun.objects.filter(run__in=runs).update(queued_at=timezone.now() - timedelta(hours=1))
    # However long they wait, the sweep adds no copies: their messages are there.
    assert recovery.requeue_lost_messages() == 0
    assert broker.llen(broker_name("compute")) == 3
    # The broker lost them (restarted, flushed): the list is empty, the sweep re-sends.
    broker.delete(broker_name("compute"))
    assert recovery.requeue_lost_messages() == 3
    assert broker.llen(broker_name("compute")) == 3


def test_a_step_message_lands_in_its_own_queue_only_once_every_queue_is_declared(
    team: Team, make_stack: MakeStack
) -> None:
    # A worker serving every queue declares them all on the broker, then goes away.
    stack = make_stack()
    stack.start_worker("all", concurrency=1)
    stack.stop()
    broker = redis.Redis.from_url(settings.REDIS_URL)

    def depths() -> dict[str, int]:
        return {name: broker.llen(broker_name(name)) for name in ("light", "io", "compute")}

    start(team, chain(node("code", "code.python", source=CODE)))
    assert depths() == {"light": 0, "io": 0, "compute": 1}
    start(team, chain(node("shape", "data.transform", value=1)))
    assert depths() == {"light": 1, "io": 0, "compute": 1}
    start(team, chain(node("call", "http.request", method="GET", url="http://127.0.0.1:9/")))
    assert depths() == {"light": 1, "io": 1, "compute": 1}
