"""Queue triggers through the real consumer process (`manage.py consumers`) and the real
brokers: a message published by a queue.publish step starts a run with its body and
metadata; malformed ones become dead letters; publishing and rolling back switch what is
consumed; a broker that cannot be reached is retried without stopping the others."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from designer.services import flow_create, flow_publish, flow_version_save
from runtime.engine.status import RunStatus
from runtime.kinds.idempotency import idempotency_key
from runtime.models import QueueDeadLetter, QueueSubscription
from runtime.runs import run_start
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain
from tests.runtime.resources.connections.brokers import (
    KINDS,
    Bus,
    bus,
    consuming_flow,
    forget_mqtt_session,
    group_of,
    queue_graph,
    runs_of,
    wait_consuming,
    wait_runs,
)
from tests.runtime.resources.connections.helpers import connect
from tests.stack import Stack, wait_for_run, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def consumers(stack: Stack) -> Stack:
    stack.start("consumers", "manage.py", "consumers")
    stack._wait_for_log("consumers", "Consumers running.")
    return stack


@pytest.fixture(params=KINDS)
def place(request: pytest.FixtureRequest, team: Team) -> Iterator[Bus]:
    connect(team, request.param, name="bus")
    with bus(request.param) as made:
        yield made


@pytest.fixture(autouse=True)
def _forget_sessions(team: Team) -> Iterator[None]:
    yield
    for subscription in QueueSubscription.objects.select_related("connection"):
        if subscription.connection.kind == "mqtt":
            forget_mqtt_session(group_of(subscription.flow, "mqtt"))


def test_a_published_message_starts_a_run_with_its_body_and_metadata(
    team: Team, consumers: Stack, place: Bus
) -> None:
    consumer = consuming_flow(team, place, "Consume")
    wait_consuming(consumer, log=consumers.log("consumers"))
    publisher = flow_create(
        user=team.editor,
        workspace=team.workspace,
        name="Publish",
        graph=chain(
            node(
                "send",
                "queue.publish",
                connection="bus",
                destination=place.destination,
                body={"order": "{{ event.trigger.id }}", "email": "{{ event.trigger.email }}"},
                headers={"x-tenant": "acme"},
            )
        ),
    )
    sent = wait_for_run(
        run_start(
            flow=publisher,
            version=publisher.versions.get(),
            payload={"id": 1001, "email": "ada@example.com"},
        )
    )
    assert sent.status == RunStatus.SUCCEEDED, sent.error
    receipt = sent.output
    [received] = wait_runs(consumer, 1)
    assert received.input["body"] == {"order": 1001, "email": "ada@example.com"}
    assert received.input["headers"]["x-tenant"] == "acme"
    metadata = received.input["metadata"]
    assert metadata["redelivered"] is False and metadata["connection"] == "bus"
    assert metadata["received_at"].startswith("20")
    key = idempotency_key(run_id=sent.pk, created_at=sent.created_at, node_id="send")
    assert receipt["message_id"] == key
    if place.kind == "amqp":
        assert receipt["confirmed"] is True
        assert metadata["queue"] == place.source
        assert metadata["message_id"] == receipt["message_id"]
    elif place.kind == "redis":
        assert metadata["stream"] == place.source
        assert metadata["message_id"] == receipt["id"]
        assert metadata["sender_message_id"] == receipt["message_id"]
    elif place.kind == "nats":
        assert receipt["jetstream"] is True and receipt["stream"] == place.stream
        assert metadata["sequence"] == receipt["sequence"]
        assert received.input["headers"]["Nats-Msg-Id"] == receipt["message_id"]
    else:
        assert receipt["acknowledged"] is True
        assert metadata["topic"] == place.source
        assert metadata["message_id"] == receipt["message_id"]
    assert received.trigger_kind == "queue" and received.version == consumer.live_version
    assert wait_for_run(received).output == {"got": {"order": 1001, "email": "ada@example.com"}}


def test_malformed_messages_are_dead_lettered_and_the_next_one_still_runs(
    team: Team, consumers: Stack, place: Bus
) -> None:
    consumer = consuming_flow(team, place, "Strict", body_format="json", max_message_bytes=100)
    wait_consuming(consumer, log=consumers.log("consumers"))
    place.send(b"not json {", message_id="bad-json")
    place.send(json.dumps({"note": "x" * 200}).encode(), message_id="too-big")
    place.send(b'{"order": 7}', message_id="fine")
    [run] = wait_runs(consumer, 1)
    assert run.input["body"] == {"order": 7}
    wait_until(lambda: QueueDeadLetter.objects.filter(flow=consumer).count() == 2, "2 dead letters")
    letters = team.client(team.viewer).get(f"/api/flows/{consumer.pk}/dead-letters/").json()
    reasons = {letter["body"][:8]: letter["reason"] for letter in letters["results"]}
    assert reasons["not json"].startswith("The message is not JSON")
    assert "this trigger accepts at most 100" in reasons['{"note":']
    assert all(letter["source"] == place.source for letter in letters["results"])
    outsider = team.client(team.outsider).get(f"/api/flows/{consumer.pk}/dead-letters/")
    assert outsider.status_code == 404
    wait_until(lambda: place.settled(group_of(consumer, place.kind)), "every message acked")
    assert runs_of(consumer).count() == 1


def test_publishing_and_rolling_back_switch_what_is_consumed(team: Team, consumers: Stack) -> None:
    connect(team, "redis", name="bus")
    with bus("redis") as first, bus("redis") as second:
        flow = consuming_flow(team, first, "Switching")
        wait_consuming(flow, log=consumers.log("consumers"))
        first.send(b'{"n": 1}')
        wait_runs(flow, 1)
        flow_version_save(flow=flow, user=team.editor, graph=queue_graph(second.source))
        flow_publish(flow=flow, user=team.editor, number=2)
        wait_until(
            lambda: (
                QueueSubscription.objects.get(flow=flow).revision == 2
                and QueueSubscription.objects.get(flow=flow).state == "consuming"
            ),
            "version 2's consumer",
        )
        first.send(b'{"n": 2}')  # waits in the first stream: version 1 is not live
        second.send(b'{"n": 3}')
        runs = wait_runs(flow, 2)
        assert [run.input["body"] for run in runs] == [{"n": 1}, {"n": 3}]
        assert [run.version.number for run in runs] == [1, 2]
        flow_publish(flow=flow, user=team.editor, number=1)  # rollback
        runs = wait_runs(flow, 3)
        assert runs[2].input["body"] == {"n": 2} and runs[2].version.number == 1
        group = group_of(flow, "redis")
        wait_until(lambda: first.settled(group), "the first stream drained")
        assert runs_of(flow).count() == 3


def test_an_unreachable_broker_is_retried_and_shown_while_others_consume(
    team: Team, consumers: Stack
) -> None:
    connect(team, "amqp", name="down", port=1)
    connect(team, "amqp", name="refused", password="wrong-password")
    connect(team, "redis", name="bus")
    with bus("amqp") as nowhere, bus("redis") as working:
        down = consuming_flow(team, nowhere, "Down", connection="down")
        refused = consuming_flow(team, nowhere, "Refused", connection="refused")
        fine = consuming_flow(team, working, "Fine")
        wait_consuming(fine, log=consumers.log("consumers"))
        working.send(b'{"still": "consuming"}')
        assert wait_runs(fine, 1)[0].input["body"] == {"still": "consuming"}
        for flow, expected in ((down, "127.0.0.1:1"), (refused, "ACCESS_REFUSED")):
            wait_until(
                lambda flow=flow, expected=expected: (
                    expected in QueueSubscription.objects.get(flow=flow).last_error
                ),
                f"{flow.name} shows its error",
            )
            assert QueueSubscription.objects.get(flow=flow).state == "retrying"
        assert consumers.processes["consumers"].poll() is None
        assert "ACCESS_REFUSED" in consumers.log("consumers")
        assert "wrong-password" not in consumers.log("consumers")
