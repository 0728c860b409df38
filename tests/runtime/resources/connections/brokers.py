"""Queues, streams, subjects and topics on the real brokers, with names no other test
uses, published to and inspected through clients of their own; removed afterwards."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import amqp
import nats
import paho.mqtt.client as mqtt
import redis
from django.db.models import QuerySet
from nats.js.errors import NotFoundError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from designer.models import Flow
from designer.services import flow_create, flow_publish
from runtime.models import ConnectionKind, QueueSubscription, Run
from runtime.resources.connections.clients.base import PublishRequest
from runtime.resources.connections.params import Params
from runtime.resources.connections.registry import BROKERS
from runtime.triggers.queue.kind import consumer_group
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.resources.connections.helpers import REDIS_TEST_DB, SERVICES

KINDS = ["amqp", "redis", "nats", "mqtt"]


@dataclass
class Bus:
    """A place on a broker: the trigger consumes ``source``, publishers send to ``destination``."""

    kind: str
    source: str
    destination: str
    stream: str = ""  # nats

    @property
    def params(self) -> Params:
        settings = SERVICES[self.kind]
        return Params(
            name="test",
            kind=ConnectionKind(self.kind),
            host=settings["host"],
            port=settings["port"],
            database=settings.get("database", ""),
            username=settings.get("username", ""),
            password=settings.get("password", ""),
        )

    def send(self, body: bytes, message_id: str = "", headers: dict[str, str] | None = None) -> Any:
        request = PublishRequest(
            destination=self.destination,
            body=body,
            headers=headers or {},
            message_id=message_id or uuid.uuid4().hex,
            timeout=10,
        )
        return BROKERS[self.kind].publish(self.params, request)

    def settled(self, group: str) -> bool:
        """The broker holds nothing for the trigger: every message delivered and acked."""
        if self.kind == "amqp":
            with _amqp() as channel:
                _, ready, consumers = channel.queue_declare(self.source, passive=True)
                return bool(ready == 0 and consumers > 0)
        if self.kind == "redis":
            client = _redis()
            pending = client.xpending(self.source, group)["pending"]
            groups = {g["name"].decode(): g for g in client.xinfo_groups(self.source)}
            return bool(pending == 0 and groups[group].get("lag", 0) == 0)
        if self.kind == "nats":
            return asyncio.run(_nats_settled(self.stream, group))
        return True  # MQTT has no way to ask; the run count says it


@contextmanager
def bus(kind: str) -> Iterator[Bus]:
    tag = uuid.uuid4().hex[:10]
    if kind == "nats":
        made = Bus(kind, f"hf{tag}.orders", f"hf{tag}.orders", stream=f"HF{tag.upper()}")
        asyncio.run(_nats_stream(made.stream, f"hf{tag}.>"))
    elif kind == "mqtt":
        made = Bus(kind, f"hf/{tag}/orders", f"hf/{tag}/orders")
    else:
        made = Bus(kind, f"hf_{tag}_orders", f"hf_{tag}_orders")
    try:
        yield made
    finally:
        _remove(made)


def _remove(made: Bus) -> None:
    if made.kind == "amqp":
        with _amqp() as channel:
            channel.queue_delete(made.source)
    elif made.kind == "redis":
        _redis().delete(made.source)
    elif made.kind == "nats":
        asyncio.run(_nats_delete(made.stream))


def forget_mqtt_session(client_id: str) -> None:
    """End a trigger's persistent session on the broker (it would wait a week otherwise)."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect("127.0.0.1", 1883, clean_start=True, properties=properties)
    client.loop(1)
    client.disconnect()


def declare_queue(name: str) -> None:
    with _amqp() as channel:
        channel.queue_declare(name, durable=True, auto_delete=False)


@contextmanager
def _amqp() -> Iterator[Any]:
    conn = amqp.Connection("127.0.0.1:5672", userid="guest", password="guest")
    conn.connect()
    try:
        yield conn.channel()
    finally:
        conn.close()


def _redis() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=6379, db=int(REDIS_TEST_DB))


async def _nats_stream(name: str, subjects: str) -> None:
    nc = await nats.connect("nats://127.0.0.1:4222")
    await nc.jetstream().add_stream(name=name, subjects=[subjects])
    await nc.close()


async def _nats_delete(name: str) -> None:
    nc = await nats.connect("nats://127.0.0.1:4222")
    with suppress(NotFoundError):
        await nc.jetstream().delete_stream(name)
    await nc.close()


async def _nats_settled(stream: str, durable: str) -> bool:
    nc = await nats.connect("nats://127.0.0.1:4222")
    try:
        info = await nc.jetstream().consumer_info(stream, durable)
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)
    finally:
        await nc.close()


# --- Flows with queue triggers ------------------------------------------------------------


def queue_graph(source: str, connection: str = "bus", **config: Any) -> dict[str, Any]:
    return graph(
        node("in", "trigger.queue", connection=connection, source=source, **config),
        node("shape", "data.transform", value={"got": "{{ event.trigger.body }}"}),
        edges=[edge("in", "shape")],
    )


def consuming_flow(team: Team, made: Bus, name: str, **config: Any) -> Flow:
    if made.stream:
        config.setdefault("stream", made.stream)
    flow = flow_create(
        user=team.editor,
        workspace=team.workspace,
        name=name,
        graph=queue_graph(made.source, **config),
    )
    flow_publish(flow=flow, user=team.editor, number=1)
    flow.refresh_from_db()
    return flow


def group_of(flow: Flow, kind: str) -> str:
    subscription = QueueSubscription.objects.get(flow=flow, node_id="in")
    return consumer_group(kind, flow.pk, "in", subscription.config)


def wait_consuming(flow: Flow, timeout: float = 30, log: str = "") -> QueueSubscription:
    """Wait until the consumer process consumes the flow's current trigger."""
    deadline = time.monotonic() + timeout
    while True:
        subscription = QueueSubscription.objects.get(flow=flow, node_id="in")
        if subscription.state == QueueSubscription.State.CONSUMING:
            return subscription
        if time.monotonic() > deadline:
            raise AssertionError(
                f"The trigger is {subscription.state}: {subscription.last_error}\n{log}"
            )
        time.sleep(0.05)


def runs_of(flow: Flow) -> QuerySet[Run]:
    return Run.objects.filter(flow=flow, trigger_kind="queue").order_by("id")


def wait_runs(flow: Flow, count: int, timeout: float = 30) -> list[Run]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(runs_of(flow))
        if len(runs) >= count:
            return runs
        time.sleep(0.05)
    raise AssertionError(f"{len(list(runs_of(flow)))} runs of {flow.name}, expected {count}")
