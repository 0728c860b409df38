"""queue.publish against the real brokers, in this process: what each broker returned,
its refusals in its own words, and the configs a publish cannot go through with. Round
trips through a run and the consumer process are in tests/runtime/test_queue_trigger.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.kinds.contract import StepError
from runtime.kinds.idempotency import idempotency_key
from runtime.steps import queue_publish
from tests.conftest import Team
from tests.factories import node
from tests.runtime.resources.connections.brokers import KINDS, Bus, bus, declare_queue
from tests.runtime.resources.connections.databases import STARTED, run_step
from tests.runtime.resources.connections.helpers import connect

pytestmark = pytest.mark.django_db


def publish(destination: str, **config: Any) -> dict[str, Any]:
    return node(
        "send",
        "queue.publish",
        connection=config.pop("connection", "bus"),
        destination=destination,
        **config,
    )


@pytest.fixture(params=KINDS)
def place(request: pytest.FixtureRequest, team: Team) -> Iterator[Bus]:
    connect(team, request.param, name="bus")
    with bus(request.param) as made:
        if made.kind == "amqp":
            declare_queue(made.source)  # as a consumer would have
        yield made


def test_each_broker_confirms_and_the_output_says_what_it_returned(team: Team, place: Bus) -> None:
    step = publish(
        place.destination,
        body={"order": "{{ event.trigger.id }}", "tags": ["a", "b"]},
        headers={"x-tenant": "{{ event.trigger.tenant }}"},
    )
    outcome, ctx = run_step(team, step, {"id": 1001, "tenant": "acme"})
    receipt = outcome.output
    # The step's idempotency key: the same on every retry of this step of this run.
    assert receipt["message_id"] == ctx.idempotency_key
    assert receipt["message_id"] == idempotency_key(run_id=1, created_at=STARTED, node_id="send")
    assert set(queue_publish.KIND.output_example) <= set(receipt)  # offered before a run
    assert ctx.input["body"] == {"order": 1001, "tags": ["a", "b"]}
    assert ctx.input["headers"] == {"x-tenant": "acme"}
    expected = {
        "amqp": ("confirmed", True),
        "redis": ("stream", place.destination),
        "nats": ("jetstream", True),
        "mqtt": ("acknowledged", True),
    }[place.kind]
    assert receipt[expected[0]] == expected[1]
    if place.kind == "redis":
        assert receipt["id"].split("-")[0].isdigit()  # XADD's entry id
    if place.kind == "nats":
        assert receipt["sequence"] == 1 and receipt["stream"] == place.stream


def test_jetstream_drops_a_retried_publish_with_the_same_message_id(team: Team) -> None:
    connect(team, "nats", name="bus")
    with bus("nats") as place:
        step = publish(place.destination, body={"n": 1}, message_id="order-1001")
        first = run_step(team, step)[0].output
        again = run_step(team, step)[0].output
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["sequence"] == first["sequence"]


def test_an_unknown_amqp_exchange_is_the_brokers_refusal_and_not_retried(team: Team) -> None:
    connect(team, "amqp", name="bus")
    with pytest.raises(StepError) as refused:
        run_step(team, publish("orders", exchange="no_such_exchange_hf", body={}))
    assert "NOT_FOUND - no exchange 'no_such_exchange_hf'" in str(refused.value)
    assert refused.value.retryable is False


def test_an_unroutable_amqp_message_fails_instead_of_vanishing(team: Team) -> None:
    connect(team, "amqp", name="bus")
    with pytest.raises(StepError) as refused:
        run_step(team, publish("no_queue_is_bound_to_this_hf", body={}))
    assert "NO_ROUTE" in str(refused.value)


def test_a_redis_channel_reports_how_many_received_it(team: Team) -> None:
    connect(team, "redis", name="bus")
    step = publish("hf-channel-nobody-listens", redis_mode="channel", body={"n": 1})
    assert run_step(team, step)[0].output == {
        "channel": "hf-channel-nobody-listens",
        "receivers": 0,
    }


def test_a_nats_subject_without_a_stream_is_a_plain_unconfirmed_publish(team: Team) -> None:
    connect(team, "nats", name="bus")
    receipt = run_step(team, publish("hf.no.stream.here", body={}))[0].output
    assert receipt["jetstream"] is False


def test_a_wrong_amqp_password_fails_with_the_brokers_message(team: Team) -> None:
    connect(team, "amqp", name="bus", password="not-guest")
    with pytest.raises(StepError) as refused:
        run_step(team, publish("orders", body={}))
    assert "ACCESS_REFUSED" in str(refused.value)
    assert refused.value.retryable is False


def test_a_database_connection_cannot_publish(team: Team) -> None:
    connect(team, "postgres", name="bus")
    with pytest.raises(StepError) as refused:
        run_step(team, publish("orders", body={}))
    assert "'bus' is a PostgreSQL connection" in str(refused.value)


def test_a_body_over_the_limit_is_refused_before_sending(team: Team) -> None:
    connect(team, "redis", name="bus")
    step = publish("hf-never", body={"blob": "{{ event.trigger.blob }}"})
    with pytest.raises(StepError) as refused:
        run_step(team, step, {"blob": "x" * 1024 * 1024})
    assert "the limit is 1,048,576" in str(refused.value)
