"""Traces of the steps that reach out or start runs, with tracing on through the real web
server and worker: a db.query's query and a queue.publish's message are child spans of
their step (with their system, without the connection's password), a for-each's item runs
and a called flow's run continue the caller's trace under the step that started them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from designer.models import Flow
from runtime.engine.status import RunStatus
from runtime.models import Run
from runtime.services import secret_set
from tests.conftest import Team, Web
from tests.factories import edge, graph, node
from tests.runtime.callees import call, greeter
from tests.runtime.helpers import publish
from tests.runtime.resources.connections.brokers import bus, declare_queue
from tests.runtime.resources.connections.databases import customers
from tests.runtime.resources.connections.helpers import connect
from tests.runtime.tracing.receiver import OtlpReceiver, Received
from tests.runtime.triggers.hooks import hook_url
from tests.stack import wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TOKEN = "tok-5ecr3t-8841"  # a workspace secret the steps below read
QUERY = "SELECT name FROM {table} WHERE id = %s OR email = %s"
PASSWORDS = {"postgres": "pw-5ecr3t-db-7731", "mysql": ""}  # MariaDB's root has none here


def hooked(team: Team, *steps: dict[str, Any], edges: list[dict[str, Any]], name: str) -> Flow:
    """A flow started by the webhook "order", whose first step is steps[0]."""
    first = edge("order", steps[0]["id"])
    return publish(
        team, graph(node("order", "trigger.webhook"), *steps, edges=[first, *edges]), name
    )


def fire(web: Web, flow: Flow, body: Any) -> Run:
    """The webhook's run, finished (succeeded, or the test fails with its error)."""
    response = httpx.post(hook_url(web, flow), json=body)
    assert response.status_code == 202, response.text
    run = wait_for_run(Run.objects.get(pk=response.json()["run_id"]))
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def trace_id_of(run: Run) -> str:
    assert run.trace_parent, "the run stored no traceparent"
    return run.trace_parent.split("-")[1]


def trace(
    receiver: OtlpReceiver, trace_id: str, done: Callable[[list[Received]], bool]
) -> list[Received]:
    """The spans of ``trace_id``, once ``done`` says they all arrived."""
    spans = receiver.wait_for(lambda spans: done([s for s in spans if s.trace_id == trace_id]))
    return [s for s in spans if s.trace_id == trace_id]


def having(*names: str) -> Callable[[list[Received]], bool]:
    return lambda spans: set(names) <= {s.name for s in spans}


def one(spans: list[Received], name: str) -> Received:
    (found,) = [s for s in spans if s.name == name]
    return found


def ancestors(span: Received, spans: list[Received]) -> list[str]:
    """The ids of ``span``'s parent, its parent's parent... as far as ``spans`` go."""
    by_id = {s.span_id: s for s in spans}
    chain, parent = [], span.parent_id
    while parent:
        chain.append(parent)
        parent = by_id[parent].parent_id if parent in by_id else ""
    return chain


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_a_db_query_is_a_client_span_of_its_step_without_any_secret(
    team: Team, web: Web, receiver: OtlpReceiver, kind: str
) -> None:
    secret_set(workspace=team.workspace, name="TOKEN", value=TOKEN, user=team.admin)
    with customers(kind) as table:
        connect(team, kind, name="crm", database=table.database, password=PASSWORDS[kind])
        query = node(
            "q",
            "db.query",
            connection="crm",
            sql=QUERY.replace("{table}", table.name),
            parameters=["{{ event.trigger.body.id }}", "{{ secrets.TOKEN }}"],
        )
        run = fire(web, hooked(team, query, edges=[], name=f"Query {kind}"), {"id": 2})
    assert run.output["rows"] == [{"name": "Bob"}]

    spans = trace(receiver, trace_id_of(run), having("step q", "db.query"))
    db = one(spans, "db.query")
    assert (db.parent_id, db.kind) == (one(spans, "step q").span_id, "client")
    # The OpenTelemetry names of these systems, which collectors group database calls by.
    assert db.attributes["db.system.name"] == {"postgres": "postgresql", "mysql": "mysql"}[kind]
    assert db.attributes["tributary.connection"] == "crm"
    assert db.attributes["db.response.returned_rows"] == 1
    assert not db.failed
    for secret in filter(None, [TOKEN, PASSWORDS[kind]]):
        assert secret not in repr(spans), spans


def test_a_published_message_is_a_producer_span_of_its_step_without_any_secret(
    team: Team, web: Web, receiver: OtlpReceiver
) -> None:
    secret_set(workspace=team.workspace, name="TOKEN", value=TOKEN, user=team.admin)
    connect(team, "amqp", name="bus")  # the broker's password is "guest"
    with bus("amqp") as place:
        declare_queue(place.source)
        send = node(
            "send",
            "queue.publish",
            connection="bus",
            destination=place.destination,
            body={"order": "{{ event.trigger.body.id }}"},
            message_id="order-{{ event.trigger.body.id }}-{{ secrets.TOKEN }}",
        )
        run = fire(web, hooked(team, send, edges=[], name="Publisher"), {"id": 9})
    assert run.output["confirmed"] is True

    spans = trace(receiver, trace_id_of(run), having("step send", "queue.publish"))
    message = one(spans, "queue.publish")
    assert (message.parent_id, message.kind) == (one(spans, "step send").span_id, "producer")
    assert message.attributes["messaging.system"] == "rabbitmq"
    assert message.attributes["messaging.destination.name"] == place.destination
    assert message.attributes["messaging.message.id"] == "order-9-[redacted:TOKEN]"
    assert not message.failed
    assert TOKEN not in repr(spans), spans


def test_a_for_each_items_steps_descend_from_the_loop_steps_span(
    team: Team, web: Web, receiver: OtlpReceiver
) -> None:
    """One item at a time: the first starts from the loop step, each next one from the
    transaction that finished its predecessor, under that item step's span."""
    loop = node("loop", "flow.foreach", items="{{ event.trigger.body.lines }}", concurrency=1)
    body = node("double", "data.transform", value="{{ item * 2 }}") | {"parent": "loop"}
    flow = hooked(team, loop, body, edges=[], name="Looped")
    run = fire(web, flow, {"lines": [1, 2, 3]})
    assert run.output == [2, 4, 6]

    def done(spans: list[Received]) -> bool:
        names = [s.name for s in spans]  # the web process exports the run's span itself
        return (
            names.count("step double") == 3
            and names.count("step loop") == 2
            and "run Looped" in names
        )

    spans = trace(receiver, trace_id_of(run), done)
    items = Run.objects.filter(parent_step__run=run).order_by("item_index")
    assert [item.item_index for item in items] == [0, 1, 2]
    # The loop step runs twice (to start its items, then woken when they finished); each
    # item names the first of its spans, including the two started by their predecessor.
    assert len({item.trace_parent for item in items}) == 1
    spawner = span_named_by(items[0].trace_parent, spans)
    assert spawner.name == "step loop"
    assert spawner.parent_id == one(spans, "run Looped").span_id
    for item in items:
        (step,) = [
            s
            for s in spans
            if s.name == "step double" and s.attributes["tributary.run.id"] == item.pk
        ]
        assert spawner.span_id in ancestors(step, spans), (step, spans)
        assert step.attributes["tributary.step.status"] == "succeeded"


def test_a_called_flows_run_and_steps_hang_under_the_flow_call_step(
    team: Team, web: Web, receiver: OtlpReceiver
) -> None:
    callee = greeter(team, name="Greeter")
    flow = hooked(team, call("call", callee), edges=[], name="Caller")
    run = fire(web, flow, {"id": 1})
    child = Run.objects.get(parent_step__run=run)
    assert run.output == {"run_id": child.pk, "output": {"greeting": "hi Ada"}}

    trace_id = trace_id_of(run)
    assert trace_id_of(child) == trace_id  # the caller's trace, not one of its own
    spans = trace(receiver, trace_id, having("run Caller", "run Greeter", "step greet"))
    child_span = one(spans, "run Greeter")
    assert child.trace_parent.split("-")[:3] == ["00", trace_id, child_span.span_id]
    assert child_span.attributes["tributary.trigger.kind"] == "called"
    (caller_step,) = [s for s in spans if s.span_id == child_span.parent_id]
    assert caller_step.name == "step call"
    assert caller_step.attributes["tributary.run.id"] == run.pk
    assert caller_step.parent_id == one(spans, "run Caller").span_id
    greet = one(spans, "step greet")
    assert greet.parent_id == child_span.span_id
    assert greet.attributes["tributary.run.id"] == child.pk


def span_named_by(traceparent: str, spans: list[Received]) -> Received:
    """The span a W3C traceparent names, among ``spans``."""
    (found,) = [s for s in spans if s.span_id == traceparent.split("-")[2]]
    return found
